import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { type FakeTelegram, startFakeTelegram } from '../../fakes/telegram/server.ts';
import type { Chat, User } from '../../fakes/telegram/types.ts';
import { type AwkwardInputs, awkwardInputs } from '../../helpers/awkward.ts';
import { tempDir } from '../../helpers/media.ts';
import {
  appEnv,
  type RunningApp,
  runApp,
  sentVideos,
  textHistory,
  waitForBotMessage,
} from '../../helpers/telegram-app.ts';

// The awkward clips of test/cli/awkward.test.ts, sent to the Telegram bot: each is refused before
// anything reaches DashScope, in the sender's language, and "Adjust and restyle" repairs it.

let telegram: FakeTelegram;
let dashscope: FakeDashScope;
let running: RunningApp;
let awkward: AwkwardInputs;

beforeAll(async () => {
  let dir: string;
  [telegram, dashscope, dir, awkward] = await Promise.all([
    startFakeTelegram(),
    startFakeDashScope({ render: false, pendingMs: 100, runningMs: 500 }),
    tempDir('restyle-telegram-awkward-'),
    awkwardInputs(),
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

function dm(init: Partial<User> = {}): { user: User; chat: Chat } {
  const user = telegram.user(init);
  return { user, chat: telegram.privateChat(user) };
}

/** Sends `content` with a style in the caption and waits for the refusal; nothing reaches DashScope. */
async function refusal(
  chat: Chat,
  user: User,
  content: {
    video?: Awaited<ReturnType<FakeTelegram['addFile']>>;
    document?: Awaited<ReturnType<FakeTelegram['addFile']>>;
  },
  head: string,
) {
  const requests = dashscope.requests.length;
  const sent = telegram.userSends(chat, user, { ...content, caption: '3d' });
  const message = await waitForBotMessage(
    telegram,
    chat,
    (m) => m.reply_to_message_id === sent.message_id && (m.text?.startsWith(head) ?? false),
  );
  expect(dashscope.requests.length).toBe(requests);
  return { sent, message };
}

/** Taps "Adjust and restyle" under a refusal and waits for the video; resolves with the status history. */
async function adjust(chat: Chat, user: User, refused: Awaited<ReturnType<typeof refusal>>) {
  const button = refused.message.reply_markup?.inline_keyboard.flat()[0];
  expect(button?.callback_data).toBeDefined();
  const videos = sentVideos(telegram, chat).length;
  const submits = dashscope.submits().length;
  telegram.userTaps(refused.message.message, user, button!.callback_data!);
  await vi.waitFor(() => expect(sentVideos(telegram, chat).length).toBe(videos + 1), {
    timeout: 40_000,
    interval: 100,
  });
  expect(dashscope.submits().length).toBe(submits + 1);
  return {
    history: textHistory(telegram, chat, refused.message.message_id),
    task: [...dashscope.tasks.values()].at(-1)!,
  };
}

describe('Telegram bot, clips the model would refuse', () => {
  it('names audio that outlasts the picture with both lengths, then cuts it at the picture’s end', async () => {
    const { user, chat } = dm({ language_code: 'zh-CN' });
    const video = await telegram.addFile(awkward.audioLonger);
    const refused = await refusal(chat, user, { video }, '这段视频无法重绘');
    expect(refused.message.text).toContain('画面时长 20 秒，但音频长达 35 秒，超过 30 秒的上限。');
    const { history, task } = await adjust(chat, user, refused);
    expect(history).toContainEqual(
      expect.stringContaining('已调整：音频截短到 20 秒，与画面同时结束（原长 35 秒）'),
    );
    expect(task.input.durationSec).toBeLessThanOrEqual(20.1);
  });

  it('says a cut-short MP4 is incomplete, with the share missing, and restyles what can be read', async () => {
    const { user, chat } = dm();
    const video = await telegram.addFile(awkward.fastStartHalf);
    const refused = await refusal(chat, user, { video }, "I can't restyle this clip");
    expect(refused.message.text).toContain(
      'The file is cut short: its index points past the end of the file, and only the first 5 s of its 10 s can be read (50% missing).',
    );
    const { history, task } = await adjust(chat, user, refused);
    expect(history).toContainEqual(
      expect.stringMatching(/Adjusted: re-encoded the [45](\.\d+)? s that can be read \(of 10 s declared\)/),
    );
    expect(task.input.durationSec).toBeLessThanOrEqual(5.1);
  });

  it('gives 30.04 s to the hundredth', async () => {
    const { user, chat } = dm();
    const video = await telegram.addFile(awkward.justOverDuration);
    const refused = await refusal(chat, user, { video }, "I can't restyle this clip");
    expect(refused.message.text).toContain('30.04 s is longer than the 30 s limit.');
  });

  it('takes an animated GIF sent as a file, says GIF is not a format the model takes, and converts it', async () => {
    const { user, chat } = dm();
    const document = await telegram.addFile(awkward.animatedGif, {
      mime_type: 'image/gif',
      file_name: 'dance.gif',
      kind: 'document',
    });
    const refused = await refusal(chat, user, { document }, "I can't restyle this clip");
    expect(refused.message.text).toContain(
      'This is an animated GIF, a format the model does not take; adjusting converts it to MP4.',
    );
    expect(refused.message.text).not.toContain('still image');
    const { history } = await adjust(chat, user, refused);
    expect(history).toContainEqual(expect.stringMatching(/Adjusted: .*GIF → MP4/));
  });

  it('calls a one-frame GIF a still image and offers no adjustment', async () => {
    const { user, chat } = dm();
    const document = await telegram.addFile(awkward.stillGif, {
      mime_type: 'image/gif',
      file_name: 'logo.gif',
      kind: 'document',
    });
    const refused = await refusal(chat, user, { document }, "I can't restyle this clip");
    expect(refused.message.text).toContain('This is a still image (GIF image), not a video.');
    expect(refused.message.reply_markup).toBeUndefined();
  });
});
