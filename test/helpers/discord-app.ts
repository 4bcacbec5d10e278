import { vi } from 'vitest';
import type { FakeDashScope } from '../fakes/dashscope/server.ts';
import type { FakeChannelMessage, FakeDiscord } from '../fakes/discord/server.ts';
import { serviceEnv } from './telegram-app.ts';

/** The environment `npm start` would get to run the Discord bot against the fakes, files under `dir`. */
export function discordEnv(
  discord: FakeDiscord,
  dashscope: FakeDashScope,
  dir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...serviceEnv(dashscope, dir),
    DISCORD_TOKEN: discord.token,
    DISCORD_API_ROOT: discord.apiRoot,
    DISCORD_STATUS_INTERVAL_MS: '300',
    ...extra,
  };
}

/** Waits for a message in the channel that matches. */
export function waitForChannelMessage(
  discord: FakeDiscord,
  channelId: string,
  match: (message: FakeChannelMessage) => boolean,
  timeoutMs = 30_000,
): Promise<FakeChannelMessage> {
  return vi.waitFor(
    () => {
      const found = discord.messages(channelId).find(match);
      if (!found) throw new Error(`no such message in channel ${channelId}`);
      return found;
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

/** Every content a message had, in order (creation, then each edit). */
export function contentHistory(discord: FakeDiscord, messageId: string): string[] {
  return discord.messageLog
    .filter((e) => e.messageId === messageId && e.kind !== 'delete')
    .map((e) => e.snapshot.content);
}

/** The bot's public messages in a channel that carry a video. */
export function resultMessages(discord: FakeDiscord, channelId: string): FakeChannelMessage[] {
  return discord
    .messages(channelId)
    .filter((m) => m.fromBot && !m.ephemeral && m.attachments.some((a) => a.filename.endsWith('.mp4')));
}
