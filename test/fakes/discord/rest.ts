import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BodyKind, readRequestBody, type UploadedFile } from './body.ts';
import { localizedView, parseCommand, parseCommandList } from './commands.ts';
import type { Core } from './core.ts';
import {
  ApiError,
  cannotEditOthers,
  cannotMessageUser,
  dailyCommandCreates,
  type ErrorBody,
  FormErrors,
  formError,
  invalidApiVersion,
  methodNotAllowed,
  missingAccess,
  missingPermissions,
  nonTextChannel,
  notFound,
  unauthorized,
  unknownChannel,
  unknownCommand,
  unknownEmoji,
  unknownGuild,
  unknownMember,
  unknownMessage,
  unknownUser,
} from './errors.ts';
import type { Answer, HandlerInput, Interactions } from './interactions.ts';
import { parseMessageInput } from './messages.ts';
import { RateLimiter, type RateLimitRules, type RateLimitScope, type RateLimitVerdict } from './ratelimit.ts';
import type { ChannelRecord, StoredMessage } from './state.ts';
import {
  type APIBotUser,
  boostUploadLimit,
  Intent,
  type Json,
  MessageFlag,
  MessageType,
  Permission,
  TEXT_CHANNEL_TYPES,
} from './types.ts';

/** One REST request as the fake saw and answered it. */
export interface FakeRestCall {
  readonly method: string;
  /** The path after `/api/v{n}`, decoded (`@original`, not `%40original`). */
  readonly path: string;
  /** The path after `/api/v{n}` exactly as sent. */
  readonly rawPath: string;
  /** The matched route template, e.g. `/channels/:channel_id/messages`; '' when none matched. */
  route: string;
  params: Record<string, string>;
  readonly query: Readonly<Record<string, string>>;
  readonly version?: number;
  /** Epoch ms (the fake's clock) of arrival. */
  readonly at: number;
  /** 'bot' for a valid `Authorization: Bot <token>`, 'invalid' for any other header, 'none' without one. */
  readonly auth: 'bot' | 'invalid' | 'none';
  readonly headers: Readonly<Record<string, string>>;
  bodyKind: BodyKind;
  /** The JSON params (for multipart: `payload_json`). */
  json?: unknown;
  files: UploadedFile[];
  requestBytes: number;
  /** HTTP status; 0 while in flight. */
  status: number;
  response?: unknown;
  error?: ErrorBody;
  /** Answered by `inject429`. */
  injected: boolean;
  rateLimit?: RateLimitVerdict['bucket'];
}

/** A 429 to answer instead of handling a request. */
export interface Inject429Spec {
  /**
   * Which requests: a route template (`/channels/:channel_id/messages`), `METHOD template`, a RegExp
   * tested against `METHOD /decoded/path`, or a predicate; all routes when absent.
   */
  readonly route?: string | RegExp | ((call: FakeRestCall) => boolean);
  readonly count: number;
  readonly retryAfterSec: number;
  readonly global?: boolean;
  readonly scope?: RateLimitScope;
}

type RouteKind = 'bot' | 'interaction' | 'webhook' | 'public';

interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly kind: RouteKind;
  readonly handler: (input: HandlerInput & { readonly req: IncomingMessage }) => Answer | Promise<Answer>;
}

export interface RestDeps {
  readonly core: Core;
  readonly interactions: Interactions;
  readonly token: () => string;
  readonly botUser: () => APIBotUser;
  readonly application: () => Json;
  readonly applicationId: () => string;
  readonly gatewayUrl: () => string;
  readonly sessionStartLimit: () => Json;
  readonly privilegedIntents: () => number;
  readonly maxUploadBytes: () => number;
  readonly maxRequestBytes: () => number;
  readonly rateLimits: () => RateLimitRules | false;
  readonly now: () => number;
  readonly uploadDir: string;
  readonly calls: FakeRestCall[];
  readonly injections: { spec: Inject429Spec; remaining: number }[];
  readonly typing: { channelId: string; at: number }[];
  readonly onCall: (call: FakeRestCall) => void;
  readonly notify: () => void;
}

const json = (status: number, body?: unknown): Answer => ({
  status,
  ...(body !== undefined ? { body } : {}),
});
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  for await (const _chunk of req.iterator({ destroyOnReturn: false })) {
    // discard
  }
}

/** Builds the `/api/...` request handler. */
export function createRest(
  deps: RestDeps,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const { core, interactions } = deps;
  const world = core.world;
  const limiter = new RateLimiter();
  const routes: Route[] = [];
  const route = (method: string, pattern: string, kind: RouteKind, handler: Route['handler']) =>
    routes.push({ method, pattern, segments: pattern.split('/').slice(1), kind, handler });

  // ---- helpers ----

  const botId = () => world.botId;
  const channelFor = (id: string): ChannelRecord => {
    const channel = world.channel(id);
    if (!channel) throw unknownChannel();
    if (channel.guildId) {
      if (!world.guild(channel.guildId).members.has(botId())) throw missingAccess();
      if (!world.canView(channel, botId())) throw missingAccess();
    }
    return channel;
  };
  const implicitlyDenied =
    Permission.MentionEveryone | Permission.SendTTSMessages | Permission.AttachFiles | Permission.EmbedLinks;
  const need = (channel: ChannelRecord, bits: bigint) => {
    let perms = core.botPermissionsIn(channel.id);
    // Without SEND_MESSAGES, these are ignored (Discord's implicit permissions).
    if (!(perms & Permission.SendMessages)) perms &= ~implicitlyDenied;
    if ((perms & bits) !== bits) throw missingPermissions();
  };
  const messageIn = (channel: ChannelRecord, id: string): StoredMessage => {
    const msg = channel.messages.get(id);
    if (!msg || msg.ephemeralTo) throw unknownMessage();
    return msg;
  };
  const guildFor = (id: string) => {
    const guild = world.guilds.get(id);
    if (!guild) throw unknownGuild();
    if (!guild.members.has(botId())) throw missingAccess();
    return guild;
  };
  const checkApp = (id: string) => {
    if (id !== deps.applicationId()) throw missingAccess();
  };
  const requesterLocale = (req: IncomingMessage): string | undefined => {
    const explicit = req.headers['x-discord-locale'];
    if (typeof explicit === 'string' && explicit) return explicit;
    const accept = req.headers['accept-language'];
    return typeof accept === 'string' && accept ? accept.split(',')[0]!.split(';')[0]!.trim() : undefined;
  };
  const boolQuery = (v: string | null) => v !== null && ['true', 'True', '1'].includes(v);

  // ---- gateway, users, application ----

  route('GET', '/gateway', 'public', () => json(200, { url: deps.gatewayUrl() }));
  route('GET', '/gateway/bot', 'bot', () =>
    json(200, { url: deps.gatewayUrl(), shards: 1, session_start_limit: deps.sessionStartLimit() }),
  );
  route('GET', '/users/@me', 'bot', () => json(200, deps.botUser()));
  route('GET', '/users/@me/guilds', 'bot', () =>
    json(
      200,
      [...world.guilds.values()]
        .filter((g) => g.members.has(botId()))
        .map((g) => ({
          id: g.id,
          name: g.name,
          icon: null,
          banner: null,
          owner: g.ownerId === botId(),
          permissions: world.permissionsOf(g.id, botId()).toString(),
          features: [...g.features],
        })),
    ),
  );
  route('POST', '/users/@me/channels', 'bot', ({ json: body }) => {
    const recipient = isObject(body) ? body.recipient_id : undefined;
    if (typeof recipient !== 'string')
      formError(['recipient_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
    if (!world.users.has(recipient)) throw unknownUser();
    return json(200, world.channelObject(world.dmChannel(recipient)));
  });
  route('GET', '/users/:user_id', 'bot', ({ params }) => {
    const id = params.user_id!;
    if (id !== botId() && !world.users.has(id)) throw unknownUser();
    return json(200, world.userObject(id));
  });
  route('GET', '/applications/@me', 'bot', () => json(200, deps.application()));
  route('GET', '/oauth2/applications/@me', 'bot', () => json(200, deps.application()));

  // ---- application commands ----

  const scopeOf = (params: Readonly<Record<string, string>>) => {
    checkApp(params.application_id!);
    if (params.guild_id !== undefined) guildFor(params.guild_id);
    return {
      scope: core.commandScope(params.guild_id),
      kind: params.guild_id ? ('guild' as const) : ('global' as const),
    };
  };
  for (const prefix of ['/applications/:application_id', '/applications/:application_id/guilds/:guild_id']) {
    route('GET', `${prefix}/commands`, 'bot', ({ params, query, req }) => {
      const { scope } = scopeOf(params);
      const full = boolQuery(query.get('with_localizations'));
      const locale = requesterLocale(req);
      return json(
        200,
        scope.list().map((c) => (full ? c : localizedView(c, locale))),
      );
    });
    route('POST', `${prefix}/commands`, 'bot', ({ params, json: body }) => {
      const { scope, kind } = scopeOf(params);
      const errors = new FormErrors();
      const def = parseCommand(body, errors, [], kind);
      errors.throwIfAny();
      if (!scope.findByName(def!.type, def!.name) && scope.createsInLastDay(deps.now()) >= 200)
        throw dailyCommandCreates();
      const { command, created } = scope.upsert(def!, deps.now());
      return json(created ? 201 : 200, command);
    });
    route('PUT', `${prefix}/commands`, 'bot', ({ params, json: body }) => {
      const { scope, kind } = scopeOf(params);
      const defs = parseCommandList(body, kind);
      const newOnes = defs.filter(
        (d) => !(d.requestedId && scope.commands.has(d.requestedId)) && !scope.findByName(d.type, d.name),
      );
      if (scope.createsInLastDay(deps.now()) + newOnes.length > 200) throw dailyCommandCreates();
      return json(200, scope.overwrite(defs, deps.now()));
    });
    route('GET', `${prefix}/commands/:command_id`, 'bot', ({ params }) => {
      const { scope } = scopeOf(params);
      const command = scope.commands.get(params.command_id!);
      if (!command) throw unknownCommand();
      return json(200, structuredClone(command));
    });
    route('PATCH', `${prefix}/commands/:command_id`, 'bot', ({ params, json: body }) => {
      const { scope, kind } = scopeOf(params);
      const existing = scope.commands.get(params.command_id!);
      if (!existing) throw unknownCommand();
      const errors = new FormErrors();
      const def = parseCommand(body, errors, [], kind, existing);
      errors.throwIfAny();
      const clash = scope.findByName(def!.type, def!.name);
      if (clash && clash.id !== existing.id)
        formError(
          ['name'],
          'APPLICATION_COMMAND_ALREADY_EXISTS',
          'An application command with that name already exists',
        );
      return json(200, scope.replace(existing.id, def!));
    });
    route('DELETE', `${prefix}/commands/:command_id`, 'bot', ({ params }) => {
      const { scope } = scopeOf(params);
      if (!scope.commands.delete(params.command_id!)) throw unknownCommand();
      return json(204);
    });
  }

  // ---- interactions ----

  route('POST', '/interactions/:interaction_id/:interaction_token/callback', 'interaction', (input) =>
    interactions.callback(input),
  );
  route('POST', '/webhooks/:application_id/:token', 'webhook', (input) => interactions.followup(input));
  route('GET', '/webhooks/:application_id/:token/messages/:message_id', 'webhook', (input) =>
    interactions.getMessage(input),
  );
  route('PATCH', '/webhooks/:application_id/:token/messages/:message_id', 'webhook', (input) =>
    interactions.editMessage(input),
  );
  route('DELETE', '/webhooks/:application_id/:token/messages/:message_id', 'webhook', (input) =>
    interactions.deleteMessage(input),
  );

  // ---- channels and messages ----

  route('GET', '/channels/:channel_id', 'bot', ({ params }) =>
    json(200, world.channelObject(channelFor(params.channel_id!))),
  );
  route('GET', '/channels/:channel_id/messages', 'bot', ({ params, query }) => {
    const channel = channelFor(params.channel_id!);
    need(channel, Permission.ViewChannel | Permission.ReadMessageHistory);
    const limit = query.has('limit') ? Number(query.get('limit')) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      formError(['limit'], 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 100.');
    }
    const all = [...channel.messages.values()].filter((m) => !m.ephemeralTo);
    let picked: StoredMessage[];
    const before = query.get('before');
    const after = query.get('after');
    const around = query.get('around');
    const cmp = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);
    if (after) picked = all.filter((m) => cmp(m.id, after) > 0).slice(0, limit);
    else if (around) {
      const index = all.findIndex((m) => cmp(m.id, around) >= 0);
      const start = Math.max(0, (index === -1 ? all.length : index) - Math.floor(limit / 2));
      picked = all.slice(start, start + limit);
    } else {
      const older = before ? all.filter((m) => cmp(m.id, before) < 0) : all;
      picked = older.slice(-limit);
    }
    return json(
      200,
      picked.reverse().map((m) => core.restMessage(m)),
    );
  });
  route('POST', '/channels/:channel_id/messages', 'bot', async ({ params, json: body, files }) => {
    const channel = channelFor(params.channel_id!);
    if (!TEXT_CHANNEL_TYPES.has(channel.type)) throw nonTextChannel();
    need(channel, Permission.SendMessages);
    if (!channel.guildId && !world.sharesGuildWithBot(channel.recipients[0]!)) throw cannotMessageUser();
    const input = parseMessageInput(body, 'create');
    if (files.length > 0) need(channel, Permission.AttachFiles);
    if (input.enforceNonce && input.nonce !== undefined) {
      const twoMinutes = deps.now() - 120_000;
      const same = [...channel.messages.values()].find(
        (m) => m.authorId === botId() && m.nonce === input.nonce && m.createdAt >= twoMinutes,
      );
      if (same) return json(200, core.restMessage(same));
    }
    let reference: StoredMessage['reference'];
    let repliedAuthorId: string | undefined;
    if (input.reference) {
      if (input.reference.type === 1) {
        formError(
          ['message_reference', 'type'],
          'MESSAGE_REFERENCE_TYPE_UNSUPPORTED',
          'The fake does not support forwards',
        );
      }
      need(channel, Permission.ReadMessageHistory);
      const targetChannel = input.reference.channelId ?? channel.id;
      const target =
        targetChannel === channel.id ? channel.messages.get(input.reference.messageId) : undefined;
      if (!target || target.ephemeralTo) {
        if (input.reference.failIfNotExists) {
          formError(['message_reference'], 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message');
        }
      } else {
        reference = {
          type: 0,
          message_id: target.id,
          channel_id: channel.id,
          ...(channel.guildId ? { guild_id: channel.guildId } : {}),
        };
        repliedAuthorId = target.authorId;
      }
    }
    const msg = await core.createMessage({
      channelId: channel.id,
      authorId: botId(),
      input,
      files,
      mode: 'create',
      type: reference ? MessageType.Reply : MessageType.Default,
      ...(reference ? { reference } : {}),
      ...(repliedAuthorId ? { repliedAuthorId } : {}),
      canMentionEveryone: (core.botPermissionsIn(channel.id) & Permission.MentionEveryone) !== 0n,
    });
    return json(200, { ...core.restMessage(msg), ...(msg.nonce !== undefined ? { nonce: msg.nonce } : {}) });
  });
  route('GET', '/channels/:channel_id/messages/:message_id', 'bot', ({ params }) => {
    const channel = channelFor(params.channel_id!);
    need(channel, Permission.ViewChannel | Permission.ReadMessageHistory);
    return json(200, core.restMessage(messageIn(channel, params.message_id!)));
  });
  route(
    'PATCH',
    '/channels/:channel_id/messages/:message_id',
    'bot',
    async ({ params, json: body, files }) => {
      const channel = channelFor(params.channel_id!);
      const msg = messageIn(channel, params.message_id!);
      const input = parseMessageInput(body, 'edit', msg.flags);
      if (msg.authorId !== botId()) {
        const onlyFlags =
          Object.keys(input).every((k) => k === 'flags' || k === 'allowedMentions') && files.length === 0;
        if (!onlyFlags) throw cannotEditOthers();
        need(channel, Permission.ManageMessages);
        msg.flags =
          (msg.flags & ~MessageFlag.SuppressEmbeds) | ((input.flags ?? 0) & MessageFlag.SuppressEmbeds);
        return json(200, core.restMessage(msg));
      }
      if (files.length > 0) need(channel, Permission.AttachFiles);
      const edited = await core.editMessage(msg, input, files, 'edit');
      return json(200, core.restMessage(edited));
    },
  );
  route('DELETE', '/channels/:channel_id/messages/:message_id', 'bot', ({ params }) => {
    const channel = channelFor(params.channel_id!);
    const msg = messageIn(channel, params.message_id!);
    if (msg.authorId !== botId() && channel.guildId) need(channel, Permission.ManageMessages);
    if (msg.authorId !== botId() && !channel.guildId) throw missingPermissions();
    core.deleteMessage(msg);
    return json(204);
  });
  route('POST', '/channels/:channel_id/typing', 'bot', ({ params }) => {
    const channel = channelFor(params.channel_id!);
    need(channel, Permission.SendMessages);
    deps.typing.push({ channelId: channel.id, at: deps.now() });
    return json(204);
  });
  const emojiOf = (raw: string) => {
    const custom = /^(?:a:)?([\w~]{1,32}):(\d{17,20})$/.exec(raw);
    if (custom) return { key: `${custom[1]}:${custom[2]}`, emoji: { id: custom[2]!, name: custom[1]! } };
    if (raw.length === 0 || raw.length > 32 || /^[\w\s:]+$/.test(raw)) throw unknownEmoji();
    return { key: raw, emoji: { id: null, name: raw } };
  };
  const reactionRoute = (method: 'PUT' | 'DELETE') =>
    route(method, '/channels/:channel_id/messages/:message_id/reactions/:emoji/@me', 'bot', ({ params }) => {
      const channel = channelFor(params.channel_id!);
      need(channel, Permission.ReadMessageHistory);
      const msg = messageIn(channel, params.message_id!);
      const { key, emoji } = emojiOf(params.emoji!);
      let reaction = msg.reactions.find((r) => r.key === key);
      if (method === 'PUT') {
        if (!reaction) {
          need(channel, Permission.AddReactions);
          reaction = { key, emoji, userIds: [] };
          msg.reactions.push(reaction);
        }
        if (!reaction.userIds.includes(botId())) reaction.userIds.push(botId());
      } else if (reaction?.userIds.includes(botId())) {
        reaction.userIds.splice(reaction.userIds.indexOf(botId()), 1);
        if (reaction.userIds.length === 0) msg.reactions.splice(msg.reactions.indexOf(reaction), 1);
      }
      deps.notify();
      return json(204);
    });
  reactionRoute('PUT');
  reactionRoute('DELETE');

  // ---- guilds ----

  route('GET', '/guilds/:guild_id', 'bot', ({ params, query }) => {
    const guild = guildFor(params.guild_id!);
    return json(200, {
      ...world.guildObject(guild),
      ...(boolQuery(query.get('with_counts'))
        ? { approximate_member_count: guild.members.size, approximate_presence_count: 0 }
        : {}),
    });
  });
  route('GET', '/guilds/:guild_id/channels', 'bot', ({ params }) => {
    const guild = guildFor(params.guild_id!);
    return json(
      200,
      guild.channelIds.map((id) => world.channelObject(world.channel(id)!)),
    );
  });
  route('GET', '/guilds/:guild_id/roles', 'bot', ({ params }) => {
    const guild = guildFor(params.guild_id!);
    return json(
      200,
      [...guild.roles.values()].map((r) => structuredClone(r)),
    );
  });
  route('GET', '/guilds/:guild_id/members', 'bot', ({ params, query }) => {
    const guild = guildFor(params.guild_id!);
    if (!(deps.privilegedIntents() & Intent.GuildMembers)) throw missingAccess();
    const limit = query.has('limit') ? Number(query.get('limit')) : 1;
    const after = query.get('after') ?? '0';
    const ids = [...guild.members.keys()]
      .filter((id) => BigInt(id) > BigInt(after))
      .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    return json(
      200,
      ids.slice(0, Math.min(Math.max(limit, 1), 1000)).map((id) => world.memberObject(guild.id, id)),
    );
  });
  route('GET', '/guilds/:guild_id/members/:user_id', 'bot', ({ params }) => {
    const guild = guildFor(params.guild_id!);
    if (!guild.members.has(params.user_id!)) throw unknownMember();
    return json(200, world.memberObject(guild.id, params.user_id!));
  });

  // ---- the pipeline ----

  const match = (method: string, segments: readonly string[]) => {
    let pathMatched = false;
    for (const r of routes) {
      if (r.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length; i += 1) {
        const pattern = r.segments[i]!;
        if (pattern.startsWith(':')) params[pattern.slice(1)] = segments[i]!;
        else if (pattern !== segments[i]) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method === method) return { route: r, params };
    }
    return pathMatched ? ('method' as const) : undefined;
  };

  const uploadLimit = (r: Route, params: Record<string, string>): number => {
    if (r.kind === 'interaction') {
      return (
        interactions.forCallback(params.interaction_id!, params.interaction_token!)?.attachmentSizeLimit ??
        deps.maxUploadBytes()
      );
    }
    if (r.kind === 'webhook')
      return interactions.byWebhookToken(params.token!)?.attachmentSizeLimit ?? deps.maxUploadBytes();
    const channel = params.channel_id ? world.channel(params.channel_id) : undefined;
    const guild = channel?.guildId ? world.guilds.get(channel.guildId) : undefined;
    return Math.max(deps.maxUploadBytes(), guild ? boostUploadLimit(guild.premiumTier) : 0);
  };

  const injectedFor = (call: FakeRestCall) => {
    for (const entry of deps.injections) {
      if (entry.remaining <= 0) continue;
      const r = entry.spec.route;
      const hit =
        r === undefined ||
        (typeof r === 'string' &&
          (r === call.route || r === `${call.method} ${call.route}` || call.path.startsWith(r))) ||
        (r instanceof RegExp && r.test(`${call.method} ${call.path}`)) ||
        (typeof r === 'function' && r(call));
      if (hit) {
        entry.remaining -= 1;
        return entry.spec;
      }
    }
    return undefined;
  };

  const majorOf = (params: Record<string, string>) =>
    params.channel_id ??
    params.guild_id ??
    (params.token ? `${params.application_id}/${params.token}` : 'global');

  return async (req, res, url) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const m = /^\/api(?:\/v(\d+))?(\/.*)?$/.exec(url.pathname);
    const version = m?.[1] === undefined ? undefined : Number(m[1]);
    const rawPath = m?.[2] ?? '/';
    const segments = rawPath.split('/').slice(1).map(decodeSegment);
    const authHeader = req.headers.authorization;
    const auth: FakeRestCall['auth'] =
      authHeader === undefined ? 'none' : authHeader === `Bot ${deps.token()}` ? 'bot' : 'invalid';
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'user-agent', 'x-audit-log-reason', 'x-discord-locale']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const call: FakeRestCall = {
      method,
      path: `/${segments.join('/')}`,
      rawPath,
      route: '',
      params: {},
      query: Object.fromEntries(url.searchParams),
      ...(version !== undefined ? { version } : {}),
      at: deps.now(),
      auth,
      headers,
      bodyKind: 'none',
      files: [],
      requestBytes: 0,
      status: 0,
      injected: false,
    };
    deps.calls.push(call);
    let answer: Answer;
    const extraHeaders: Record<string, string> = {};
    try {
      if (version !== 9 && version !== 10) throw invalidApiVersion();
      const found = match(method, segments);
      if (found === 'method') throw methodNotAllowed();
      if (!found) throw notFound();
      const { route: r, params } = found;
      call.route = r.pattern;
      call.params = params;
      if (r.kind === 'bot' && auth !== 'bot') throw unauthorized();
      const injected = injectedFor(call);
      if (injected) {
        call.injected = true;
        const global = injected.global ?? false;
        const retry = injected.retryAfterSec;
        const scope = injected.scope ?? (global ? 'global' : 'user');
        throw new ApiError(
          429,
          {
            message:
              scope === 'shared' ? 'The resource is being rate limited.' : 'You are being rate limited.',
            retry_after: retry,
            global,
          } as ErrorBody,
          {
            'retry-after': String(Math.ceil(retry)),
            'x-ratelimit-scope': scope,
            ...(global
              ? { 'x-ratelimit-global': 'true' }
              : {
                  'x-ratelimit-limit': '5',
                  'x-ratelimit-remaining': '0',
                  'x-ratelimit-reset': ((Date.now() + retry * 1000) / 1000).toFixed(3),
                  'x-ratelimit-reset-after': retry.toFixed(3),
                  'x-ratelimit-bucket': RateLimiter.hash(`${method} ${r.pattern}`),
                }),
          },
        );
      }
      const rules = deps.rateLimits();
      if (rules && r.kind !== 'interaction' && r.kind !== 'public') {
        const verdict = limiter.take(rules, `${method} ${r.pattern}`, majorOf(params), r.kind === 'bot');
        Object.assign(extraHeaders, verdict.headers);
        if (verdict.bucket) call.rateLimit = verdict.bucket;
        if (verdict.limited) {
          const { retryAfterSec, global } = verdict.limited;
          throw new ApiError(429, {
            message: 'You are being rate limited.',
            retry_after: Number(retryAfterSec.toFixed(3)),
            global,
          } as ErrorBody);
        }
      }
      const body = await readRequestBody(req, {
        uploadDir: deps.uploadDir,
        maxFileBytes: uploadLimit(r, params),
        maxRequestBytes: deps.maxRequestBytes(),
      });
      call.bodyKind = body.kind;
      if (body.json !== undefined) call.json = body.json;
      call.files = body.files;
      call.requestBytes = body.bytes;
      answer = await r.handler({ params, query: url.searchParams, json: body.json, files: body.files, req });
    } catch (error) {
      await drain(req).catch(() => undefined);
      if (error instanceof ApiError) {
        Object.assign(extraHeaders, error.headers);
        call.error = error.body;
        answer = { status: error.status, body: error.body };
      } else {
        const message = error instanceof Error ? error.message : String(error);
        call.error = { message: `500: Internal Server Error (${message})`, code: 0 };
        answer = { status: 500, body: call.error };
      }
    }
    call.status = answer.status;
    if (answer.body !== undefined) call.response = answer.body;
    const payload = answer.body === undefined ? undefined : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      ...extraHeaders,
      ...(payload !== undefined
        ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
        : {}),
    });
    res.end(payload);
    deps.onCall(call);
    deps.notify();
  };
}
