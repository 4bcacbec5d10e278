import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CdnSigner, serveFile } from './cdn.ts';
import { Core, type FakeChannelMessage, type FakeFile, type FakeMessageEvent } from './core.ts';
import { FakeGateway, type FakeGatewaySession } from './gateway.ts';
import {
  type ButtonSpec,
  type FakeCallback,
  type FakeInteraction,
  Interactions,
  idOf,
  type MessageCommandSpec,
  type ModalSubmitSpec,
  type Ref,
  type SelectSpec,
  type SlashCommandSpec,
  type UserCommandSpec,
} from './interactions.ts';
import { mentionsIn } from './messages.ts';
import { DEFAULT_RATE_LIMITS, type RateLimitRules } from './ratelimit.ts';
import { createRest, type FakeRestCall, type Inject429Spec } from './rest.ts';
import { Snowflakes } from './snowflake.ts';
import { type ChannelRecord, type GuildRecord, type StoredMessage, World } from './state.ts';
import {
  type APIApplicationCommand,
  type APIBotUser,
  type APIChannel,
  type APIGuild,
  type APIGuildMember,
  type APIMessage,
  type APIRole,
  type APIUser,
  ApplicationFlag,
  ChannelType,
  DEFAULT_BOT_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  Intent,
  type Json,
  MessageType,
  MiB,
  Permission,
} from './types.ts';

export type { UploadedFile } from './body.ts';
export type { FakeAttachmentView, FakeChannelMessage, FakeFile, FakeMessageEvent } from './core.ts';
export type { FakeGateway, FakeGatewayConnection, FakeGatewaySession } from './gateway.ts';
export type {
  ButtonSpec,
  FakeCallback,
  FakeInteraction,
  MessageCommandSpec,
  ModalSubmitSpec,
  OptionValue,
  Ref,
  SelectSpec,
  SlashCommandSpec,
  UserCommandSpec,
} from './interactions.ts';
export type { BucketRule, RateLimitRules } from './ratelimit.ts';
export { DEFAULT_RATE_LIMITS } from './ratelimit.ts';
export type { FakeRestCall, Inject429Spec } from './rest.ts';
export { Intent, MessageFlag, Permission } from './types.ts';

/** The bot user's public profile. */
export interface FakeBotProfile {
  username: string;
  /** Bot accounts keep four-digit discriminators. */
  discriminator: string;
  global_name: string | null;
  avatar: string | null;
}

/** How the fake behaves; fields are read when needed, so tests may change them at runtime. */
export interface FakeDiscordOptions {
  /** 0 picks a free port; the host is always 127.0.0.1. */
  port: number;
  /** The bot token the fake accepts; its first segment is the base64 of the bot's user id. */
  token: string;
  bot: FakeBotProfile;
  application: { name: string; description: string; flags: number };
  /** Privileged intents enabled in the Developer Portal (GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT). */
  privilegedIntents: number;
  /** HELLO's heartbeat_interval (Discord sends 41250). */
  heartbeatIntervalMs: number;
  /** A second IDENTIFY within this window gets INVALID_SESSION (max_concurrency 1, 5 s on Discord). */
  identifyWindowMs: number;
  /** How long a dropped session stays resumable. */
  resumeWindowMs: number;
  /** The initial response must arrive within this time of dispatch (3 s), or 404/10062. */
  callbackWindowMs: number;
  /** Interaction tokens work this long (15 min), then 401/50027. */
  tokenLifetimeMs: number;
  /** Per-file upload limit outside interactions (10 MiB; raised by a guild's boost tier). */
  maxUploadBytes: number;
  /** attachment_size_limit of interactions when neither guild boost nor Nitro raises it. */
  defaultAttachmentSizeLimit: number;
  /** Largest request body (25 MiB). */
  maxRequestBytes: number;
  /** How long signed attachment URLs work (ex − is). */
  attachmentUrlTtlMs: number;
  /** How long the CDN waits before answering a download, like a slow link (0 by default). */
  cdnDelayMs: number;
  /** Route buckets and the global limit (wall-clock time); false turns rate limiting off. */
  rateLimits: RateLimitRules | false;
  sessionStartLimit: { total: number; remaining: number; reset_after: number; max_concurrency: number };
  /** Epoch milliseconds; a manual clock ages interactions, tokens and CDN signatures. */
  now: () => number;
  /** Called after every REST call settles. */
  onCall?: (call: FakeRestCall) => void;
}

/** Options to start a fake with: any subset, nested ones included. */
export type FakeDiscordOverrides = Partial<Omit<FakeDiscordOptions, 'bot' | 'application' | 'rateLimits'>> & {
  bot?: Partial<FakeBotProfile>;
  application?: Partial<FakeDiscordOptions['application']>;
  rateLimits?: Partial<RateLimitRules> | false;
};

/** A permission overwrite as tests give it (bits as bigint). */
export interface OverwriteInit {
  readonly id: Ref;
  /** 0 role (default), 1 member. */
  readonly type?: 0 | 1;
  readonly allow?: bigint;
  readonly deny?: bigint;
}

/** What a simulated user posts. */
export interface UserMessageInit {
  readonly content?: string;
  readonly attachments?: readonly FakeFile[];
  readonly embeds?: Json[];
  /** The message replied to. */
  readonly replyTo?: Ref;
}

/** A running fake Discord and the state tests inspect. */
export interface FakeDiscord {
  /** `http://127.0.0.1:PORT/api`, for discord.js `rest: { api }`. */
  readonly apiRoot: string;
  /** `ws://127.0.0.1:PORT`, what `GET /gateway/bot` answers. */
  readonly gatewayUrl: string;
  /** `http://127.0.0.1:PORT`, where attachment URLs point. */
  readonly cdnRoot: string;
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: APIBotUser;
  readonly options: FakeDiscordOptions;
  /** Every REST call, in arrival order. */
  readonly calls: FakeRestCall[];
  /** Every interaction dispatched, in order. */
  readonly interactions: FakeInteraction[];
  /** Every interaction callback attempt, accepted or not. */
  readonly callbacks: FakeCallback[];
  /** Every message create, update and delete, in order. */
  readonly messageLog: FakeMessageEvent[];
  /** Every accepted `POST /channels/{id}/typing`. */
  readonly typing: { channelId: string; at: number }[];
  /** Every CDN download attempt. */
  readonly cdnRequests: { path: string; status: number; at: number; range?: string }[];
  /** Sessions, connections and controls of the gateway. */
  readonly gateway: FakeGateway;

  /** A user with a fresh id (discriminator '0'); `locale` is their client language, `premiumType` their Nitro. */
  user(init?: {
    username?: string;
    global_name?: string | null;
    locale?: string;
    premiumType?: number;
    bot?: boolean;
  }): APIUser;
  /** A guild with @everyone, the bot (with its managed role) and an owner; dispatches GUILD_CREATE to live sessions. */
  guild(init?: {
    name?: string;
    preferredLocale?: string;
    premiumTier?: number;
    owner?: Ref;
    everyonePermissions?: bigint;
    botPermissions?: bigint;
  }): APIGuild;
  /** A role; dispatches GUILD_ROLE_CREATE. */
  role(
    guild: Ref,
    init?: { name?: string; permissions?: bigint; mentionable?: boolean; color?: number },
  ): APIRole;
  /** Replaces a role's permissions (GUILD_ROLE_UPDATE). */
  setRolePermissions(guild: Ref, role: Ref, permissions: bigint): APIRole;
  /** Replaces the bot's managed role permissions. */
  setBotPermissions(guild: Ref, permissions: bigint): APIRole;
  /** A text channel (or another `type`); dispatches CHANNEL_CREATE. */
  textChannel(
    guild: Ref,
    init?: { name?: string; topic?: string; type?: number; overwrites?: OverwriteInit[]; nsfw?: boolean },
  ): APIChannel;
  /** Adds a user to a guild; `permissions` gives them a role with those bits. Dispatches GUILD_MEMBER_ADD. */
  member(
    guild: Ref,
    user: Ref,
    init?: { roles?: Ref[]; permissions?: bigint; nick?: string },
  ): APIGuildMember;
  /** The DM channel between the bot and a user. */
  dmChannel(user: Ref): APIChannel;
  /** Registers a file (read in place for a path) for user messages and ATTACHMENT options. */
  addAttachment(
    source: string | Buffer,
    meta?: {
      filename?: string;
      content_type?: string;
      width?: number;
      height?: number;
      duration_secs?: number;
      description?: string;
      title?: string;
      spoiler?: boolean;
    },
  ): Promise<FakeFile>;
  /** A user posts a message (MESSAGE_CREATE to sessions with the intent); returns the stored Message. */
  userSends(channel: Ref, user: Ref, init: UserMessageInit): APIMessage;
  /** A user deletes their message. */
  userDeletes(message: Ref & { channel_id?: string }): void;

  /** INTERACTION_CREATE for a registered slash command; options are checked against its definition. */
  dispatchSlashCommand(spec: SlashCommandSpec): FakeInteraction;
  /** INTERACTION_CREATE for a registered message context-menu command on a stored message. */
  dispatchMessageCommand(spec: MessageCommandSpec): FakeInteraction;
  /** INTERACTION_CREATE for a registered user context-menu command. */
  dispatchUserCommand(spec: UserCommandSpec): FakeInteraction;
  /** A click on a button of a stored message. */
  dispatchButton(spec: ButtonSpec): FakeInteraction;
  /** A choice in a select menu of a stored message. */
  dispatchSelect(spec: SelectSpec): FakeInteraction;
  /** Submits the modal an interaction was answered with. */
  dispatchModalSubmit(spec: ModalSubmitSpec): FakeInteraction;
  /** A hand-made interaction (`type`, `data`); the envelope (token, member, channel, …) is filled in. */
  dispatchInteraction(spec: {
    type: number;
    data: Json;
    user: Ref;
    channel: Ref;
    message?: Ref;
    locale?: string;
    attachmentSizeLimit?: number;
  }): FakeInteraction;

  /** A channel's messages as they stand, oldest first (ephemeral ones included, flagged). */
  messages(channel: Ref): FakeChannelMessage[];
  /** What one user sees in a channel: public messages and their own ephemeral ones. */
  visibleMessages(channel: Ref, user: Ref): FakeChannelMessage[];
  message(channel: Ref, id: string): FakeChannelMessage | undefined;
  /** The message `@original` of an interaction refers to now. */
  original(interaction: FakeInteraction | string): FakeChannelMessage | undefined;
  followups(interaction: FakeInteraction | string): FakeChannelMessage[];
  /** Registered commands: global, or of one guild. */
  commandsFor(guild?: Ref): APIApplicationCommand[];

  /** Answers the next `count` matching REST requests with 429. */
  inject429(spec: Inject429Spec): void;
  /** Resolves with the first settled call from `afterIndex` on that matches (see Inject429Spec.route). */
  waitForCall(
    match: string | RegExp | ((call: FakeRestCall) => boolean),
    options?: { afterIndex?: number; timeoutMs?: number },
  ): Promise<FakeRestCall>;
  /** Resolves once the interaction was answered (or a callback for it failed). */
  waitForResponse(interaction: FakeInteraction, timeoutMs?: number): Promise<FakeInteraction>;
  /** Resolves with the first truthy value of `check`, re-evaluated on every change. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Resolves once a gateway session is READY (and connected). */
  waitForSession(timeoutMs?: number): Promise<FakeGatewaySession>;
  /** Closes connections and deletes the fake's files. */
  close(): Promise<void>;
}

const DEFAULT_BOT_ID = '1234567890123456789';
// Deliberately not shaped like a real token (its middle and last parts are the wrong length).
const tokenFor = (id: string) => `${Buffer.from(id).toString('base64url')}.FAKE.not-a-real-discord-token`;

function botIdOf(token: string): string {
  const first = token.split('.')[0] ?? '';
  try {
    const decoded = Buffer.from(first, 'base64').toString('utf8');
    if (/^\d{17,20}$/.test(decoded)) return decoded;
  } catch {
    // fall through
  }
  return DEFAULT_BOT_ID;
}

const DEFAULTS: Omit<FakeDiscordOptions, 'bot' | 'application' | 'rateLimits' | 'sessionStartLimit'> = {
  port: 0,
  token: tokenFor(DEFAULT_BOT_ID),
  privilegedIntents: 0,
  heartbeatIntervalMs: 41_250,
  identifyWindowMs: 5000,
  resumeWindowMs: 120_000,
  callbackWindowMs: 3000,
  tokenLifetimeMs: 15 * 60_000,
  maxUploadBytes: 10 * MiB,
  defaultAttachmentSizeLimit: 10 * MiB,
  maxRequestBytes: 25 * MiB,
  attachmentUrlTtlMs: 24 * 3600_000,
  cdnDelayMs: 0,
  now: Date.now,
};

/** Starts a fake Discord (REST v10, Gateway v10, attachment CDN) on 127.0.0.1 for the real discord.js client. */
export async function startFakeDiscord(overrides: FakeDiscordOverrides = {}): Promise<FakeDiscord> {
  const { bot, application, rateLimits, sessionStartLimit, ...rest } = overrides;
  const options: FakeDiscordOptions = {
    ...DEFAULTS,
    ...rest,
    bot: { username: 'Restyle Test Bot', discriminator: '4242', global_name: null, avatar: null, ...bot },
    application: {
      name: 'Restyle Test Bot',
      description: 'Turns videos into cartoons.',
      flags: 0,
      ...application,
    },
    rateLimits:
      rateLimits === false
        ? false
        : {
            ...DEFAULT_RATE_LIMITS,
            ...rateLimits,
            routes: { ...DEFAULT_RATE_LIMITS.routes, ...(rateLimits?.routes ?? {}) },
          },
    sessionStartLimit: {
      total: 1000,
      remaining: 1000,
      reset_after: 86_400_000,
      max_concurrency: 1,
      ...sessionStartLimit,
    },
  };
  const workDir = await mkdtemp(join(tmpdir(), 'fake-discord-'));
  const uploadDir = join(workDir, 'uploads');
  await mkdir(uploadDir);

  const now = () => options.now();
  const ids = new Snowflakes(now);
  const signer = new CdnSigner(randomBytes(32), now, () => options.attachmentUrlTtlMs);
  let port = 0;
  const cdnRoot = () => `http://127.0.0.1:${port}`;
  const gatewayUrl = () => `ws://127.0.0.1:${port}`;
  const botId = () => botIdOf(options.token);
  const botUser = (): APIBotUser => ({
    id: botId(),
    username: options.bot.username,
    discriminator: options.bot.discriminator,
    global_name: options.bot.global_name,
    avatar: options.bot.avatar,
    bot: true,
    verified: true,
    mfa_enabled: false,
    email: null,
    locale: 'en-US',
    premium_type: 0,
    flags: 0,
    public_flags: 0,
    banner: null,
    accent_color: null,
    avatar_decoration_data: null,
    collectibles: null,
    primary_guild: null,
  });

  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };

  const world = new World({ ids, signer, cdnRoot, now, botUser });
  const calls: FakeRestCall[] = [];
  const typing: { channelId: string; at: number }[] = [];
  const cdnRequests: FakeDiscord['cdnRequests'] = [];
  const injections: { spec: Inject429Spec; remaining: number }[] = [];

  const applicationFlags = () => {
    let flags = options.application.flags;
    if (options.privilegedIntents & Intent.GuildPresences) flags |= ApplicationFlag.GatewayPresenceLimited;
    if (options.privilegedIntents & Intent.GuildMembers) flags |= ApplicationFlag.GatewayGuildMembersLimited;
    if (options.privilegedIntents & Intent.MessageContent)
      flags |= ApplicationFlag.GatewayMessageContentLimited;
    if (core.globalCommands.commands.size > 0) flags |= ApplicationFlag.ApplicationCommandBadge;
    return flags;
  };
  const ownerUser = {
    id: '1100000000000000001',
    username: 'fake-owner',
    discriminator: '0',
    global_name: 'Fake Owner',
    avatar: null,
  };
  const applicationObject = (): Json => {
    const flags = applicationFlags();
    const me = botUser();
    return {
      id: botId(),
      name: options.application.name,
      icon: null,
      description: options.application.description,
      summary: '',
      type: null,
      hook: true,
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: 'f'.repeat(64),
      flags,
      flags_new: String(flags),
      bot: {
        id: me.id,
        username: me.username,
        discriminator: me.discriminator,
        global_name: me.global_name,
        avatar: me.avatar,
        bot: true,
      },
      owner: { ...ownerUser, public_flags: 0, flags: 0 },
      team: null,
      approximate_guild_count: [...world.guilds.values()].filter((g) => g.members.has(me.id)).length,
      approximate_user_install_count: 0,
      redirect_uris: [],
      interactions_endpoint_url: null,
      role_connections_verification_url: null,
      event_webhooks_url: null,
      event_webhooks_status: 1,
      integration_types_config: {
        '0': {
          oauth2_install_params: {
            scopes: ['applications.commands', 'bot'],
            permissions: DEFAULT_BOT_PERMISSIONS.toString(),
          },
        },
      },
      tags: [],
    };
  };

  const shardOf = (guildId: string, shardCount: number) =>
    Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
  const gateway = new FakeGateway({
    token: () => options.token,
    heartbeatIntervalMs: () => options.heartbeatIntervalMs,
    identifyWindowMs: () => options.identifyWindowMs,
    resumeWindowMs: () => options.resumeWindowMs,
    enabledPrivilegedIntents: () => options.privilegedIntents,
    startSession: () => {
      if (options.sessionStartLimit.remaining <= 0) return false;
      options.sessionStartLimit.remaining -= 1;
      return true;
    },
    ready: (session) => ({
      v: 10,
      user_settings: {},
      user: botUser(),
      guilds: [...world.guilds.values()]
        .filter((g) => g.members.has(botId()) && shardOf(g.id, session.shard[1]) === session.shard[0])
        .map((g) => ({ id: g.id, unavailable: true })),
      guild_join_requests: [],
      relationships: [],
      private_channels: [],
      presences: [],
      session_id: session.sessionId,
      session_type: 'normal',
      resume_gateway_url: gatewayUrl(),
      ...(session.identify.shard !== undefined ? { shard: [...session.shard] } : {}),
      application: { id: botId(), flags: applicationFlags() },
      geo_ordered_rtc_regions: ['us-east', 'us-central', 'atlanta', 'newark', 'us-south'],
      auth: {},
      _trace: ['["gateway-prd-fake",{"micros":0}]'],
    }),
    guildCreates: (session) =>
      [...world.guilds.values()]
        .filter((g) => g.members.has(botId()) && shardOf(g.id, session.shard[1]) === session.shard[0])
        .map((g) => world.guildCreatePayload(g, session.intents)),
    memberChunks: (session, request) => {
      const guildIds = Array.isArray(request.guild_id)
        ? request.guild_id.map(String)
        : [String(request.guild_id)];
      const wanted = Array.isArray(request.user_ids)
        ? request.user_ids.map(String)
        : request.user_ids
          ? [String(request.user_ids)]
          : undefined;
      const query = typeof request.query === 'string' ? request.query.toLowerCase() : '';
      return guildIds
        .map((id) => world.guilds.get(id))
        .filter(
          (g): g is GuildRecord => g !== undefined && shardOf(g.id, session.shard[1]) === session.shard[0],
        )
        .map((g) => {
          const ids = [...g.members.keys()].filter((id) =>
            wanted
              ? wanted.includes(id)
              : (session.intents & Intent.GuildMembers) !== 0 &&
                world.userObject(id).username.toLowerCase().startsWith(query),
          );
          return {
            guild_id: g.id,
            members: ids.map((id) => world.memberObject(g.id, id)),
            chunk_index: 0,
            chunk_count: 1,
            ...(wanted ? { not_found: wanted.filter((id) => !g.members.has(id)) } : {}),
            ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
          };
        });
    },
    shardOf,
    notify,
  });

  const core = new Core({
    world,
    ids,
    signer,
    gateway,
    now,
    workDir,
    applicationId: botId,
    appIntents: () => options.privilegedIntents,
    notify,
  });
  const interactions = new Interactions({
    core,
    gateway,
    now,
    applicationId: botId,
    callbackWindowMs: () => options.callbackWindowMs,
    tokenLifetimeMs: () => options.tokenLifetimeMs,
    defaultAttachmentSizeLimit: () => options.defaultAttachmentSizeLimit,
    notify,
  });
  const handleRest = createRest({
    core,
    interactions,
    token: () => options.token,
    botUser,
    application: applicationObject,
    applicationId: botId,
    gatewayUrl,
    sessionStartLimit: () => ({ ...options.sessionStartLimit }),
    privilegedIntents: () => options.privilegedIntents,
    maxUploadBytes: () => options.maxUploadBytes,
    maxRequestBytes: () => options.maxRequestBytes,
    rateLimits: () => options.rateLimits,
    now,
    uploadDir,
    calls,
    injections,
    typing,
    onCall: (call) => {
      // FAKE_DISCORD_DEBUG=1 prints every call the fake refused, to see what a bot under test got wrong.
      if (process.env.FAKE_DISCORD_DEBUG && call.status >= 400) {
        console.error(
          `[fake discord] ${call.method} ${call.path} -> ${call.status} ${JSON.stringify(call.error)}`,
        );
      }
      options.onCall?.(call);
    },
    notify,
  });

  // ---- CDN ----

  const handleCdn = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const cdnPath = url.pathname.replace(/^\/media(?=\/)/, '');
    const att = core.cdnFiles.get(cdnPath);
    const verdict = att ? signer.check(cdnPath, url.searchParams) : 'invalid';
    const status = att && verdict === 'ok' ? (req.headers.range ? 206 : 200) : 404;
    cdnRequests.push({
      path: url.pathname,
      status,
      at: now(),
      ...(req.headers.range ? { range: req.headers.range } : {}),
    });
    notify();
    if (!att || verdict !== 'ok') {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('This content is no longer available.');
      return;
    }
    if (options.cdnDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.cdnDelayMs));
    await serveFile(req, res, {
      path: att.file.path,
      size: att.file.size,
      ...(att.contentType ? { contentType: att.contentType } : {}),
    });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const work =
      url.pathname === '/api' || url.pathname.startsWith('/api/')
        ? handleRest(req, res, url)
        : (req.method === 'GET' || req.method === 'HEAD') &&
            /^\/(media\/)?(ephemeral-)?attachments\//.test(url.pathname)
          ? handleCdn(req, res, url)
          : (async () => {
              for await (const _chunk of req.iterator({ destroyOnReturn: false })) {
                // discard
              }
              res
                .writeHead(404, { 'content-type': 'application/json' })
                .end(JSON.stringify({ message: '404: Not Found', code: 0 }));
            })();
    work.catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
      else res.destroy();
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/api')) {
      socket.destroy();
      return;
    }
    gateway.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      port = (server.address() as AddressInfo).port;
      resolve();
    });
  });

  // ---- helpers ----

  let userCount = 0;
  const guildRecord = (ref: Ref): GuildRecord => world.guild(idOf(ref));
  const channelRecord = (ref: Ref): ChannelRecord => {
    const channel = world.channel(idOf(ref));
    if (!channel) throw new Error(`fake Discord: unknown channel ${idOf(ref)}`);
    return channel;
  };
  const findMessage = (ref: Ref & { channel_id?: string; channelId?: string }): StoredMessage => {
    const hint = typeof ref === 'object' ? (ref.channel_id ?? ref.channelId) : undefined;
    for (const channel of hint ? [world.channel(hint)] : [...world.channels.values()]) {
      const msg = channel?.messages.get(idOf(ref));
      if (msg) return msg;
    }
    throw new Error(`fake Discord: unknown message ${idOf(ref)}`);
  };
  const newRole = (
    guild: GuildRecord,
    init: {
      name: string;
      permissions: bigint;
      managed?: boolean;
      mentionable?: boolean;
      color?: number;
      id?: string;
      botId?: string;
    },
  ): APIRole => ({
    id: init.id ?? ids.next(),
    name: init.name,
    color: init.color ?? 0,
    colors: { primary_color: init.color ?? 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: init.id === guild.id ? 0 : guild.roles.size,
    permissions: init.permissions.toString(),
    managed: init.managed ?? false,
    mentionable: init.mentionable ?? false,
    flags: 0,
    ...(init.botId ? { tags: { bot_id: init.botId } } : {}),
  });
  const roleUpdated = (guild: GuildRecord, role: APIRole) =>
    gateway.dispatch(
      'GUILD_ROLE_UPDATE',
      { guild_id: guild.id, role: structuredClone(role) },
      { guildId: guild.id, intent: Intent.Guilds },
    );

  const user: FakeDiscord['user'] = (init = {}) => {
    userCount += 1;
    const id = ids.next();
    const username = init.username ?? `user${userCount}`;
    const record = {
      user: {
        id,
        username,
        discriminator: '0',
        global_name:
          init.global_name === undefined ? username.replace(/^./, (c) => c.toUpperCase()) : init.global_name,
        avatar: null,
        ...(init.bot ? { bot: true } : {}),
        public_flags: 0,
        flags: 0,
        banner: null,
        accent_color: null,
        avatar_decoration_data: null,
        collectibles: null,
        primary_guild: null,
      },
      locale: init.locale ?? 'en-US',
      premiumType: init.premiumType ?? 0,
    };
    world.users.set(id, record);
    return structuredClone(record.user);
  };

  const addMember = (
    guild: GuildRecord,
    userId: string,
    roles: string[] = [],
    nick: string | null = null,
  ) => {
    guild.members.set(userId, {
      userId,
      roles,
      nick,
      joinedAt: now(),
      pending: false,
      communicationDisabledUntil: null,
    });
  };

  const fake: FakeDiscord = {
    apiRoot: `http://127.0.0.1:${port}/api`,
    gatewayUrl: gatewayUrl(),
    cdnRoot: cdnRoot(),
    get token() {
      return options.token;
    },
    get applicationId() {
      return botId();
    },
    get botUser() {
      return botUser();
    },
    options,
    calls,
    interactions: interactions.list,
    callbacks: interactions.callbacks,
    messageLog: core.messageLog,
    typing,
    cdnRequests,
    gateway,

    user,
    guild: (init = {}) => {
      const id = ids.next();
      const ownerId = init.owner ? idOf(init.owner) : user({ username: 'owner' }).id;
      const guild: GuildRecord = {
        id,
        name: init.name ?? 'Fake Guild',
        ownerId,
        preferredLocale: init.preferredLocale ?? 'en-US',
        premiumTier: init.premiumTier ?? 0,
        description: null,
        features: [],
        roles: new Map(),
        members: new Map(),
        channelIds: [],
        botRoleId: ids.next(),
        joinedAt: now(),
        systemChannelId: null,
      };
      world.guilds.set(id, guild);
      guild.roles.set(
        id,
        newRole(guild, {
          id,
          name: '@everyone',
          permissions: init.everyonePermissions ?? DEFAULT_EVERYONE_PERMISSIONS,
        }),
      );
      guild.roles.set(
        guild.botRoleId,
        newRole(guild, {
          id: guild.botRoleId,
          name: options.bot.username,
          permissions: init.botPermissions ?? DEFAULT_BOT_PERMISSIONS,
          managed: true,
          botId: botId(),
        }),
      );
      addMember(guild, ownerId);
      addMember(guild, botId(), [guild.botRoleId]);
      gateway.dispatch(
        'GUILD_CREATE',
        (s: FakeGatewaySession) => world.guildCreatePayload(guild, s.intents),
        {
          guildId: id,
          intent: Intent.Guilds,
        },
      );
      notify();
      return world.guildObject(guild);
    },
    role: (guildRef, init = {}) => {
      const guild = guildRecord(guildRef);
      const role = newRole(guild, {
        name: init.name ?? `role-${guild.roles.size}`,
        permissions: init.permissions ?? 0n,
        ...(init.mentionable !== undefined ? { mentionable: init.mentionable } : {}),
        ...(init.color !== undefined ? { color: init.color } : {}),
      });
      guild.roles.set(role.id, role);
      gateway.dispatch(
        'GUILD_ROLE_CREATE',
        { guild_id: guild.id, role: structuredClone(role) },
        { guildId: guild.id, intent: Intent.Guilds },
      );
      notify();
      return structuredClone(role);
    },
    setRolePermissions: (guildRef, roleRef, permissions) => {
      const guild = guildRecord(guildRef);
      const role = guild.roles.get(idOf(roleRef));
      if (!role) throw new Error(`fake Discord: unknown role ${idOf(roleRef)}`);
      role.permissions = permissions.toString();
      roleUpdated(guild, role);
      notify();
      return structuredClone(role);
    },
    setBotPermissions: (guildRef, permissions) => {
      const guild = guildRecord(guildRef);
      return fake.setRolePermissions(guild.id, guild.botRoleId, permissions);
    },
    textChannel: (guildRef, init = {}) => {
      const guild = guildRecord(guildRef);
      const channel: ChannelRecord = {
        id: ids.next(),
        type: init.type ?? ChannelType.GuildText,
        guildId: guild.id,
        name: init.name ?? `channel-${guild.channelIds.length + 1}`,
        topic: init.topic ?? null,
        position: guild.channelIds.length,
        overwrites: (init.overwrites ?? []).map((o) => ({
          id: idOf(o.id),
          type: o.type ?? 0,
          allow: (o.allow ?? 0n).toString(),
          deny: (o.deny ?? 0n).toString(),
        })),
        parentId: null,
        nsfw: init.nsfw ?? false,
        rateLimitPerUser: 0,
        recipients: [],
        lastMessageId: null,
        messages: new Map(),
      };
      world.channels.set(channel.id, channel);
      guild.channelIds.push(channel.id);
      guild.systemChannelId ??= channel.id;
      gateway.dispatch('CHANNEL_CREATE', world.channelObject(channel), {
        guildId: guild.id,
        intent: Intent.Guilds,
      });
      notify();
      return world.channelObject(channel);
    },
    member: (guildRef, userRef, init = {}) => {
      const guild = guildRecord(guildRef);
      const userId = idOf(userRef);
      if (!world.users.has(userId)) throw new Error(`fake Discord: unknown user ${userId}`);
      const roles = (init.roles ?? []).map(idOf);
      if (init.permissions !== undefined) {
        const role = fake.role(guild.id, {
          name: `perms-${userId.slice(-4)}`,
          permissions: init.permissions,
        });
        roles.push(role.id);
      }
      const existing = guild.members.get(userId);
      if (existing) {
        existing.roles = [...new Set([...existing.roles, ...roles])];
        if (init.nick !== undefined) existing.nick = init.nick;
      } else addMember(guild, userId, roles, init.nick ?? null);
      gateway.dispatch(
        existing ? 'GUILD_MEMBER_UPDATE' : 'GUILD_MEMBER_ADD',
        { ...world.memberObject(guild.id, userId), guild_id: guild.id },
        { guildId: guild.id, intent: Intent.GuildMembers },
      );
      notify();
      return world.memberObject(guild.id, userId);
    },
    dmChannel: (userRef) => world.channelObject(world.dmChannel(idOf(userRef))),
    addAttachment: (source, meta = {}) => core.registerFile(source, meta),
    userSends: (channelRef, userRef, init) => {
      const channel = channelRecord(channelRef);
      const userId = idOf(userRef);
      if (!world.users.has(userId)) throw new Error(`fake Discord: unknown user ${userId}`);
      if (channel.guildId) {
        const perms = world.permissionsOf(channel.guildId, userId, channel.id);
        if (!(perms & Permission.SendMessages))
          throw new Error(`fake Discord: user ${userId} cannot send in ${channel.id}`);
        if (init.attachments?.length && !(perms & Permission.AttachFiles)) {
          throw new Error(`fake Discord: user ${userId} cannot attach files in ${channel.id}`);
        }
      } else if (!channel.recipients.includes(userId)) throw new Error('fake Discord: not this user’s DM');
      const content = init.content ?? '';
      const written = mentionsIn(content);
      const replied = init.replyTo ? findMessage(init.replyTo as Ref & { channel_id?: string }) : undefined;
      const msg: StoredMessage = {
        id: ids.next(),
        channelId: channel.id,
        ...(channel.guildId ? { guildId: channel.guildId } : {}),
        authorId: userId,
        type: replied ? MessageType.Reply : MessageType.Default,
        content,
        embeds: structuredClone(init.embeds ?? []),
        components: [],
        attachments: (init.attachments ?? []).map((file) => core.attach(channel.id, file, false)),
        flags: 0,
        tts: false,
        mentions: [...new Set([...written.users, ...(replied ? [replied.authorId] : [])])],
        mentionRoles: written.roles,
        mentionEveryone: written.everyone,
        ...(replied
          ? {
              reference: {
                type: 0,
                message_id: replied.id,
                channel_id: channel.id,
                ...(channel.guildId ? { guild_id: channel.guildId } : {}),
              },
            }
          : {}),
        createdAt: now(),
        pinned: false,
        reactions: [],
      };
      core.store(msg);
      return world.messageObject(msg);
    },
    userDeletes: (ref) => core.deleteMessage(findMessage(ref)),

    dispatchSlashCommand: (spec) => interactions.slashCommand(spec),
    dispatchMessageCommand: (spec) => interactions.messageCommand(spec),
    dispatchUserCommand: (spec) => interactions.userCommand(spec),
    dispatchButton: (spec) => interactions.button(spec),
    dispatchSelect: (spec) => interactions.select(spec),
    dispatchModalSubmit: (spec) => interactions.modalSubmit(spec),
    dispatchInteraction: (spec) => interactions.raw(spec),

    messages: (channelRef) => world.messagesOf(idOf(channelRef)).map((m) => core.view(m)),
    visibleMessages: (channelRef, userRef) =>
      world
        .messagesOf(idOf(channelRef))
        .filter((m) => !m.ephemeralTo || m.ephemeralTo === idOf(userRef))
        .map((m) => core.view(m)),
    message: (channelRef, id) => {
      const msg = world.channel(idOf(channelRef))?.messages.get(id);
      return msg ? core.view(msg) : undefined;
    },
    original: (ref) => {
      const interaction = interactions.find(ref);
      const id = interaction?.originalMessageId;
      const msg = id ? world.channel(interaction.channelId)?.messages.get(id) : undefined;
      return msg ? core.view(msg) : undefined;
    },
    followups: (ref) => {
      const interaction = interactions.find(ref);
      if (!interaction) return [];
      const channel = world.channel(interaction.channelId);
      return interaction.followupIds
        .map((id) => channel?.messages.get(id))
        .filter((m): m is StoredMessage => m !== undefined)
        .map((m) => core.view(m));
    },
    commandsFor: (guildRef) => core.commandScope(guildRef ? idOf(guildRef) : undefined).list(),

    inject429: (spec) => {
      injections.push({ spec, remaining: spec.count });
    },
    waitForCall: (matcher, { afterIndex = 0, timeoutMs = 5000 } = {}) =>
      fake.waitFor(
        () =>
          calls.slice(afterIndex).find((c) => {
            if (c.status === 0) return false;
            if (typeof matcher === 'function') return matcher(c);
            if (matcher instanceof RegExp) return matcher.test(`${c.method} ${c.path}`);
            return (
              matcher === c.route ||
              matcher === `${c.method} ${c.route}` ||
              matcher === `${c.method} ${c.path}`
            );
          }),
        timeoutMs,
      ),
    waitForResponse: (interaction, timeoutMs = 5000) =>
      fake.waitFor(
        () =>
          interaction.response || interaction.callbacks.some((c) => c.status >= 400)
            ? interaction
            : undefined,
        timeoutMs,
      ),
    waitFor: <T>(check: () => T | undefined | null | false, timeoutMs = 5000) =>
      new Promise<T>((resolve, reject) => {
        const first = check();
        if (first) {
          resolve(first);
          return;
        }
        const listener = () => {
          const value = check();
          if (!value) return;
          cleanup();
          resolve(value);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`fake Discord: condition not met within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(listener);
        };
        listeners.add(listener);
      }),
    waitForSession: (timeoutMs = 10_000) =>
      fake.waitFor(() => gateway.sessions.find((s) => s.connected && !s.invalidated), timeoutMs),
    close: async () => {
      await gateway.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(workDir, { recursive: true, force: true });
    },
  };
  return fake;
}
