import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vi } from 'vitest';
import { type App, startApp } from '../../src/app.ts';
import { loadConfig, secretsOf } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { FakeDashScope } from '../fakes/dashscope/server.ts';
import type { FakeCall, FakeChatMessage, FakeTelegram } from '../fakes/telegram/server.ts';
import type { Chat, Message } from '../fakes/telegram/types.ts';
import { testBinaries } from './media.ts';

/** The service running in this process against the two fakes, with every log line kept. */
export interface RunningApp {
  readonly app: App;
  readonly logs: string[];
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** What every service run against the DashScope fake needs: its key and URL, files under `dir`. */
export function serviceEnv(dashscope: FakeDashScope, dir: string): Record<string, string> {
  const binaries = testBinaries();
  return {
    DASHSCOPE_API_KEY: 'sk-test-key',
    DASHSCOPE_BASE_URL: dashscope.baseUrl,
    DASHSCOPE_SEC_PER_VIDEO_SEC: '0.2',
    DASHSCOPE_TASK_OVERHEAD_SEC: '0.5',
    STORE_URL: `sqlite://${join(dir, 'restyle.sqlite')}`,
    RESTYLE_DATA_DIR: join(dir, 'data'),
    RESTYLE_WORK_DIR: join(dir, 'work'),
    QUEUE_MAX_WAITING_PER_USER: '3',
    FFMPEG_PATH: binaries.ffmpeg,
    FFPROBE_PATH: binaries.ffprobe,
    LOG_LEVEL: 'debug',
  };
}

/** The environment `npm start` would get to run the Telegram bot against the fakes, files under `dir`. */
export function appEnv(
  telegram: FakeTelegram,
  dashscope: FakeDashScope,
  dir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...serviceEnv(dashscope, dir),
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    TELEGRAM_API_LIMITS: 'cloud',
    TELEGRAM_STATUS_INTERVAL_MS: '300',
    ...extra,
  };
}

/** Starts the whole service in this process, as `npm start` would, logging to memory. */
export async function runApp(env: Record<string, string>): Promise<RunningApp> {
  const config = loadConfig(env);
  const logs: string[] = [];
  const logger = createLogger({
    level: 'debug',
    secrets: secretsOf(config),
    write: (line) => logs.push(line),
  });
  const app = await startApp(config, logger);
  return { app, logs, env, stop: () => app.stop() };
}

/** The bot messages of a chat, oldest first. */
export function botMessages(telegram: FakeTelegram, chat: Chat): FakeChatMessage[] {
  return telegram.messages(chat.id).filter((m) => m.fromBot);
}

/** Waits for a bot message in the chat that matches. */
export async function waitForBotMessage(
  telegram: FakeTelegram,
  chat: Chat,
  match: (message: FakeChatMessage) => boolean,
  timeoutMs = 20_000,
): Promise<FakeChatMessage> {
  return vi.waitFor(
    () => {
      const found = botMessages(telegram, chat).find(match);
      if (!found) throw new Error(`no such bot message in chat ${chat.id}`);
      return found;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

/** Every text a message had, in order, as the bot set it (sendMessage, then each edit). */
export function textHistory(telegram: FakeTelegram, chat: Chat, messageId: number): string[] {
  const texts: string[] = [];
  for (const call of telegram.calls) {
    if (!call.ok || String(call.args.chat_id) !== String(chat.id)) continue;
    const result = call.result as Message | undefined;
    if (call.method === 'sendMessage' && result?.message_id === messageId) texts.push(String(call.args.text));
    if (call.method === 'editMessageText' && Number(call.args.message_id) === messageId) {
      texts.push(String(call.args.text));
    }
  }
  return texts;
}

/** The videos the bot sent to a chat. */
export function sentVideos(telegram: FakeTelegram, chat: Chat): FakeCall[] {
  return telegram.calls.filter(
    (call) =>
      call.ok && (call.method === 'sendVideo' || call.method === 'sendDocument') && call.chatId === chat.id,
  );
}

/** True when the text appears anywhere in the file (e.g. a token in a SQLite database). */
export async function fileContains(path: string, text: string): Promise<boolean> {
  const bytes = await readFile(path).catch(() => Buffer.alloc(0));
  return bytes.includes(Buffer.from(text));
}
