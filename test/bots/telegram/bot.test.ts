import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { type FakeTelegram, startFakeTelegram } from '../../fakes/telegram/server.ts';
import type { Chat, User } from '../../fakes/telegram/types.ts';
import { badInputs, makeClip, padMp4, probeVideoStream, tempDir } from '../../helpers/media.ts';
import {
  appEnv,
  botMessages,
  fileContains,
  type RunningApp,
  runApp,
  sentVideos,
  textHistory,
  waitForBotMessage,
} from '../../helpers/telegram-app.ts';

let telegram: FakeTelegram;
let dashscope: FakeDashScope;
let dir: string;
let running: RunningApp;
let clip: string;

beforeAll(async () => {
  [telegram, dashscope, dir, clip] = await Promise.all([
    startFakeTelegram(),
    startFakeDashScope({ render: false, pendingMs: 100, runningMs: 1_500 }),
    tempDir('restyle-telegram-'),
    makeClip({ container: 'mp4', durationSec: 2, audio: true }),
  ]);
  running = await runApp(appEnv(telegram, dashscope, dir));
  await telegram.waitForPolling();
});

afterAll(async () => {
  await running?.stop();
  await Promise.all([telegram?.close(), dashscope?.close()]);
});

afterEach(async () => {
  await running.app.telegram?.settled();
});

/** A user in a private chat with the bot. */
function dm(init: Partial<User> = {}): { user: User; chat: Chat } {
  const user = telegram.user(init);
  return { user, chat: telegram.privateChat(user) };
}

/** Sends a clip, taps a style in the picker, and waits for the restyled video. */
async function pickerFlow(user: User, chat: Chat, styleId: number) {
  const file = await telegram.addFile(clip);
  const sent = telegram.userSends(chat, user, { video: file });
  const picker = await waitForBotMessage(telegram, chat, (m) => m.reply_to_message_id === sent.message_id);
  const button = picker.reply_markup?.inline_keyboard
    .flat()
    .find((b) => b.callback_data?.endsWith(`:${styleId}`));
  expect(button).toBeDefined();
  telegram.userTaps(picker.message, user, button!.callback_data!);
  return { sent, picker };
}

describe('Telegram bot, private chats', () => {
  it('offers the styles, follows the job in one status message, and replies with the restyled video', async () => {
    const { user, chat } = dm({ language_code: 'en' });
    const { sent, picker } = await pickerFlow(user, chat, 3);
    expect(picker.text).toBe('Which style? Tap one:');
    expect(picker.reply_markup?.inline_keyboard.flat()).toHaveLength(8);

    const answer = await telegram.waitForCall((c) => c.method === 'answerCallbackQuery');
    expect(answer.ok).toBe(true);
    expect(telegram.callbackAnswers.at(-1)?.afterMs).toBeLessThan(1_000);

    const video = await vi.waitFor(
      () => {
        const [first] = sentVideos(telegram, chat);
        if (!first) throw new Error('no video yet');
        return first;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(video.method).toBe('sendVideo');
    const delivered = telegram.message(chat.id, (video.result as { message_id: number }).message_id)!;
    expect(delivered.reply_to_message_id).toBe(sent.message_id);
    expect(delivered.caption).toContain('3D cartoon');
    expect(delivered.media?.kind).toBe('video');
    expect(video.args.supports_streaming).toBe('true');
    // Seven other styles to try, without uploading again.
    const again = delivered.reply_markup?.inline_keyboard.flat() ?? [];
    expect(again).toHaveLength(7);
    expect(again.every((b) => b.callback_data?.startsWith('ag:'))).toBe(true);
    expect(telegram.chatActions.some((a) => a.chat_id === chat.id && a.action === 'upload_video')).toBe(true);

    await running.app.telegram?.settled();
    const history = textHistory(telegram, chat, picker.message_id);
    expect(history[0]).toBe('Which style? Tap one:');
    expect(history).toContainEqual(expect.stringMatching(/^🔎 Checking your clip/));
    expect(history).toContainEqual(expect.stringMatching(/^⏳ Queued: #1 in line, ready in about \d+ s/));
    expect(history).toContainEqual(
      expect.stringMatching(/^🎨 Restyling as 3D cartoon… 0:0\d.*\n[▰▱]{10} \d+%/),
    );
    expect(history.at(-1)).toBe('✅ 3D cartoon: done!');
    // The status message lost its Cancel button at the end.
    expect(telegram.message(chat.id, picker.message_id)?.reply_markup).toBeUndefined();
  });

  it('never hands the token-bearing file URL to DashScope, the store or the logs', async () => {
    const task = [...dashscope.tasks.values()].at(-1)!;
    expect(task.input.url).toMatch(/^oss:\/\//);
    for (const t of dashscope.tasks.values()) {
      expect(t.input.url).not.toContain(telegram.token);
      expect(t.input.url).not.toContain('/file/bot');
    }
    expect(await fileContains(join(dir, 'restyle.sqlite'), telegram.token)).toBe(false);
    const walFiles = (await readdir(dir)).filter((name) => name.startsWith('restyle.sqlite'));
    for (const name of walFiles) expect(await fileContains(join(dir, name), telegram.token)).toBe(false);
    const secret = telegram.token.split(':')[1]!;
    expect(running.logs.length).toBeGreaterThan(0);
    expect(running.logs.join('\n')).not.toContain(secret);
  });

  it('starts at once when the caption names a style, in Chinese for a Chinese user', async () => {
    const { user, chat } = dm({ language_code: 'zh-hans' });
    const file = await telegram.addFile(clip);
    const sent = telegram.userSends(chat, user, { video: file, caption: '水墨' });
    const video = await vi.waitFor(
      () => {
        const [first] = sentVideos(telegram, chat);
        if (!first) throw new Error('no video yet');
        return first;
      },
      { timeout: 30_000, interval: 100 },
    );
    const delivered = telegram.message(chat.id, (video.result as { message_id: number }).message_id)!;
    expect(delivered.reply_to_message_id).toBe(sent.message_id);
    expect(delivered.caption).toContain('中国水墨');
    await running.app.telegram?.settled();
    const [status] = botMessages(telegram, chat).filter((m) => m.text !== undefined);
    expect(status?.reply_to_message_id).toBe(sent.message_id);
    expect(textHistory(telegram, chat, status!.message_id)).toContainEqual(
      expect.stringMatching(/^⏳ 已排队：第 1 位/),
    );
    expect(status?.text).toBe('✅ 中国水墨：完成！');
    // No picker was offered.
    expect(
      botMessages(telegram, chat).some((m) => m.text?.includes('Tap one') || m.text?.includes('选择')),
    ).toBe(false);
  });
});
