import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TELEGRAM_FILE_LIMITS, TelegramServerLimits } from '../../../src/bots/telegram/limits.ts';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { type FakeTelegram, startFakeTelegram } from '../../fakes/telegram/server.ts';
import { makeClip, padMp4, tempDir } from '../../helpers/media.ts';
import {
  appEnv,
  botMessages,
  type RunningApp,
  runApp,
  sentVideos,
  waitForBotMessage,
} from '../../helpers/telegram-app.ts';

const MiB = 1024 * 1024;

describe('Telegram file limits', () => {
  it('holds the cloud limits for api.telegram.org', () => {
    const limits = new TelegramServerLimits({ apiRoot: 'https://api.telegram.org' });
    expect(limits.maxDownloadBytes).toBe(20 * MiB);
    expect(limits.maxUploadBytes).toBe(50 * MiB);
    expect(limits.worthAsking(21 * MiB)).toBe(false);
  });

  it('takes another root for the cloud until its server shows it runs --local', () => {
    const limits = new TelegramServerLimits({ apiRoot: 'https://tg-proxy.example.cn' });
    expect(limits.maxDownloadBytes).toBe(20 * MiB);
    // Unsure of the server: ask it rather than refuse up front.
    expect(limits.worthAsking(25 * MiB)).toBe(true);
    limits.sawLocalPath();
    expect(limits).toMatchObject(TELEGRAM_FILE_LIMITS.local);
  });

  it('keeps what the operator set, whatever the server shows', () => {
    const limits = new TelegramServerLimits({ apiRoot: 'http://127.0.0.1:8081', kind: 'cloud' });
    limits.sawLocalPath();
    expect(limits).toMatchObject(TELEGRAM_FILE_LIMITS.cloud);
    const bytes = new TelegramServerLimits({ apiRoot: 'http://127.0.0.1:8081', maxDownloadBytes: 5 * MiB });
    expect(bytes.worthAsking(6 * MiB)).toBe(false);
  });
});

describe('Telegram limits through a reverse proxy or a --local server', () => {
  let telegram: FakeTelegram;
  let dashscope: FakeDashScope;
  let dir: string;
  let running: RunningApp | undefined;

  beforeAll(async () => {
    [telegram, dashscope, dir] = await Promise.all([
      startFakeTelegram(),
      startFakeDashScope({ render: false, pendingMs: 50, runningMs: 500 }),
      tempDir('restyle-tg-limits-'),
    ]);
  });

  afterAll(async () => {
    await running?.stop();
    await Promise.all([telegram?.close(), dashscope?.close()]);
  });

  /** The service with no limits setting, on the fake's loopback root (neither official nor known). */
  async function start(): Promise<void> {
    const { TELEGRAM_API_LIMITS: _unset, ...env } = appEnv(
      telegram,
      dashscope,
      join(dir, String(Date.now())),
    );
    running = await runApp(env);
  }

  it('tells the download limit with the real numbers when a proxied cloud refuses a 25 MB clip', async () => {
    await start();
    try {
      const user = telegram.user();
      const chat = telegram.privateChat(user);
      const big = await padMp4(
        await makeClip({ container: 'mp4', durationSec: 1 }),
        join(dir, 'big25.mp4'),
        25 * MiB,
      );
      telegram.userSends(chat, user, { video: await telegram.addFile(big), caption: '3d' });
      const answer = await waitForBotMessage(telegram, chat, (m) => m.text?.startsWith('This file') ?? false);
      expect(answer.text).toMatch(
        /^This file is 25(\.\d)? MB, but bots can only download files up to 20 MB\./,
      );
      expect(
        botMessages(telegram, chat)
          .map((m) => m.text)
          .join('\n'),
      ).not.toContain('100.0 MB');
      expect(dashscope.submits()).toHaveLength(0);
    } finally {
      await running?.stop();
      running = undefined;
    }
  });

  it('restyles a 25 MB clip from a --local server, reading it from disk', async () => {
    telegram.options.localMode = true;
    await start();
    try {
      const user = telegram.user();
      const chat = telegram.privateChat(user);
      const big = await padMp4(
        await makeClip({ container: 'mp4', durationSec: 1 }),
        join(dir, 'local25.mp4'),
        25 * MiB,
      );
      telegram.userSends(chat, user, { video: await telegram.addFile(big), caption: '3d' });
      await waitForBotMessage(telegram, chat, (m) => m.text?.startsWith('✅') ?? false, 40_000);
      expect(sentVideos(telegram, chat)).toHaveLength(1);
    } finally {
      telegram.options.localMode = false;
      await running?.stop();
      running = undefined;
    }
  });
});
