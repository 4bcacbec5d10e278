import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { type FakeTelegram, startFakeTelegram } from '../../fakes/telegram/server.ts';
import type { Chat, User } from '../../fakes/telegram/types.ts';
import { makeClip, makeHeavyClip, probeVideoStream, tempDir } from '../../helpers/media.ts';
import { freePort } from '../../helpers/service.ts';
import { appEnv, fileContains, runApp, sentVideos, waitForBotMessage } from '../../helpers/telegram-app.ts';

let telegram: FakeTelegram;
let dashscope: FakeDashScope;
let clip: string;

beforeAll(async () => {
  [telegram, dashscope, clip] = await Promise.all([
    startFakeTelegram(),
    startFakeDashScope({ render: false, pendingMs: 100, runningMs: 1_500 }),
    makeClip({ container: 'mp4', durationSec: 2 }),
  ]);
});

afterAll(async () => {
  await Promise.all([telegram?.close(), dashscope?.close()]);
});

function dm(init: Partial<User> = {}): { user: User; chat: Chat } {
  const user = telegram.user(init);
  return { user, chat: telegram.privateChat(user) };
}

async function videoIn(chat: Chat, n = 1, timeoutMs = 40_000) {
  return vi.waitFor(
    () => {
      const video = sentVideos(telegram, chat)[n - 1];
      if (!video) throw new Error(`no video #${n} yet`);
      return video;
    },
    { timeout: timeoutMs, interval: 100 },
  );
}

/** `npm start` as a child process (`restyle run`). */
function startService(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['bin/restyle.js', 'run'], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

describe('the Telegram bot inside the service', () => {
  it('delivers exactly once after the service is killed (SIGKILL) while the task runs', async () => {
    const dir = await tempDir('restyle-tg-crash-');
    const env = appEnv(telegram, dashscope, dir, { LOG_LEVEL: 'info' });
    dashscope.options.runningMs = 4_000;
    const first = startService(env);
    let second: ReturnType<typeof startService> | undefined;
    try {
      await telegram.waitForPolling(30_000);
      const { user, chat } = dm();
      const submitsBefore = dashscope.submits().filter((r) => r.status === 200).length;
      const sent = telegram.userSends(chat, user, { video: await telegram.addFile(clip), caption: 'paper' });
      await vi.waitFor(
        () => expect([...dashscope.tasks.values()].some((t) => t.status === 'RUNNING')).toBe(true),
        {
          timeout: 20_000,
          interval: 50,
        },
      );
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      expect(sentVideos(telegram, chat)).toHaveLength(0);

      second = startService(env);
      const video = await videoIn(chat, 1, 60_000);
      expect(
        telegram.message(chat.id, (video.result as { message_id: number }).message_id)?.reply_to_message_id,
      ).toBe(sent.message_id);
      await waitForBotMessage(telegram, chat, (m) => m.text === '✅ Paper art: done!', 20_000);
      // Give a duplicate every chance to show up.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(sentVideos(telegram, chat)).toHaveLength(1);
      expect(dashscope.submits().filter((r) => r.status === 200).length).toBe(submitsBefore + 1);
      expect(second.output()).not.toContain(telegram.token.split(':')[1]);

      // SIGTERM stops it cleanly.
      second.child.kill('SIGTERM');
      const [code] = await once(second.child, 'exit');
      expect(code).toBe(0);
      expect(await fileContains(join(dir, 'restyle.sqlite'), telegram.token)).toBe(false);
    } finally {
      dashscope.options.runningMs = 1_500;
      first.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
    }
  }, 120_000);

  it('finishes a clip acknowledged just before a SIGKILL: one submit, one video, a status that reads done', async () => {
    const dir = await tempDir('restyle-tg-intake-crash-');
    const env = appEnv(telegram, dashscope, dir, { LOG_LEVEL: 'info' });
    // A slow download keeps the request between acknowledgement and the queue when the kill lands.
    telegram.options.fileDelayMs = 4_000;
    const first = startService(env);
    let second: ReturnType<typeof startService> | undefined;
    try {
      await telegram.waitForPolling(30_000);
      const { user, chat } = dm();
      const submitsBefore = dashscope.submits().filter((r) => r.status === 200).length;
      const sent = telegram.userSends(chat, user, { video: await telegram.addFile(clip), caption: 'paper' });
      const status = await waitForBotMessage(
        telegram,
        chat,
        (m) => m.text?.startsWith('📥 Clip received') ?? false,
        20_000,
      );
      // Killed in the milliseconds between Telegram accepting the acknowledgement and the bot
      // saving its message id, the first status could never be found again (the Bot API offers no
      // way): a known, separate window. This test kills after it, while the slow download runs.
      await new Promise((resolve) => setTimeout(resolve, 300));
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      telegram.options.fileDelayMs = 0;
      expect(dashscope.submits().filter((r) => r.status === 200).length).toBe(submitsBefore);

      second = startService(env);
      const video = await videoIn(chat, 1, 60_000);
      expect(
        telegram.message(chat.id, (video.result as { message_id: number }).message_id)?.reply_to_message_id,
      ).toBe(sent.message_id);
      // The acknowledgement itself became the status, and it tells the truth.
      await waitForBotMessage(
        telegram,
        chat,
        (m) => m.message_id === status.message_id && m.text === '✅ Paper art: done!',
        20_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(sentVideos(telegram, chat)).toHaveLength(1);
      expect(dashscope.submits().filter((r) => r.status === 200).length).toBe(submitsBefore + 1);
      // Nothing was left behind: the input went with the job, the partial download with the crash.
      expect(await readdir(join(dir, 'data', 'inputs'))).toEqual([]);
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');
    } catch (error) {
      console.log(first.output(), '\n-----\n', second?.output());
      throw error;
    } finally {
      telegram.options.fileDelayMs = 0;
      first.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
    }
  }, 120_000);

  it('keeps a waiting job and its status message across a restart in the same process', async () => {
    const dir = await tempDir('restyle-tg-restart-');
    const env = appEnv(telegram, dashscope, dir);
    dashscope.options.runningMs = 4_000;
    let running = await runApp(env);
    try {
      const busy = dm();
      const me = dm();
      telegram.userSends(busy.chat, busy.user, { video: await telegram.addFile(clip), caption: 'simple' });
      await vi.waitFor(
        () => expect([...dashscope.tasks.values()].some((t) => t.status === 'RUNNING')).toBe(true),
        {
          timeout: 20_000,
        },
      );
      const other = await makeClip({ container: 'mp4', durationSec: 2.5 });
      telegram.userSends(me.chat, me.user, { video: await telegram.addFile(other), caption: 'fresh' });
      const status = await waitForBotMessage(
        telegram,
        me.chat,
        (m) => m.text?.startsWith('⏳ Queued: #1') ?? false,
      );
      await running.stop();
      running = await runApp(env);
      await videoIn(busy.chat);
      await videoIn(me.chat);
      await waitForBotMessage(
        telegram,
        me.chat,
        (m) => m.message_id === status.message_id && m.text === '✅ Fresh comic: done!',
      );
      expect(sentVideos(telegram, me.chat)).toHaveLength(1);
      expect(sentVideos(telegram, busy.chat)).toHaveLength(1);
    } finally {
      dashscope.options.runningMs = 1_500;
      await running.stop();
    }
  });

  it('runs on a webhook when TELEGRAM_WEBHOOK_URL is set, checking the secret token', async () => {
    const dir = await tempDir('restyle-tg-webhook-');
    const port = await freePort();
    const running = await runApp(
      appEnv(telegram, dashscope, dir, {
        TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${port}/telegram/hook`,
        TELEGRAM_WEBHOOK_HOST: '127.0.0.1',
        TELEGRAM_WEBHOOK_PORT: String(port),
        TELEGRAM_WEBHOOK_SECRET: 'hook-secret-123',
      }),
    );
    try {
      expect(telegram.webhookInfo().url).toBe(`http://127.0.0.1:${port}/telegram/hook`);
      // A caller without the secret token is turned away.
      const forged = await fetch(`http://127.0.0.1:${port}/telegram/hook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          update_id: 1,
          message: { message_id: 1, chat: { id: 1, type: 'private' }, date: 0, text: '/start' },
        }),
      });
      expect(forged.status).toBe(403);
      const { user, chat } = dm();
      telegram.userSends(chat, user, { video: await telegram.addFile(clip), caption: '3d' });
      await videoIn(chat);
      await waitForBotMessage(telegram, chat, (m) => m.text === '✅ 3D cartoon: done!');
    } finally {
      await running.stop();
    }
    // Long polling again for the other tests.
    await telegram.waitForPolling(100).catch(() => undefined);
  });

  it('re-encodes a result over the upload limit so it still arrives', async () => {
    const dir = await tempDir('restyle-tg-upload-');
    // A busy 1.6 MB clip; DashScope's fake returns the input as the result.
    const heavy = await makeHeavyClip();
    const inputBytes = (await stat(heavy)).size;
    const limit = 600_000;
    expect(inputBytes).toBeGreaterThan(limit);
    const running = await runApp(
      appEnv(telegram, dashscope, dir, { TELEGRAM_MAX_UPLOAD_BYTES: String(limit) }),
    );
    try {
      const { user, chat } = dm();
      telegram.userSends(chat, user, { video: await telegram.addFile(heavy), caption: 'comic' });
      const video = await videoIn(chat, 1, 60_000);
      const upload = video.uploads.find((part) => part.field === 'video');
      expect(upload?.sizeBytes).toBeLessThanOrEqual(limit);
      const message = telegram.message(chat.id, (video.result as { message_id: number }).message_id)!;
      expect(message.caption).toMatch(/compressed from \d\.\d MB to fit Telegram's 0\.6 MB upload limit/);
      const facts = await probeVideoStream(message.media!.file.path);
      expect(facts).toMatchObject({ width: 640, height: 360 });
    } finally {
      await running.stop();
    }
  });

  it('serves only the allowed chats and counts a daily quota', async () => {
    const dir = await tempDir('restyle-tg-quota-');
    const allowed = dm();
    const stranger = dm();
    const running = await runApp(
      appEnv(telegram, dashscope, dir, {
        TELEGRAM_ALLOWED_CHATS: String(allowed.chat.id),
        TELEGRAM_DAILY_QUOTA: '1',
      }),
    );
    try {
      telegram.userSends(stranger.chat, stranger.user, {
        video: await telegram.addFile(clip),
        caption: '3d',
      });
      await waitForBotMessage(
        telegram,
        stranger.chat,
        (m) => m.text === 'Sorry, this bot is private and does not serve this chat.',
      );

      const other = await makeClip({ container: 'mp4', durationSec: 1.2 });
      telegram.userSends(allowed.chat, allowed.user, {
        video: await telegram.addFile(other),
        caption: 'ink',
      });
      await videoIn(allowed.chat);
      telegram.userSends(allowed.chat, allowed.user, {
        video: await telegram.addFile(other),
        caption: 'manga',
      });
      await waitForBotMessage(telegram, allowed.chat, (m) =>
        /^You have used today's 1 restyles\. The quota resets at midnight UTC, in about/.test(m.text ?? ''),
      );
      expect(sentVideos(telegram, allowed.chat)).toHaveLength(1);
    } finally {
      await running.stop();
    }
  });
});
