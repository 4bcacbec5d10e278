import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpDownloader } from '../../../src/adapters/http/download.ts';
import { TelegramFileFetcher } from '../../../src/bots/telegram/files.ts';
import { TelegramServerLimits } from '../../../src/bots/telegram/limits.ts';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { type FakeTelegram, startFakeTelegram } from '../../fakes/telegram/server.ts';
import type { Chat, User } from '../../fakes/telegram/types.ts';
import { badInputs, makeClip, padMp4, tempDir } from '../../helpers/media.ts';
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
    // Someone else's clip holds DashScope first, so this one waits in line and shows its place.
    const busy = dm();
    telegram.userSends(busy.chat, busy.user, {
      video: await telegram.addFile(await makeClip({ container: 'mp4', durationSec: 2.4 })),
      caption: 'paper',
    });
    await vi.waitFor(
      () => expect([...dashscope.tasks.values()].some((t) => t.status === 'RUNNING')).toBe(true),
      {
        timeout: 20_000,
      },
    );
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

    // The video is sent just before the job is marked delivered: wait for the final status.
    await waitForBotMessage(
      telegram,
      chat,
      (m) => m.message_id === picker.message_id && m.text === '✅ 3D cartoon: done!',
    );
    const history = textHistory(telegram, chat, picker.message_id);
    expect(history[0]).toBe('Which style? Tap one:');
    expect(history).toContainEqual(expect.stringMatching(/^📥 Clip received/));
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
    await waitForBotMessage(telegram, chat, (m) => m.text === '✅ 中国水墨：完成！');
    const [status] = botMessages(telegram, chat).filter((m) => m.text !== undefined);
    expect(status?.reply_to_message_id).toBe(sent.message_id);
    expect(textHistory(telegram, chat, status!.message_id)).toContainEqual(
      // Queued or already restyling, depending on how fast the lane took it.
      expect.stringMatching(/^(⏳ 已排队：第 1 位|🎨 正在重绘为中国水墨)/),
    );
    expect(status?.text).toBe('✅ 中国水墨：完成！');
    // No picker was offered.
    expect(
      botMessages(telegram, chat).some((m) => m.text?.includes('Tap one') || m.text?.includes('选择')),
    ).toBe(false);
  });
});

/** Waits for the n-th video the bot sent to a chat. */
async function nthVideo(chat: Chat, n = 1, timeoutMs = 40_000) {
  return vi.waitFor(
    () => {
      const video = sentVideos(telegram, chat)[n - 1];
      if (!video) throw new Error(`no video #${n} yet`);
      return telegram.message(chat.id, (video.result as { message_id: number }).message_id)!;
    },
    { timeout: timeoutMs, interval: 100 },
  );
}

describe('Telegram bot, double taps', () => {
  it('starts one job when two styles of one picker are tapped at once', async () => {
    const { user, chat } = dm();
    const file = await telegram.addFile(await makeClip({ container: 'mp4', durationSec: 1.7 }));
    const sent = telegram.userSends(chat, user, { video: file });
    const picker = await waitForBotMessage(telegram, chat, (m) => m.reply_to_message_id === sent.message_id);
    const [a, b] = picker.reply_markup!.inline_keyboard[0]!;
    const submits = dashscope.submits().length;
    telegram.userTaps(picker.message, user, a!.callback_data!);
    telegram.userTaps(picker.message, user, b!.callback_data!);
    // Both taps come in one batch and are handled concurrently: either may win, the other is told.
    const video = await nthVideo(chat);
    const answers = telegram.callbackAnswers.filter((x) => x.query.from.id === user.id).map((x) => x.text);
    expect(answers.sort()).toEqual([
      'Already on it.',
      expect.stringMatching(/^(Japanese manga|American comic): on it!$/),
    ]);
    const winner = answers.find((text) => text?.endsWith('on it!'))!.replace(': on it!', '');
    expect(video.caption).toContain(winner);
    await waitForBotMessage(
      telegram,
      chat,
      (m) => m.message_id === picker.message_id && m.text === `✅ ${winner}: done!`,
    );
    expect(dashscope.submits().length).toBe(submits + 1);
    expect(sentVideos(telegram, chat)).toHaveLength(1);
  });
});

describe('Telegram bot, groups', () => {
  it('restyles the video a /restyle@Bot command replies to, and replies to that video', async () => {
    const group = telegram.supergroup('Friends');
    const [poster, asker] = [telegram.user(), telegram.user()];
    const file = await telegram.addFile(clip);
    const posted = telegram.userSends(group, poster, { video: file });
    // Privacy mode: the bot never saw the video itself.
    expect(
      telegram.updates.some(
        (u) => u.message?.message_id === posted.message_id && u.message.chat.id === group.id,
      ),
    ).toBe(false);
    const command = telegram.userSends(group, asker, {
      text: `/restyle@${telegram.bot.username} fresh`,
      reply_to_message_id: posted.message_id,
    });
    const video = await nthVideo(group);
    expect(video.reply_to_message_id).toBe(posted.message_id);
    expect(video.caption).toContain('Fresh comic');
    await waitForBotMessage(
      telegram,
      group,
      (m) => m.reply_to_message_id === command.message_id && m.text === '✅ Fresh comic: done!',
    );
  });

  it('takes /restyle without the bot name too, naming the style in Chinese', async () => {
    const group = telegram.supergroup('群组');
    const [poster, asker] = [telegram.user(), telegram.user({ language_code: 'zh-hans' })];
    const posted = telegram.userSends(group, poster, {
      video: await telegram.addFile(await makeClip({ container: 'mp4', durationSec: 1.3 })),
    });
    telegram.userSends(group, asker, { text: '/restyle 简笔画', reply_to_message_id: posted.message_id });
    const video = await nthVideo(group);
    expect(video.reply_to_message_id).toBe(posted.message_id);
    expect(video.caption).toContain('简笔画');
  });

  it('explains how to use /restyle when it replies to no video, and ignores commands for other bots', async () => {
    const group = telegram.supergroup('Club');
    const user = telegram.user();
    const command = telegram.userSends(group, user, { text: `/restyle@${telegram.bot.username} 3d` });
    const answer = await waitForBotMessage(
      telegram,
      group,
      (m) => m.reply_to_message_id === command.message_id,
    );
    expect(answer.text).toMatch(/^Reply to a video with \/restyle/);
    const before = telegram.calls.length;
    telegram.userSends(group, user, { text: '/restyle@SomeOtherBot 3d' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(telegram.calls.slice(before).filter((c) => c.method === 'sendMessage')).toHaveLength(0);
  });

  it('lets only the person who asked pick the style of a clip in a group', async () => {
    const group = telegram.supergroup('Pickers');
    const [owner, other] = [telegram.user(), telegram.user()];
    const file = await telegram.addFile(clip);
    const posted = telegram.userSends(group, owner, { video: file });
    telegram.userSends(group, owner, {
      text: `/restyle@${telegram.bot.username}`,
      reply_to_message_id: posted.message_id,
    });
    const picker = await waitForBotMessage(
      telegram,
      group,
      (m) => m.reply_to_message_id === posted.message_id,
    );
    const data = picker.reply_markup!.inline_keyboard[0]![0]!.callback_data!;
    telegram.userTaps(picker.message, other, data);
    await vi.waitFor(() => expect(telegram.callbackAnswers.at(-1)?.query.from.id).toBe(other.id));
    expect(telegram.callbackAnswers.at(-1)).toMatchObject({
      show_alert: true,
      text: expect.stringMatching(/Only the person who asked/),
    });
    expect(telegram.message(group.id, picker.message_id)?.text).toBe('Which style? Tap one:');
  });
});

describe('Telegram bot, queue and cancel', () => {
  it('shows the place in line, lets the requester cancel a waiting clip, and refuses others', async () => {
    dashscope.options.runningMs = 5_000;
    try {
      const first = dm();
      const second = dm();
      const file = await telegram.addFile(clip);
      telegram.userSends(first.chat, first.user, { video: file, caption: 'manga' });
      await vi.waitFor(
        () => expect([...dashscope.tasks.values()].some((t) => t.status === 'RUNNING')).toBe(true),
        {
          timeout: 10_000,
        },
      );
      const file2 = await telegram.addFile(clip);
      telegram.userSends(second.chat, second.user, { video: file2, caption: 'comic' });
      const status = await waitForBotMessage(
        telegram,
        second.chat,
        (m) => m.text?.startsWith('⏳ Queued: #1 in line') ?? false,
      );
      const cancel = status.reply_markup?.inline_keyboard.flat().find((b) => b.text === 'Cancel');
      expect(cancel?.callback_data).toMatch(/^cx:/);

      // /queue tells the requester where the clip is.
      telegram.userSends(second.chat, second.user, { text: '/queue' });
      const queue = await waitForBotMessage(
        telegram,
        second.chat,
        (m) => m.text?.startsWith('Your clips:') ?? false,
      );
      expect(queue.text).toMatch(/1\. American comic — #1 in line, about \d+ s/);

      // Someone else cannot cancel it (the button is only in the requester's chat; forge the tap).
      const stranger = telegram.user();
      telegram.userTaps(status.message, stranger, cancel!.callback_data!);
      await vi.waitFor(() => expect(telegram.callbackAnswers.at(-1)?.query.from.id).toBe(stranger.id));
      expect(telegram.callbackAnswers.at(-1)?.text).toMatch(/Only the person who asked can cancel/);

      const submitsBefore = dashscope.submits().length;
      telegram.userTaps(status.message, second.user, cancel!.callback_data!);
      await waitForBotMessage(
        telegram,
        second.chat,
        (m) => m.message_id === status.message_id && m.text === '🚫 Canceled (American comic).',
      );
      expect(running.app.service.jobsOf(`telegram:${second.user.id}`)).toHaveLength(0);
      await nthVideo(first.chat);
      expect(dashscope.submits().length).toBe(submitsBefore);
      expect(sentVideos(telegram, second.chat)).toHaveLength(0);
    } finally {
      dashscope.options.runningMs = 1_500;
    }
  });

  it('/cancel cancels the waiting clips of the one who sends it', async () => {
    dashscope.options.runningMs = 5_000;
    try {
      const busy = dm();
      const me = dm({ language_code: 'zh' });
      telegram.userSends(busy.chat, busy.user, { video: await telegram.addFile(clip), caption: 'paper' });
      await vi.waitFor(
        () => expect([...dashscope.tasks.values()].some((t) => t.status === 'RUNNING')).toBe(true),
        {
          timeout: 10_000,
        },
      );
      telegram.userSends(me.chat, me.user, { video: await telegram.addFile(clip), caption: 'simple' });
      const status = await waitForBotMessage(
        telegram,
        me.chat,
        (m) => m.text?.startsWith('⏳ 已排队') ?? false,
      );
      telegram.userSends(me.chat, me.user, { text: '/cancel' });
      await waitForBotMessage(telegram, me.chat, (m) => m.text === '已取消你等待中的视频。');
      await waitForBotMessage(
        telegram,
        me.chat,
        (m) => m.message_id === status.message_id && m.text === '🚫 已取消（简笔画）。',
      );
      telegram.userSends(me.chat, me.user, { text: '/cancel' });
      await waitForBotMessage(telegram, me.chat, (m) => m.text === '你没有可以取消的等待中的视频。');
      await nthVideo(busy.chat);
    } finally {
      dashscope.options.runningMs = 1_500;
    }
  });

  it('restyles the same clip in another style from the buttons under a result', async () => {
    const { user, chat } = dm();
    const file = await telegram.addFile(await makeClip({ container: 'mov', durationSec: 1.5 }));
    const sent = telegram.userSends(chat, user, { video: file, caption: '3d' });
    const first = await nthVideo(chat);
    const getFilesBefore = telegram.calls.filter((c) => c.method === 'getFile').length;
    const ink = first.reply_markup!.inline_keyboard.flat().find((b) => b.text === 'Chinese ink wash')!;
    telegram.userTaps(first.message, user, ink.callback_data!);
    const second = await nthVideo(chat, 2);
    expect(second.reply_to_message_id).toBe(sent.message_id);
    expect(second.caption).toContain('Chinese ink wash');
    // The clip was fetched again from Telegram: the user did not upload anything.
    expect(telegram.calls.filter((c) => c.method === 'getFile').length).toBe(getFilesBefore + 1);
    expect(telegram.messages(chat.id).filter((m) => !m.fromBot)).toHaveLength(1);
  });
});

describe('Telegram bot, clips it cannot take', () => {
  it('says a document is not a video, and names every broken limit of a bad video with its numbers', async () => {
    const { user, chat } = dm();
    const bad = await badInputs();
    const pdf = await telegram.addFile(Buffer.from('%PDF-1.4 not a video'), {
      mime_type: 'application/pdf',
      file_name: 'menu.pdf',
    });
    const sentPdf = telegram.userSends(chat, user, { document: pdf });
    const notVideo = await waitForBotMessage(
      telegram,
      chat,
      (m) => m.reply_to_message_id === sentPdf.message_id,
    );
    expect(notVideo.text).toMatch(/^That isn't a video\./);

    const text = await telegram.addFile(bad.textAsMp4, {
      mime_type: 'video/mp4',
      file_name: 'broken.mp4',
      kind: 'document',
    });
    const sentText = telegram.userSends(chat, user, { document: text, caption: '3d' });
    const unreadable = await waitForBotMessage(
      telegram,
      chat,
      (m) => m.reply_to_message_id === sentText.message_id && (m.text?.startsWith("I can't") ?? false),
    );
    expect(unreadable.text).toContain('This file cannot be read as a video');
    expect(unreadable.text).toContain('Please send another video.');
    expect(unreadable.reply_markup).toBeUndefined();

    const uploadsBefore = dashscope.uploads.size;
    const wide = await telegram.addFile(bad.tooWideAspect);
    const sentWide = telegram.userSends(chat, user, { video: wide, caption: 'comic' });
    const tooWide = await waitForBotMessage(
      telegram,
      chat,
      (m) => m.reply_to_message_id === sentWide.message_id && (m.text?.startsWith("I can't") ?? false),
    );
    expect(tooWide.text).toContain('640×320 has an aspect ratio of 2:1, wider than the 1.8:1 limit.');
    expect(dashscope.uploads.size).toBe(uploadsBefore);
  });

  it('offers to trim a 31 s clip, then restyles what fits in 30 s, saying how long it is', async () => {
    const { user, chat } = dm({ language_code: 'zh-CN' });
    const bad = await badInputs();
    const long = await telegram.addFile(bad.tooLong);
    const sent = telegram.userSends(chat, user, { video: long, caption: '3d' });
    const rejection = await waitForBotMessage(
      telegram,
      chat,
      (m) => m.reply_to_message_id === sent.message_id && (m.text?.startsWith('这段视频无法重绘') ?? false),
    );
    expect(rejection.text).toContain('视频时长 31 秒，超过 30 秒的上限。');
    const fit = rejection.reply_markup?.inline_keyboard.flat()[0];
    expect(fit?.text).toBe('自动调整并重绘');
    telegram.userTaps(rejection.message, user, fit!.callback_data!);
    const video = await nthVideo(chat);
    expect(video.reply_to_message_id).toBe(sent.message_id);
    const history = textHistory(telegram, chat, rejection.message_id);
    // The note gives the length measured after the cut (the last frame must end inside 30 s).
    expect(history).toContainEqual(expect.stringContaining('已调整：截取前 29.9 秒（原长 31 秒）'));
    const task = [...dashscope.tasks.values()].at(-1)!;
    expect(task.input.durationSec).toBeLessThanOrEqual(30);
  });

  it('explains a file over the 20 MB download limit before fetching anything', async () => {
    const { user, chat } = dm();
    const big = await padMp4(clip, join(dir, 'big.mp4'), 21 * 1024 * 1024);
    const file = await telegram.addFile(big);
    const getFiles = telegram.calls.filter((c) => c.method === 'getFile').length;
    const sent = telegram.userSends(chat, user, { video: file, caption: 'ink' });
    const answer = await waitForBotMessage(
      telegram,
      chat,
      (m) => m.reply_to_message_id === sent.message_id && (m.text?.startsWith('This file') ?? false),
    );
    expect(answer.text).toMatch(
      /^This file is 21\.\d MB, but bots can only download files up to 20 MB\. Send a shorter \(at most 30 s\) or compressed clip\.$/,
    );
    expect(telegram.calls.filter((c) => c.method === 'getFile').length).toBe(getFiles);
  });

  it('takes the download limit from getFile when the update did not give the size', async () => {
    const big = await padMp4(clip, join(dir, 'big-unknown.mp4'), 21 * 1024 * 1024);
    const file = await telegram.addFile(big);
    const { Telegram } = await import('telegraf');
    // Not the official root, and no setting: the bot learns the limit from what getFile says.
    const limits = new TelegramServerLimits({ apiRoot: telegram.apiRoot });
    const fetcher = new TelegramFileFetcher(
      new Telegram(telegram.token, { apiRoot: telegram.apiRoot }),
      new HttpDownloader(),
      limits,
    );
    expect(limits.worthAsking(21 * 1024 * 1024)).toBe(true);
    const outcome = await fetcher.fetch(file.file_id, join(dir, 'never.mp4'), { maxBytes: 400_000_000 });
    expect(outcome).toEqual({ kind: 'too-big', sizeBytes: undefined, platformMaxBytes: 20 * 1024 * 1024 });
    expect(JSON.stringify(outcome)).not.toContain(telegram.token);
    // Now it knows: the next big file is refused without asking.
    expect(limits.worthAsking(21 * 1024 * 1024)).toBe(false);
  });
});

describe('Telegram bot under Telegram limits', () => {
  it('waits out a storm of 429s on status edits and never edits a message to the same text', async () => {
    const { user, chat } = dm();
    const other = await makeClip({ container: 'mkv', durationSec: 2 });
    const file = await telegram.addFile(other);
    const from = telegram.calls.length;
    telegram.inject429({ method: 'editMessageText', count: 4, retryAfterSec: 1 });
    telegram.inject429({ method: 'sendVideo', count: 1, retryAfterSec: 1 });
    telegram.userSends(chat, user, { video: file, caption: 'manga' });
    await nthVideo(chat);
    await waitForBotMessage(telegram, chat, (m) => m.text === '✅ Japanese manga: done!');
    const calls = telegram.calls.slice(from);
    const limited = calls.filter((c) => c.status === 429);
    expect(limited.length).toBe(5);
    // Every call that got a 429 was followed by a retry no sooner than retry_after.
    for (const hit of limited) {
      const next = calls.find((c) => c.at > hit.at && c.method === hit.method && c.chatId === hit.chatId);
      if (next) expect(next.at - hit.at).toBeGreaterThanOrEqual(1_000);
    }
    expect(calls.some((c) => c.description?.includes('message is not modified'))).toBe(false);
    expect(sentVideos(telegram, chat)).toHaveLength(1);
  });

  it('registers its commands in English and Chinese, and answers /help, /styles and /queue', async () => {
    expect(telegram.commandsFor()?.map((c) => c.command)).toEqual([
      'restyle',
      'styles',
      'queue',
      'cancel',
      'help',
      'start',
    ]);
    expect(telegram.commandsFor(undefined, 'zh')?.[0]?.description).toMatch(/^重绘视频/);
    const { user, chat } = dm({ language_code: 'zh-hans' });
    telegram.userSends(chat, user, { text: '/help' });
    const help = await waitForBotMessage(telegram, chat, (m) => m.text?.startsWith('👋') ?? false);
    expect(help.text).toContain(`/restyle@${telegram.bot.username} 3d`);
    expect(help.text).toContain('最长 30 秒');
    telegram.userSends(chat, user, { text: '/styles' });
    const styles = await waitForBotMessage(telegram, chat, (m) => m.text?.startsWith('可选风格') ?? false);
    expect(styles.text?.split('\n').filter((line) => /^\d\. /.test(line))).toHaveLength(8);
    telegram.userSends(chat, user, { text: '/queue' });
    await waitForBotMessage(telegram, chat, (m) => m.text === '你没有排队中的视频。发一段视频给我吧！');
  });
});
