// Two whole services with the same Discord bot token on one Redis: only the instance holding the
// gateway lease logs in (Discord would send every interaction to both), the other stands by and
// takes Discord over when the first stops.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDiscordCommands } from '../../../src/bots/discord/register.ts';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { type FakeDiscord, startFakeDiscord } from '../../fakes/discord/server.ts';
import type { APIChannel, APIGuild } from '../../fakes/discord/types.ts';
import { discordEnv, resultMessages } from '../../helpers/discord-app.ts';
import { makeClip, tempDir } from '../../helpers/media.ts';
import { LOCAL_REDIS_URL, redisReachable } from '../../helpers/redis.ts';
import { type RunningApp, runApp } from '../../helpers/telegram-app.ts';

const PREFIX = `rt-gateway-${process.pid}-${randomUUID().slice(0, 8)}`;
const redisUp = await redisReachable();
if (!redisUp)
  console.warn(`Redis at ${LOCAL_REDIS_URL} unreachable: skipping the Discord gateway-lease test`);

let discord: FakeDiscord;
let dashscope: FakeDashScope;
let guild: APIGuild;
let channel: APIChannel;
const instances: RunningApp[] = [];

beforeAll(async () => {
  if (!redisUp) return;
  [discord, dashscope] = await Promise.all([
    startFakeDiscord(),
    startFakeDashScope({ render: false, pendingMs: 100, runningMs: 600 }),
  ]);
  guild = discord.guild({ name: 'Instances' });
  channel = discord.textChannel(guild, { name: 'clips' });
  for (let i = 0; i < 2; i++) {
    const dir = await tempDir(`restyle-dc-instance-${i}-`);
    instances.push(
      await runApp(discordEnv(discord, dashscope, dir, { REDIS_URL: LOCAL_REDIS_URL, REDIS_PREFIX: PREFIX })),
    );
  }
  await discord.waitForSession();
  await registerDiscordCommands({ token: discord.token, apiRoot: discord.apiRoot, guildId: guild.id });
}, 90_000);

afterAll(async () => {
  await Promise.all(instances.map((running) => running.stop()));
  await Promise.all([discord?.close(), dashscope?.close()]);
});

function connectedSessions(): number {
  return discord.gateway.activeSessions().filter((session) => session.connected).length;
}

async function restyleOnce(durationSec: number): Promise<void> {
  const user = discord.user();
  discord.member(guild, user);
  const file = await discord.addAttachment(await makeClip({ container: 'mp4', durationSec }), {
    content_type: 'video/mp4',
  });
  const before = dashscope.submits().filter((r) => r.status === 200).length;
  discord.dispatchSlashCommand({
    name: 'restyle',
    channel,
    user,
    options: { video: file, style: '3d-cartoon' },
  });
  await vi.waitFor(
    () => {
      if (!resultMessages(discord, channel.id).some((m) => m.content.includes(`<@${user.id}>`)))
        throw new Error('no result yet');
    },
    { timeout: 40_000, interval: 100 },
  );
  expect(dashscope.submits().filter((r) => r.status === 200).length).toBe(before + 1);
  expect(resultMessages(discord, channel.id).filter((m) => m.content.includes(`<@${user.id}>`))).toHaveLength(
    1,
  );
}

describe.skipIf(!redisUp)('Discord with two instances on one Redis', () => {
  it('keeps one gateway connection, and the instance standing by takes over when it stops', async () => {
    expect(connectedSessions()).toBe(1);
    const serving = instances.findIndex((running) => running.app.discord?.applicationId !== undefined);
    expect(serving).toBeGreaterThanOrEqual(0);
    await restyleOnce(1);

    const standing = instances[1 - serving]!;
    expect(standing.logs.join('\n')).toContain('another instance serves Discord; standing by to take over');
    await instances[serving]!.stop();
    await vi.waitFor(() => expect(standing.app.discord?.applicationId).toBeDefined(), {
      timeout: 15_000,
      interval: 100,
    });
    await discord.waitForSession();
    expect(connectedSessions()).toBe(1);
    await restyleOnce(1.1);
  }, 120_000);
});
