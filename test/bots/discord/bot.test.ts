import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDiscordCommands } from '../../../src/bots/discord/register.ts';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import {
  type FakeDiscord,
  type FakeInteraction,
  Permission,
  startFakeDiscord,
} from '../../fakes/discord/server.ts';
import type { APIChannel, APIGuild, APIUser } from '../../fakes/discord/types.ts';
import {
  contentHistory,
  discordEnv,
  resultMessages,
  waitForChannelMessage,
} from '../../helpers/discord-app.ts';
import { badInputs, makeClip, makeHeavyClip, padMp4, tempDir } from '../../helpers/media.ts';
import { fileContains, type RunningApp, runApp } from '../../helpers/telegram-app.ts';

let discord: FakeDiscord;
let dashscope: FakeDashScope;
let dir: string;
let running: RunningApp;
let guild: APIGuild;
let channel: APIChannel;
/** Added to the fake's clock: ages interaction tokens without waiting. */
let clockOffsetMs = 0;

beforeAll(async () => {
  [discord, dashscope, dir] = await Promise.all([
    startFakeDiscord({ now: () => Date.now() + clockOffsetMs }),
    startFakeDashScope({ render: false, pendingMs: 100, runningMs: 1_500 }),
    tempDir('restyle-discord-'),
  ]);
  guild = discord.guild({ name: 'Friends' });
  channel = discord.textChannel(guild, { name: 'clips' });
  running = await runApp(discordEnv(discord, dashscope, dir));
  await discord.waitForSession();
  await registerDiscordCommands({ token: discord.token, apiRoot: discord.apiRoot, guildId: guild.id });
});

afterAll(async () => {
  await running?.stop();
  await Promise.all([discord?.close(), dashscope?.close()]);
});

function member(init: { locale?: string; permissions?: bigint } = {}): APIUser {
  const user = discord.user(init.locale ? { locale: init.locale } : {});
  discord.member(guild, user, init.permissions === undefined ? {} : { permissions: init.permissions });
  return user;
}

async function attachment(path: string, contentType = 'video/mp4') {
  return discord.addAttachment(path, { content_type: contentType });
}

/** The slash command as a user would type it. */
function restyle(
  user: APIUser,
  file: Awaited<ReturnType<typeof attachment>>,
  style: string,
  extra: Record<string, number> = {},
) {
  return discord.dispatchSlashCommand({
    name: 'restyle',
    channel,
    user,
    options: { video: file, style, ...extra },
  });
}

/** The public status message the bot opened for a user (mentioning them), once it exists. */
function statusFor(user: APIUser, timeoutMs = 30_000) {
  return waitForChannelMessage(
    discord,
    channel.id,
    (m) => m.fromBot && !m.ephemeral && m.attachments.length === 0 && m.content.includes(`<@${user.id}>`),
    timeoutMs,
  );
}

function resultFor(user: APIUser, timeoutMs = 40_000) {
  return vi.waitFor(
    () => {
      const found = resultMessages(discord, channel.id).find((m) => m.content.includes(`<@${user.id}>`));
      if (!found) throw new Error('no result yet');
      return found;
    },
    { timeout: timeoutMs, interval: 100 },
  );
}

/** The private (ephemeral) answer an interaction has now. */
function privateAnswer(interaction: FakeInteraction) {
  return discord.original(interaction);
}

describe('Discord bot: /restyle', () => {
  it('registers /restyle and "Restyle video" idempotently, with Chinese names and choices', async () => {
    const first = discord.commandsFor(guild).map((c) => c.id);
    await registerDiscordCommands({ token: discord.token, apiRoot: discord.apiRoot, guildId: guild.id });
    const commands = discord.commandsFor(guild);
    expect(commands.map((c) => c.id)).toEqual(first);
    const slash = commands.find((c) => c.name === 'restyle')!;
    expect(slash.name_localizations?.['zh-CN']).toBe('重绘');
    const style = slash.options?.find((o) => o.name === 'style') as {
      choices?: { name: string; name_localizations?: Record<string, string> }[];
    };
    expect(style.choices).toHaveLength(8);
    expect(style.choices?.find((c) => c.name === 'Chinese ink wash')?.name_localizations?.['zh-CN']).toBe(
      '中国水墨',
    );
    expect(commands.find((c) => c.type === 3)?.name).toBe('Restyle video');
  });

  it('answers at once, shows position and progress in a public status, and posts the restyled clip', async () => {
    // Someone else's clip holds DashScope first, so this one waits in line and shows its place.
    const busy = member();
    restyle(busy, await attachment(await makeClip({ container: 'mp4', durationSec: 2.3 })), 'paper-art');
    await vi.waitFor(
      () => expect([...dashscope.tasks.values()].some((t) => t.status === 'RUNNING')).toBe(true),
      {
        timeout: 20_000,
      },
    );
    const user = member();
    const clip = await makeClip({ container: 'mp4', durationSec: 2 });
    const interaction = restyle(user, await attachment(clip), '3d-cartoon');
    const answered = await discord.waitForResponse(interaction);
    // A private answer at once (the request is recorded first): no "thinking…" a crash could strand.
    expect(answered.response?.type).toBe(4);
    expect(answered.response?.afterMs).toBeLessThan(3_000);

    const result = await resultFor(user);
    expect(result.content).toContain('3D cartoon');
    expect(result.attachments[0]?.filename).toBe('restyled-3d-cartoon.mp4');
    const select = (result.components[0] as { components: { type: number; options: unknown[] }[] })
      .components[0]!;
    expect(select.type).toBe(3);
    expect(select.options).toHaveLength(7);

    const status = await statusFor(user);
    // The result is posted just before the job is marked delivered: wait for the final status.
    await waitForChannelMessage(discord, channel.id, (m) => m.id === status.id && m.content.startsWith('✅'));
    const history = contentHistory(discord, status.id);
    expect(history).toContainEqual(
      expect.stringMatching(/^⏳ <@\d+>'s clip \(3D cartoon\): \*\*#1 of 1\*\* in line, ready <t:\d+:R>/),
    );
    expect(history).toContainEqual(
      expect.stringMatching(/^🎨 Restyling <@\d+>'s clip as 3D cartoon… .*\n[▰▱]{10} \d+%/),
    );
    expect(discord.message(channel.id, status.id)?.content).toMatch(/^✅ 3D cartoon: done! · <@\d+>$/);
    expect(privateAnswer(interaction)?.content).toBe('✅ Queued — the status is below, in the channel.');
    // DashScope got the re-hosted copy, never the signed CDN URL.
    const task = [...dashscope.tasks.values()].at(-1)!;
    expect(task.input.url).toMatch(/^oss:\/\//);
    expect(await fileContains(join(dir, 'restyle.sqlite'), discord.token)).toBe(false);
  });

  it('answers in Simplified Chinese for a zh-CN user', async () => {
    const user = member({ locale: 'zh-CN' });
    const clip = await makeClip({ container: 'mov', durationSec: 1.5 });
    restyle(user, await attachment(clip), 'chinese-ink');
    const result = await resultFor(user);
    expect(result.content).toContain('中国水墨');
    const status = await statusFor(user);
    await waitForChannelMessage(discord, channel.id, (m) => m.id === status.id && m.content.startsWith('✅'));
    expect(contentHistory(discord, status.id)).toContainEqual(
      expect.stringMatching(
        /^(⏳ <@\d+> 的视频（中国水墨）：排队第 \*\*1\/1\*\* 位|🎨 正在把 <@\d+> 的视频重绘为中国水墨)/,
      ),
    );
  });

  it('explains bad attachments privately, with every reason and its numbers', async () => {
    const user = member();
    const bad = await badInputs();
    const png = await discord.addAttachment(bad.pngAsMp4, {
      filename: 'photo.png',
      content_type: 'image/png',
    });
    const image = restyle(user, png, 'japanese-manga');
    await vi.waitFor(
      () => expect(privateAnswer(image)?.content).toMatch(/not a video|cannot be read|still image/),
      { timeout: 20_000 },
    );

    const long = restyle(user, await attachment(bad.tooLong), 'japanese-manga');
    const rejection = await vi.waitFor(
      () => {
        const answer = privateAnswer(long);
        if (!answer?.content.startsWith("I can't")) throw new Error('not yet');
        return answer;
      },
      { timeout: 20_000 },
    );
    expect(rejection.ephemeral).toBe(true);
    expect(rejection.content).toContain('31 s is longer than the 30 s limit.');
    const adjust = (rejection.components[0] as { components: { custom_id: string; label: string }[] })
      .components[0]!;
    expect(adjust.label).toBe('Adjust and restyle');

    const big = await padMp4(
      await makeClip({ container: 'mp4', durationSec: 1 }),
      join(dir, 'big.mp4'),
      150_000_000,
    );
    const huge = restyle(user, await attachment(big), 'american-comic');
    await vi.waitFor(
      () => expect(privateAnswer(huge)?.content).toMatch(/150\.\d MB is larger than the 100\.0 MB limit/),
      {
        timeout: 30_000,
      },
    );
    // No status was left in the channel for any of them.
    expect(
      discord
        .messages(channel.id)
        .filter((m) => m.fromBot && !m.ephemeral && m.content.includes(`<@${user.id}>`)),
    ).toHaveLength(0);

    // "Adjust and restyle" trims the 31 s clip and restyles it.
    discord.dispatchButton({ message: rejection, customId: adjust.custom_id, user });
    const result = await resultFor(user, 60_000);
    expect(result.content).toContain('Japanese manga');
    expect([...dashscope.tasks.values()].at(-1)!.input.durationSec).toBeLessThanOrEqual(30);
  });
});

describe('Discord bot: "Restyle video" on a message', () => {
  it('asks for a style privately, then restyles the clip someone posted', async () => {
    const poster = member();
    const user = member();
    const clip = await makeClip({ container: 'mkv', durationSec: 1.4 });
    const posted = discord.userSends(channel, poster, {
      content: 'look at this',
      attachments: [await attachment(clip)],
    });
    const action = discord.dispatchMessageCommand({ name: 'Restyle video', message: posted, user });
    await discord.waitForResponse(action);
    const picker = privateAnswer(action)!;
    expect(picker.ephemeral).toBe(true);
    const select = (
      picker.components[0] as { components: { custom_id: string; options: { value: string }[] }[] }
    ).components[0]!;
    expect(select.options).toHaveLength(8);
    const choose = discord.dispatchSelect({
      message: picker,
      customId: select.custom_id,
      values: ['paper-art'],
      user,
    });
    await discord.waitForResponse(choose);
    const result = await resultFor(user);
    expect(result.content).toContain('Paper art');

    // A message without a video gets a private answer.
    const text = discord.userSends(channel, poster, { content: 'no video here' });
    const none = discord.dispatchMessageCommand({ name: 'Restyle video', message: text, user });
    await discord.waitForResponse(none);
    expect(privateAnswer(none)?.content).toBe('That message has no video attachment to restyle.');
  });

  it('takes one picker in once: a second pick is pointed to the first request', async () => {
    const user = member();
    const clip = await makeClip({ container: 'mp4', durationSec: 1.3 });
    const posted = discord.userSends(channel, user, { attachments: [await attachment(clip)] });
    const action = discord.dispatchMessageCommand({ name: 'Restyle video', message: posted, user });
    await discord.waitForResponse(action);
    const picker = privateAnswer(action)!;
    const select = (picker.components[0] as { components: { custom_id: string }[] }).components[0]!;
    const submits = dashscope.submits().filter((r) => r.status === 200).length;
    // Picked twice before the first answer shows (as after "This interaction failed").
    const picks = ['paper-art', '3d-cartoon'].map((value) =>
      discord.dispatchSelect({ message: picker, customId: select.custom_id, values: [value], user }),
    );
    await Promise.all(picks.map((pick) => discord.waitForResponse(pick)));
    await resultFor(user);
    expect(dashscope.submits().filter((r) => r.status === 200).length).toBe(submits + 1);
    expect(
      resultMessages(discord, channel.id).filter((m) => m.content.includes(`<@${user.id}>`)),
    ).toHaveLength(1);
    const answers = discord.messageLog
      .filter((event) => event.messageId === picker.id)
      .map((event) => event.snapshot.content);
    expect(answers).toContain(
      '👀 Already on it — this clip was taken in before; its status is in the channel.',
    );
  });

  it('restyles the same clip in another style from the select under a result', async () => {
    const user = member();
    const clip = await makeClip({ container: 'mp4', durationSec: 1.6 });
    restyle(user, await attachment(clip), 'fresh-comic');
    const first = await resultFor(user);
    const select = (first.components[0] as { components: { custom_id: string }[] }).components[0]!;
    const fetchesBefore = discord.cdnRequests.length;
    discord.dispatchSelect({
      message: first,
      customId: select.custom_id,
      values: ['simple-illustration'],
      user,
    });
    await vi.waitFor(
      () =>
        expect(
          resultMessages(discord, channel.id).filter((m) => m.content.includes(`<@${user.id}>`)),
        ).toHaveLength(2),
      {
        timeout: 40_000,
      },
    );
    expect(discord.cdnRequests.length).toBe(fetchesBefore);
  });
});

describe('Discord bot: cancel, token expiry, oversize results', () => {
  it('lets the requester cancel a waiting clip, refuses others, and lets a moderator cancel', async () => {
    dashscope.options.runningMs = 5_000;
    try {
      const busy = member();
      const user = member();
      const stranger = member();
      const moderator = member({ permissions: Permission.ManageMessages });
      restyle(
        busy,
        await attachment(await makeClip({ container: 'mp4', durationSec: 1.1 })),
        'japanese-manga',
      );
      await vi.waitFor(
        () => expect([...dashscope.tasks.values()].some((t) => t.status === 'RUNNING')).toBe(true),
        {
          timeout: 20_000,
        },
      );
      restyle(
        user,
        await attachment(await makeClip({ container: 'mp4', durationSec: 1.2 })),
        'american-comic',
      );
      const status = await waitForChannelMessage(discord, channel.id, (m) =>
        m.content.startsWith(`⏳ <@${user.id}>`),
      );
      const cancel = (status.components[0] as { components: { custom_id: string; label: string }[] })
        .components[0]!;
      expect(cancel.label).toBe('Cancel');
      const refused = discord.dispatchButton({ message: status, customId: cancel.custom_id, user: stranger });
      await discord.waitForResponse(refused);
      expect(privateAnswer(refused)?.content).toMatch(/^Only the person who asked/);
      const mine = discord.dispatchButton({ message: status, customId: cancel.custom_id, user });
      await vi.waitFor(() => expect(privateAnswer(mine)?.content).toBe('Canceled.'), { timeout: 10_000 });
      await waitForChannelMessage(
        discord,
        channel.id,
        (m) => m.id === status.id && m.content.startsWith('🚫 Canceled'),
      );

      const third = member();
      restyle(
        third,
        await attachment(await makeClip({ container: 'mp4', durationSec: 1.3 })),
        'chinese-cartoon',
      );
      const thirdStatus = await waitForChannelMessage(discord, channel.id, (m) =>
        m.content.startsWith(`⏳ <@${third.id}>`),
      );
      const button = (thirdStatus.components[0] as { components: { custom_id: string }[] }).components[0]!;
      const byModerator = discord.dispatchButton({
        message: thirdStatus,
        customId: button.custom_id,
        user: moderator,
      });
      await vi.waitFor(() => expect(privateAnswer(byModerator)?.content).toBe('Canceled.'), {
        timeout: 10_000,
      });
      await resultFor(busy);
    } finally {
      dashscope.options.runningMs = 1_500;
    }
  });

  it('keeps reporting and delivers through the channel once the 15-minute token has expired', async () => {
    dashscope.options.runningMs = 4_000;
    try {
      const busy = member();
      const user = member();
      restyle(busy, await attachment(await makeClip({ container: 'mp4', durationSec: 1.7 })), 'paper-art');
      await vi.waitFor(
        () => expect([...dashscope.tasks.values()].some((t) => t.status === 'RUNNING')).toBe(true),
        {
          timeout: 20_000,
        },
      );
      restyle(user, await attachment(await makeClip({ container: 'mp4', durationSec: 1.8 })), '3d-cartoon');
      const status = await waitForChannelMessage(discord, channel.id, (m) =>
        m.content.startsWith(`⏳ <@${user.id}>`),
      );
      // Sixteen minutes pass for Discord: every interaction token of this test is dead now.
      clockOffsetMs += 16 * 60_000;
      const result = await resultFor(user);
      expect(result.replyTo).toBe(status.id);
      expect(result.mentions).toContain(user.id);
      await waitForChannelMessage(
        discord,
        channel.id,
        (m) => m.id === status.id && m.content.startsWith('✅ 3D cartoon'),
      );
      const refused = discord.calls.filter((c) => c.status === 401 && c.path.startsWith('/webhooks/'));
      expect(refused.length).toBeGreaterThan(0);
      const channelEdits = discord.calls.filter(
        (c) =>
          c.method === 'PATCH' &&
          c.path === `/channels/${channel.id}/messages/${status.id}` &&
          c.status === 200,
      );
      expect(channelEdits.length).toBeGreaterThan(0);
    } finally {
      dashscope.options.runningMs = 1_500;
    }
  });

  it('re-encodes a result over the attachment limit, and offers a link when even that cannot fit', async () => {
    const user = member();
    const heavy = await makeHeavyClip();
    expect((await stat(heavy)).size).toBeGreaterThan(1_000_000);
    discord.dispatchSlashCommand({
      name: 'restyle',
      channel,
      user,
      options: { video: await attachment(heavy), style: 'american-comic' },
      attachmentSizeLimit: 700_000,
    });
    const result = await resultFor(user, 60_000);
    expect(result.attachments[0]!.size).toBeLessThanOrEqual(700_000);
    expect(result.content).toMatch(/compressed from \d\.\d MB to fit the 0\.7 MB upload limit/);

    const other = member();
    discord.dispatchSlashCommand({
      name: 'restyle',
      channel,
      user: other,
      options: {
        video: await attachment(await makeClip({ container: 'mp4', durationSec: 2.2 })),
        style: 'japanese-manga',
      },
      attachmentSizeLimit: 2_000,
    });
    const link = await waitForChannelMessage(
      discord,
      channel.id,
      (m) => m.fromBot && m.content.includes(`<@${other.id}>`) && m.content.includes('Download it until'),
      60_000,
    );
    expect(link.content).toContain('The result is too large to upload here (limit 2 KB).');
    expect(link.content).toMatch(/<t:\d+:f>/);
    expect(link.content).toMatch(/https?:\/\/127\.0\.0\.1:\d+\//);
  }, 120_000);
});
