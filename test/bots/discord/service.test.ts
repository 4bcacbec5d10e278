import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDiscordCommands } from '../../../src/bots/discord/register.ts';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { type FakeDiscord, startFakeDiscord } from '../../fakes/discord/server.ts';
import type { APIChannel, APIGuild } from '../../fakes/discord/types.ts';
import { discordEnv, resultMessages, waitForChannelMessage } from '../../helpers/discord-app.ts';
import { makeClip, tempDir } from '../../helpers/media.ts';
import { runApp } from '../../helpers/telegram-app.ts';

let discord: FakeDiscord;
let dashscope: FakeDashScope;
let guild: APIGuild;
let channel: APIChannel;

beforeAll(async () => {
  [discord, dashscope] = await Promise.all([
    startFakeDiscord(),
    startFakeDashScope({ render: false, pendingMs: 100, runningMs: 1_500 }),
  ]);
  guild = discord.guild({ name: 'Service' });
  channel = discord.textChannel(guild, { name: 'general' });
});

afterAll(async () => {
  await Promise.all([discord?.close(), dashscope?.close()]);
});

/** A `restyle` command line as a child process. */
function restyleCli(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['bin/restyle.js', ...args], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

describe('the Discord bot inside the service', () => {
  it('registers its commands from the command line, twice without change', async () => {
    const env = { DISCORD_TOKEN: discord.token, DISCORD_API_ROOT: discord.apiRoot };
    for (let i = 0; i < 2; i++) {
      const run = restyleCli(['discord', 'register', '--guild', guild.id], env);
      const [code] = await once(run.child, 'exit');
      expect(code).toBe(0);
      expect(run.output()).toContain(`Registered "restyle" and "Restyle video" in guild ${guild.id}`);
    }
    expect(
      discord
        .commandsFor(guild)
        .map((c) => c.name)
        .sort(),
    ).toEqual(['Restyle video', 'restyle']);
    const global = restyleCli(['discord', 'register'], env);
    await once(global.child, 'exit');
    expect(
      discord
        .commandsFor()
        .map((c) => c.name)
        .sort(),
    ).toEqual(['Restyle video', 'restyle']);
  });

  it('delivers exactly once after the service is killed (SIGKILL) while the task runs', async () => {
    const dir = await tempDir('restyle-dc-crash-');
    const env = discordEnv(discord, dashscope, dir, { LOG_LEVEL: 'info' });
    dashscope.options.runningMs = 4_000;
    const first = restyleCli(['run'], env);
    let second: ReturnType<typeof restyleCli> | undefined;
    try {
      await discord.waitForSession(30_000);
      const user = discord.user();
      discord.member(guild, user);
      const file = await discord.addAttachment(await makeClip({ container: 'mp4', durationSec: 2.1 }), {
        content_type: 'video/mp4',
      });
      const submits = dashscope.submits().filter((r) => r.status === 200).length;
      discord.dispatchSlashCommand({
        name: 'restyle',
        channel,
        user,
        options: { video: file, style: 'paper-art' },
      });
      await vi.waitFor(
        () => expect([...dashscope.tasks.values()].some((t) => t.status === 'RUNNING')).toBe(true),
        {
          timeout: 20_000,
          interval: 50,
        },
      );
      const status = await waitForChannelMessage(
        discord,
        channel.id,
        (m) => m.content.includes(`<@${user.id}>`) && !m.ephemeral,
      );
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');

      second = restyleCli(['run'], env);
      const result = await vi.waitFor(
        () => {
          const found = resultMessages(discord, channel.id).find((m) => m.content.includes(`<@${user.id}>`));
          if (!found) throw new Error('no result yet');
          return found;
        },
        { timeout: 60_000, interval: 100 },
      );
      // The interaction token died with the process: the result replies to the status in the channel.
      expect(result.replyTo).toBe(status.id);
      await waitForChannelMessage(
        discord,
        channel.id,
        (m) => m.id === status.id && m.content.startsWith('✅ Paper art'),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(
        resultMessages(discord, channel.id).filter((m) => m.content.includes(`<@${user.id}>`)),
      ).toHaveLength(1);
      expect(dashscope.submits().filter((r) => r.status === 200).length).toBe(submits + 1);
      expect(second.output()).not.toContain(discord.token);
      second.child.kill('SIGTERM');
      const [code] = await once(second.child, 'exit');
      expect(code).toBe(0);
    } finally {
      dashscope.options.runningMs = 1_500;
      first.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
    }
  }, 120_000);

  it('after a SIGKILL right after the acknowledgement, tells the user plainly or finishes a pick', async () => {
    const dir = await tempDir('restyle-dc-intake-crash-');
    const env = discordEnv(discord, dashscope, dir, { LOG_LEVEL: 'info' });
    discord.options.cdnDelayMs = 4_000;
    const first = restyleCli(['run'], env);
    let second: ReturnType<typeof restyleCli> | undefined;
    try {
      await discord.waitForSession(30_000);
      await registerDiscordCommands({ token: discord.token, apiRoot: discord.apiRoot, guildId: guild.id });
      const user = discord.user();
      discord.member(guild, user);
      const submits = dashscope.submits().filter((r) => r.status === 200).length;
      // A pick made before the restart: its clip is fetched at once, while its URL is fresh.
      discord.options.cdnDelayMs = 0;
      const posted = discord.userSends(channel, user, {
        content: 'mine',
        attachments: [
          await discord.addAttachment(await makeClip({ container: 'mp4', durationSec: 1.2 }), {
            content_type: 'video/mp4',
          }),
        ],
      });
      const action = discord.dispatchMessageCommand({ name: 'Restyle video', message: posted, user });
      await discord.waitForResponse(action);
      await vi.waitFor(() => expect(discord.cdnRequests.some((r) => r.status === 200)).toBe(true), {
        timeout: 10_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      // A /restyle whose attachment is still downloading when the process dies.
      discord.options.cdnDelayMs = 4_000;
      const file = await discord.addAttachment(await makeClip({ container: 'mp4', durationSec: 2.2 }), {
        content_type: 'video/mp4',
      });
      discord.dispatchSlashCommand({
        name: 'restyle',
        channel,
        user,
        options: { video: file, style: 'paper-art' },
      });
      const status = await waitForChannelMessage(
        discord,
        channel.id,
        (m) => m.content.startsWith('📥') && m.content.includes(`<@${user.id}>`) && !m.ephemeral,
      );
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      discord.options.cdnDelayMs = 0;

      second = restyleCli(['run'], env);
      await discord.waitForSession(30_000);
      // The signed URL died with the process: the status says so, and nothing was submitted.
      await waitForChannelMessage(
        discord,
        channel.id,
        (m) => m.id === status.id && m.content.startsWith('The bot restarted while fetching `'),
        30_000,
      );
      expect(dashscope.submits().filter((r) => r.status === 200).length).toBe(submits);
      // The pick still works.
      const picker = discord.original(action)!;
      const select = (picker.components[0] as { components: { custom_id: string }[] }).components[0]!;
      discord.dispatchSelect({ message: picker, customId: select.custom_id, values: ['paper-art'], user });
      await vi.waitFor(
        () => {
          const found = resultMessages(discord, channel.id).find((m) => m.content.includes(`<@${user.id}>`));
          if (!found) throw new Error('no result yet');
          return found;
        },
        { timeout: 60_000, interval: 100 },
      );
      expect(dashscope.submits().filter((r) => r.status === 200).length).toBe(submits + 1);
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');
    } catch (error) {
      console.log(first.output(), '\n-----\n', second?.output());
      throw error;
    } finally {
      discord.options.cdnDelayMs = 0;
      first.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
    }
  }, 150_000);

  it('serves only the allowed guilds and counts a daily quota', async () => {
    const dir = await tempDir('restyle-dc-quota-');
    const otherGuild = discord.guild({ name: 'Elsewhere' });
    const otherChannel = discord.textChannel(otherGuild);
    const running = await runApp(
      discordEnv(discord, dashscope, dir, { DISCORD_ALLOWED_GUILDS: guild.id, DISCORD_DAILY_QUOTA: '1' }),
    );
    try {
      await discord.waitForSession();
      const user = discord.user();
      discord.member(guild, user);
      discord.member(otherGuild, user);
      const file = await discord.addAttachment(await makeClip({ container: 'mp4', durationSec: 1.9 }), {
        content_type: 'video/mp4',
      });
      const elsewhere = discord.dispatchSlashCommand({
        name: 'restyle',
        channel: otherChannel,
        user,
        options: { video: file, style: '3d-cartoon' },
        force: true,
      });
      await discord.waitForResponse(elsewhere);
      expect(discord.original(elsewhere)?.content).toBe('Sorry, this bot is not available here.');

      discord.dispatchSlashCommand({
        name: 'restyle',
        channel,
        user,
        options: { video: file, style: '3d-cartoon' },
      });
      await vi.waitFor(
        () =>
          expect(resultMessages(discord, channel.id).some((m) => m.content.includes(`<@${user.id}>`))).toBe(
            true,
          ),
        { timeout: 30_000 },
      );
      const again = discord.dispatchSlashCommand({
        name: 'restyle',
        channel,
        user,
        options: { video: file, style: 'chinese-ink' },
      });
      await vi.waitFor(
        () => expect(discord.original(again)?.content).toMatch(/^You have used today's 1 restyles/),
        { timeout: 10_000 },
      );
    } finally {
      await running.stop();
    }
  });
});
