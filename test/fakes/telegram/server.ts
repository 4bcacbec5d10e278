import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  extensionFor,
  type FakeFile,
  type FileKind,
  filePathFor,
  isMp4Like,
  newFileIds,
  probeMp4,
  readHead,
  sniffMime,
} from './files.ts';
import { EntityParseError, type FormattedText, formatOutgoing, withDetectedEntities } from './format.ts';
import { parseReplyMarkup } from './markup.ts';
import {
  ApiError,
  argString,
  bad,
  conflict,
  Described,
  drain,
  type FakeTransport,
  type FakeUploadPart,
  type ReceivedFile,
  readRequest,
  toBool,
  toInteger,
  tooMany,
} from './request.ts';
import type {
  ApiResponse,
  BotCommand,
  BotCommandScope,
  BotUser,
  CallbackQuery,
  Chat,
  File,
  InlineKeyboardMarkup,
  Message,
  MessageEntity,
  ResponseParameters,
  Update,
  UpdateKind,
  User,
  WebhookInfo,
} from './types.ts';

export type { FakeFile, FileKind } from './files.ts';
export type { FakeTransport, FakeUploadPart } from './request.ts';

/** Flood limits in a simple form: a token bucket per chat, a sliding minute per group, a global bucket. */
export interface FloodLimits {
  /** Messages per second a chat's bucket refills (the API asks for about one). */
  perChatPerSec: number;
  /** Messages a chat may send at once before the per-second rate applies. */
  perChatBurst: number;
  /** Messages per sliding minute in a group or supergroup. */
  perGroupPerMin: number;
  /** Messages per second over all chats. */
  globalPerSec: number;
  /** Whether editMessage* calls count as messages. */
  countEdits: boolean;
}

/** The bot's identity, as `getMe` reports it (the id is the token's numeric prefix). */
export interface FakeBotIdentity {
  first_name: string;
  username: string;
  can_join_groups: boolean;
  /** false means privacy mode: in groups the bot only sees commands and replies to its messages. */
  can_read_all_group_messages: boolean;
  supports_inline_queries: boolean;
}

/** How the fake behaves; fields are read when needed, so tests may change them at runtime. */
export interface FakeTelegramOptions {
  /** 0 picks a free port; the host is always 127.0.0.1. */
  port: number;
  /** The one token the fake accepts. */
  token: string;
  bot: FakeBotIdentity;
  /** Largest multipart upload the API accepts (50 MB on api.telegram.org); above it, 413. */
  maxUploadBytes: number;
  /** Largest file `getFile` hands out (20 MB on api.telegram.org); above it, "file is too big". */
  maxDownloadBytes: number;
  /** Largest file the server fetches when a method gets an HTTP URL. */
  maxUrlDownloadBytes: number;
  /** How long a file download waits before answering, like a slow link (0 by default). */
  fileDelayMs: number;
  /**
   * Run like `telegram-bot-api --local`: getFile answers with the file's absolute path on this
   * machine and hands out files up to 2000 MB.
   */
  localMode: boolean;
  /** How long after a tap answerCallbackQuery still works. */
  callbackAnswerWindowMs: number;
  /** false turns flood control off. */
  flood: FloodLimits | false;
  /**
   * Mimics the real server's anti-busy-loop rules for getUpdates: a repeated offset within 3 s with
   * timeout < 3 waits 3 s, and within 0.5 s returns at most one update.
   */
  pollThrottle: boolean;
  /** Pause before re-delivering an update whose webhook call failed. */
  webhookRetryMs: number;
  webhookTimeoutMs: number;
  /** Epoch milliseconds; a manual clock moves message dates, the answer window and flood limits. */
  now: () => number;
  /** Called after every settled call, e.g. to print a log. */
  onCall?: (call: FakeCall) => void;
}

/** Options to start a fake with: any subset, nested ones included. */
export type FakeTelegramOverrides = Partial<Omit<FakeTelegramOptions, 'bot' | 'flood'>> & {
  bot?: Partial<FakeBotIdentity>;
  flood?: Partial<FloodLimits> | false;
};

/** One Bot API call as the fake saw and answered it. */
export interface FakeCall {
  /** The method as the client spelled it. */
  readonly method: string;
  /** Parameters as sent: JSON values for JSON bodies, strings for forms and query strings. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Parameters as the server reads them: every value a string, objects JSON-encoded. */
  readonly args: Readonly<Record<string, string>>;
  /** Epoch milliseconds (options.now) of arrival. */
  readonly at: number;
  readonly transport: FakeTransport;
  /** The chat the call addressed, once resolved. */
  chatId?: number;
  readonly uploads: FakeUploadPart[];
  /** File parts no parameter refers to, so the API never reads them (see telegraf's reply_parameters quirk). */
  ignoredFileParts: string[];
  /** HTTP status; 0 while the call is in flight. */
  status: number;
  ok?: boolean;
  description?: string;
  parameters?: ResponseParameters;
  result?: unknown;
}

/** A chat message as it stands now. */
export interface FakeChatMessage {
  readonly message_id: number;
  readonly fromBot: boolean;
  readonly from?: User;
  readonly date: number;
  readonly edit_date?: number;
  readonly text?: string;
  readonly caption?: string;
  readonly entities?: MessageEntity[];
  readonly caption_entities?: MessageEntity[];
  readonly reply_markup?: InlineKeyboardMarkup;
  readonly reply_to_message_id?: number;
  readonly media?: { readonly kind: FileKind; readonly file: FakeFile };
  /** The whole message as the API would return it now. */
  readonly message: Message;
}

/** One answerCallbackQuery that the fake accepted. */
export interface FakeCallbackAnswer {
  readonly callback_query_id: string;
  readonly text?: string;
  readonly show_alert: boolean;
  readonly url?: string;
  readonly cache_time: number;
  readonly at: number;
  /** Milliseconds between the tap and the answer. */
  readonly afterMs: number;
  readonly query: CallbackQuery;
}

/** One sendChatAction that the fake accepted. */
export interface FakeChatAction {
  readonly chat_id: number;
  readonly action: string;
  readonly at: number;
}

/** A command list stored by setMyCommands for one scope and language. */
export interface FakeCommandSet {
  readonly scope: BotCommandScope;
  /** '' for all languages without a dedicated list. */
  readonly language_code: string;
  readonly commands: BotCommand[];
}

/** Video metadata a sender claims; unset fields come from addFile, then from the file's MP4 header. */
export interface MediaMeta {
  readonly width?: number;
  readonly height?: number;
  readonly duration?: number;
  /** Diameter of a video note. */
  readonly length?: number;
  readonly mime_type?: string;
  readonly file_name?: string;
}

/** A file added with addFile, optionally with what the sending client claims about it. */
export type MediaInput = FakeFile | (MediaMeta & { readonly file: FakeFile });

/** What a simulated user sends. */
export interface UserMessageContent {
  readonly text?: string;
  /** Extra entities; bot commands, mentions, links and hashtags are detected anyway. */
  readonly entities?: MessageEntity[];
  readonly video?: MediaInput;
  readonly animation?: MediaInput;
  readonly video_note?: MediaInput;
  readonly document?: MediaInput;
  readonly caption?: string;
  readonly reply_to_message_id?: number;
}

/** Options of addFile: what the server knows about the file besides its bytes. */
export interface AddFileOptions extends MediaMeta {
  /** Defaults to 'video' for video MIME types, else 'document'. */
  readonly kind?: FileKind;
}

/** Enough of a message to find it: any Message object will do. */
export interface MessageRef {
  readonly message_id: number;
  readonly chat: { readonly id: number };
}

/** A running fake and the state tests inspect. */
export interface FakeTelegram {
  /** `http://127.0.0.1:PORT`, for telegraf's `telegram: { apiRoot }`. */
  readonly apiRoot: string;
  readonly token: string;
  /** What getMe returns. */
  readonly bot: BotUser;
  readonly options: FakeTelegramOptions;
  /** Every call, in arrival order. */
  readonly calls: FakeCall[];
  /** Every update the fake queued, in order (hidden group messages never become updates). */
  readonly updates: Update[];
  readonly callbackAnswers: FakeCallbackAnswer[];
  readonly chatActions: FakeChatAction[];
  /** The command lists currently stored. */
  readonly commands: FakeCommandSet[];
  /** The command list for a scope (default: `{ type: 'default' }`) and language ('' by default). */
  commandsFor(scope?: BotCommandScope, languageCode?: string): BotCommand[] | undefined;
  /** What getWebhookInfo would answer now. */
  webhookInfo(): WebhookInfo;
  /** Updates not yet confirmed by getUpdates or delivered to the webhook. */
  pendingUpdates(): Update[];
  /** A chat's current messages, oldest first; deleted ones are gone. */
  messages(chatId: number): FakeChatMessage[];
  /** One message of a chat as it stands now, or undefined when it does not exist (any more). */
  message(chatId: number, messageId: number): FakeChatMessage | undefined;
  /** A file the fake knows, by file_id. */
  fileOf(fileId: string): FakeFile | undefined;
  /** Registers a file (read in place when given a path) as if Telegram stored it. */
  addFile(source: string | Buffer, options?: AddFileOptions): Promise<FakeFile>;
  /** Makes a chat known to the API, so the bot may write to it. */
  addChat(chat: Chat): Chat;
  /** A user with a fresh id; language_code defaults to 'en'. */
  user(init?: Partial<Omit<User, 'is_bot'>>): User;
  /** The private chat between the bot and a user. */
  privateChat(user: User): Chat;
  /** A supergroup with a fresh `-100…` id. */
  supergroup(title: string, init?: Partial<Omit<Chat, 'type' | 'title'>>): Chat;
  /** Posts a message from a user and queues its update (unless privacy mode hides it); returns the message. */
  userSends(chat: Chat, from: User, content: UserMessageContent): Message;
  /** Taps an inline button of a bot message and queues the callback_query update; returns the query. */
  userTaps(message: MessageRef, from: User, data: string): CallbackQuery;
  /** Answers the next `count` calls (of `method`, or of any method but getUpdates) with 429. */
  inject429(spec: { method?: string; count: number; retryAfterSec: number }): void;
  /** Resolves with the first settled call from `afterIndex` on that matches, or rejects after `timeoutMs`. */
  waitForCall(
    match: string | ((call: FakeCall) => boolean),
    options?: { afterIndex?: number; timeoutMs?: number },
  ): Promise<FakeCall>;
  /** Resolves once a getUpdates long poll is waiting, or rejects after `timeoutMs`. */
  waitForPolling(timeoutMs?: number): Promise<void>;
  /** Stops timers and webhook delivery, answers waiting polls, closes connections and deletes the fake's files. */
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

const defaultFlood = {
  perChatPerSec: 1,
  perChatBurst: 10,
  perGroupPerMin: 20,
  globalPerSec: 30,
  countEdits: true,
} as const satisfies FloodLimits;

const defaultBot = {
  first_name: 'Restyle Test Bot',
  username: 'RestyleTestBot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
} as const satisfies FakeBotIdentity;

const defaultOptions = {
  port: 0,
  // Not shaped like a real token (an 8–10 digit id and a 35-character secret), so secret scanners ignore it.
  token: '123456:TEST-fake-token-abcdefghijklmnopqrstu',
  maxUploadBytes: 50 * MiB,
  maxDownloadBytes: 20 * MiB,
  maxUrlDownloadBytes: 20 * MiB,
  fileDelayMs: 0,
  localMode: false,
  callbackAnswerWindowMs: 15_000,
  pollThrottle: true,
  webhookRetryMs: 500,
  webhookTimeoutMs: 10_000,
  now: Date.now,
} as const satisfies Omit<FakeTelegramOptions, 'bot' | 'flood'>;

const LONG_POLL_MAX_TIMEOUT_SEC = 50;
const MAX_TEXT_LENGTH = 4096;
const MAX_CAPTION_LENGTH = 1024;
const MAX_RAW_TEXT_BYTES = 1 << 15;
const DEFAULT_UPDATE_KINDS: readonly UpdateKind[] = ['message', 'edited_message', 'callback_query'];
const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

interface ChatState {
  chat: Chat;
  nextMessageId: number;
  readonly messages: Map<number, StoredMessage>;
  readonly chatInstance: string;
  /** Unset until the chat's first counted message: a fresh bucket is full. */
  bucket?: { tokens: number; at: number };
  recentSends: number[];
}

interface StoredMessage {
  message: Message;
  readonly fromBot: boolean;
  readonly media?: { readonly kind: FileKind; readonly file: FakeFile };
}

interface PendingQuery {
  readonly query: CallbackQuery;
  readonly tappedAt: number;
  answered: boolean;
}

interface Invocation {
  readonly args: Record<string, string>;
  readonly files: Map<string, ReceivedFile>;
  readonly call: FakeCall;
  readonly consumed: Set<string>;
  readonly signal: AbortSignal;
}

type Handler = (inv: Invocation) => unknown;

interface LongPoll {
  readonly offset: number;
  readonly limit: number;
  readonly resolve: (updates: Update[]) => void;
  readonly reject: (error: ApiError) => void;
  wake?: NodeJS.Timeout;
}

interface Webhook {
  readonly url: string;
  readonly secretToken?: string;
  readonly maxConnections: number;
  readonly ipAddress?: string;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

const clone = <T>(value: T): T => structuredClone(value);

/** The replied message as Message.reply_to_message carries it: without its own reply. */
const bare = (message: Message): Message => {
  const { reply_to_message: _dropped, ...rest } = clone(message);
  return rest;
};

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Starts a fake Telegram Bot API on 127.0.0.1 that the real telegraf client can talk to. */
export async function startFakeTelegram(overrides: FakeTelegramOverrides = {}): Promise<FakeTelegram> {
  const { bot: botOverrides, flood: floodOverrides, ...rest } = overrides;
  const options: FakeTelegramOptions = {
    ...defaultOptions,
    ...rest,
    bot: { ...defaultBot, ...botOverrides },
    flood: floodOverrides === false ? false : { ...defaultFlood, ...floodOverrides },
  };
  const workDir = await mkdtemp(join(tmpdir(), 'fake-telegram-'));
  const dirs = { uploads: join(workDir, 'uploads'), added: join(workDir, 'added') };
  await Promise.all(Object.values(dirs).map((dir) => mkdir(dir)));

  const lifetime = new AbortController();
  const now = () => options.now();
  const unixNow = () => Math.floor(now() / 1000);

  const calls: FakeCall[] = [];
  const updatesLog: Update[] = [];
  const callbackAnswers: FakeCallbackAnswer[] = [];
  const chatActions: FakeChatAction[] = [];
  const commandSets = new Map<string, FakeCommandSet>();
  const chats = new Map<number, ChatState>();
  const filesById = new Map<string, FakeFile>();
  const filesByPath = new Map<string, FakeFile>();
  const queries = new Map<string, PendingQuery>();
  const injections: { method?: string; remaining: number; retryAfterSec: number }[] = [];
  const listeners = new Set<() => void>();
  let globalBucket: { tokens: number; at: number } | undefined;
  let fileCount = 0;
  let userCount = 0;
  let groupCount = 0;
  let nextUpdateId = 400_000_001;
  let nextQueryId = 4_611_686_018_427_387_904n;
  let pending: Update[] = [];
  let allowedUpdates: readonly string[] = DEFAULT_UPDATE_KINDS;
  let poll: LongPoll | undefined;
  let previousPoll: { offset: number; at: number } | undefined;
  let webhook: Webhook | undefined;
  let nextSetWebhookAt = 0;
  let delivering: Promise<void> | undefined;
  let closed = false;

  const notify = () => {
    for (const listener of [...listeners]) listener();
  };

  const botId = () => toInteger(options.token);
  const botUser = (): BotUser => ({
    id: botId(),
    is_bot: true,
    first_name: options.bot.first_name,
    username: options.bot.username,
    can_join_groups: options.bot.can_join_groups,
    can_read_all_group_messages: options.bot.can_read_all_group_messages,
    supports_inline_queries: options.bot.supports_inline_queries,
    can_connect_to_business: false,
    has_main_web_app: false,
  });
  const botAsSender = (): User => ({
    id: botId(),
    is_bot: true,
    first_name: options.bot.first_name,
    username: options.bot.username,
  });

  // ---- chats and messages ----

  const ensureChat = (chat: Chat): ChatState => {
    let state = chats.get(chat.id);
    if (!state) {
      state = {
        chat: clone(chat),
        nextMessageId: 1,
        messages: new Map(),
        chatInstance: String(BigInt.asIntN(64, BigInt(`0x${randomBytes(8).toString('hex')}`))),
        recentSends: [],
      };
      chats.set(chat.id, state);
    }
    return state;
  };

  const post = (
    state: ChatState,
    from: User,
    fromBot: boolean,
    content: Partial<Message>,
    extra: { replyTo?: StoredMessage; markup?: InlineKeyboardMarkup; media?: StoredMessage['media'] } = {},
  ): StoredMessage => {
    const message: Message = {
      message_id: state.nextMessageId,
      from: clone(from),
      chat: clone(state.chat),
      date: unixNow(),
      ...(extra.replyTo ? { reply_to_message: bare(extra.replyTo.message) } : {}),
      ...content,
      ...(extra.markup ? { reply_markup: extra.markup } : {}),
    };
    state.nextMessageId += 1;
    const stored: StoredMessage = { message, fromBot, ...(extra.media ? { media: extra.media } : {}) };
    state.messages.set(message.message_id, stored);
    return stored;
  };

  const view = (stored: StoredMessage): FakeChatMessage => {
    const m = clone(stored.message);
    return {
      message_id: m.message_id,
      fromBot: stored.fromBot,
      ...(m.from ? { from: m.from } : {}),
      date: m.date,
      ...(m.edit_date !== undefined ? { edit_date: m.edit_date } : {}),
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(m.caption !== undefined ? { caption: m.caption } : {}),
      ...(m.entities ? { entities: m.entities } : {}),
      ...(m.caption_entities ? { caption_entities: m.caption_entities } : {}),
      ...(m.reply_markup ? { reply_markup: m.reply_markup } : {}),
      ...(m.reply_to_message ? { reply_to_message_id: m.reply_to_message.message_id } : {}),
      ...(stored.media ? { media: stored.media } : {}),
      message: m,
    };
  };

  // ---- updates ----

  const takeBatch = (offset: number, limit: number): Update[] =>
    pending.filter((u) => u.update_id >= offset).slice(0, limit);

  const enqueue = (body: Omit<Update, 'update_id'>) => {
    const kind = Object.keys(body)[0] as UpdateKind;
    if (!allowedUpdates.includes(kind)) return;
    const update = { update_id: nextUpdateId, ...clone(body) } as Update;
    nextUpdateId += 1;
    pending.push(update);
    updatesLog.push(clone(update));
    if (webhook) void deliver();
    else if (poll && !poll.wake) {
      const waiting = poll;
      // Like the real server, linger a moment so updates created together come in one answer.
      waiting.wake = setTimeout(() => {
        if (poll !== waiting) return;
        poll = undefined;
        waiting.resolve(takeBatch(waiting.offset, waiting.limit));
      }, 2);
    }
  };

  const abortPoll = (error: ApiError | undefined) => {
    const waiting = poll;
    if (!waiting) return;
    poll = undefined;
    if (waiting.wake) clearTimeout(waiting.wake);
    if (error) waiting.reject(error);
    else waiting.resolve([]);
  };

  const setAllowedUpdates = (inv: Invocation) => {
    const raw = inv.args.allowed_updates;
    if (raw === undefined || raw === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return;
    }
    if (!Array.isArray(value)) return;
    const kinds = value.filter((v): v is string => typeof v === 'string');
    allowedUpdates = kinds.length === 0 ? DEFAULT_UPDATE_KINDS : kinds;
  };

  // ---- webhook delivery ----

  const runWebhookReply = async (body: string, contentType: string | null) => {
    if (!contentType?.includes('json') || body.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return;
    const { method, ...params } = parsed as Record<string, unknown>;
    if (typeof method !== 'string') return;
    const args: Record<string, string> = {};
    for (const [key, value] of Object.entries(params)) {
      const text = argString(value);
      if (text !== undefined) args[key] = text;
    }
    await invoke(method, params, args, new Map(), 'webhook-reply', lifetime.signal);
  };

  const deliverLoop = async (): Promise<void> => {
    while (webhook && pending.length > 0 && !closed) {
      const hook = webhook;
      const update = pending[0]!;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (hook.secretToken) headers['x-telegram-bot-api-secret-token'] = hook.secretToken;
      let failure: string | undefined;
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers,
          body: JSON.stringify(update),
          signal: AbortSignal.any([lifetime.signal, AbortSignal.timeout(options.webhookTimeoutMs)]),
        });
        const body = await res.text();
        if (res.ok) {
          if (pending[0] === update) pending.shift();
          await runWebhookReply(body, res.headers.get('content-type'));
        } else failure = `Wrong response from the webhook: ${res.status} ${res.statusText}`;
      } catch (error) {
        if (closed) return;
        failure =
          error instanceof Error && error.name === 'TimeoutError'
            ? 'Read timeout expired'
            : `Connection refused: ${error instanceof Error ? error.message : String(error)}`;
      }
      if (failure !== undefined) {
        hook.lastErrorDate = unixNow();
        hook.lastErrorMessage = failure;
        await sleep(options.webhookRetryMs, undefined, { signal: lifetime.signal }).catch(() => undefined);
      }
    }
  };

  /** Delivers pending updates one at a time, in order, while a webhook is set. */
  const deliver = (): Promise<void> => {
    delivering ??= deliverLoop().finally(() => {
      delivering = undefined;
      // An update queued while the loop was finishing would otherwise wait for the next one.
      if (webhook && pending.length > 0 && !closed) void deliver();
    });
    return delivering;
  };

  // ---- parameters ----

  const arg = (inv: Invocation, name: string): string | undefined => {
    const value = inv.args[name];
    return value === undefined || value === '' ? undefined : value;
  };

  const intArg = (inv: Invocation, name: string, fallback = 0, min = 0, max = 2 ** 31 - 1): number => {
    const raw = arg(inv, name);
    const value = raw === undefined ? fallback : toInteger(raw);
    return Math.min(max, Math.max(min, value));
  };

  const findChat = (raw: string): ChatState | undefined => {
    if (raw.startsWith('@')) {
      const name = raw.slice(1).toLowerCase();
      return [...chats.values()].find((c) => c.chat.username?.toLowerCase() === name);
    }
    return chats.get(toInteger(raw));
  };

  const chatOf = (inv: Invocation, name = 'chat_id', emptyMessage = 'chat_id is empty'): ChatState => {
    const raw = arg(inv, name);
    if (raw === undefined) throw bad(emptyMessage);
    const state = findChat(raw);
    if (!state) throw bad('chat not found');
    if (name === 'chat_id') inv.call.chatId = state.chat.id;
    return state;
  };

  const parseEntities = (inv: Invocation, name: string): MessageEntity[] | undefined => {
    const raw = arg(inv, name);
    if (raw === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw bad(`can't parse entities JSON object: ${error instanceof Error ? error.message : ''}`);
    }
    if (!Array.isArray(value)) throw bad("can't parse entities JSON object");
    return value as MessageEntity[];
  };

  const formatted = (inv: Invocation, field: 'text' | 'caption', entitiesField: string): FormattedText => {
    const raw = inv.args[field] ?? '';
    if (Buffer.byteLength(raw) > MAX_RAW_TEXT_BYTES) throw bad('text is too long');
    const mode = arg(inv, 'parse_mode');
    const parseMode = raw === '' || mode === undefined || mode.toLowerCase() === 'none' ? undefined : mode;
    try {
      return formatOutgoing(raw, parseMode, parseEntities(inv, entitiesField));
    } catch (error) {
      if (error instanceof EntityParseError) throw bad(error.message);
      throw error;
    }
  };

  /** The message a new message replies to, following the server: reply_parameters wins when present. */
  const replyTarget = (inv: Invocation, state: ChatState): StoredMessage | undefined => {
    let messageId: number;
    let allowWithout: boolean;
    let otherChat: string | undefined;
    if ('reply_parameters' in inv.args) {
      const raw = inv.args.reply_parameters!;
      if (raw === '') return undefined;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        throw bad("Can't parse reply parameters JSON object");
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        throw bad('Object expected as reply parameters');
      }
      const params = value as Record<string, unknown>;
      if (Object.keys(params).length === 0) return undefined;
      if (params.message_id === undefined) throw bad('Can\'t find field "message_id"');
      const id = typeof params.message_id === 'string' ? toInteger(params.message_id) : params.message_id;
      if (typeof id !== 'number' || !Number.isInteger(id))
        throw bad('Field "message_id" must be of type Number');
      messageId = id;
      allowWithout = params.allow_sending_without_reply === true;
      otherChat = params.chat_id === undefined ? undefined : String(params.chat_id);
    } else {
      messageId = intArg(inv, 'reply_to_message_id');
      allowWithout = toBool(inv.args.allow_sending_without_reply);
    }
    if (messageId <= 0) return undefined;
    const target = otherChat === undefined ? state : findChat(otherChat);
    if (!target) throw bad('chat not found');
    const replied = target === state ? state.messages.get(messageId) : undefined;
    if (!replied) {
      if (allowWithout) return undefined;
      throw bad('message to be replied not found');
    }
    return replied;
  };

  // ---- flood control ----

  const refill = (
    bucket: { tokens: number; at: number } | undefined,
    perSec: number,
    capacity: number,
    t: number,
  ) => (bucket ? Math.min(capacity, bucket.tokens + ((t - bucket.at) / 1000) * perSec) : capacity);

  const checkFlood = (state: ChatState, kind: 'send' | 'edit') => {
    const limits = options.flood;
    if (!limits || (kind === 'edit' && !limits.countEdits)) return;
    const t = now();
    const isGroup = state.chat.type === 'group' || state.chat.type === 'supergroup';
    const chatTokens = refill(state.bucket, limits.perChatPerSec, limits.perChatBurst, t);
    const globalTokens = refill(globalBucket, limits.globalPerSec, limits.globalPerSec, t);
    const recent = state.recentSends.filter((at) => at > t - 60_000);
    let waitSec = 0;
    if (chatTokens < 1) waitSec = Math.max(waitSec, (1 - chatTokens) / limits.perChatPerSec);
    if (globalTokens < 1) waitSec = Math.max(waitSec, (1 - globalTokens) / limits.globalPerSec);
    if (isGroup && recent.length >= limits.perGroupPerMin) {
      waitSec = Math.max(waitSec, (recent[0]! + 60_000 - t) / 1000);
    }
    if (waitSec > 0) throw tooMany(Math.max(1, Math.ceil(waitSec)));
    state.bucket = { tokens: chatTokens - 1, at: t };
    globalBucket = { tokens: globalTokens - 1, at: t };
    state.recentSends = isGroup ? [...recent, t] : [];
  };

  // ---- files ----

  const registerFile = (
    kind: FileKind,
    path: string,
    sizeBytes: number,
    meta: { mime_type?: string; file_name?: string; width?: number; height?: number; duration?: number },
  ): FakeFile => {
    fileCount += 1;
    const file: FakeFile = {
      ...newFileIds(kind),
      file_size: sizeBytes,
      file_path: filePathFor(kind, fileCount, extensionFor(meta.file_name, meta.mime_type)),
      path,
      kind,
      ...(meta.mime_type !== undefined ? { mime_type: meta.mime_type } : {}),
      ...(meta.file_name !== undefined ? { file_name: meta.file_name } : {}),
      ...(meta.width !== undefined ? { width: meta.width } : {}),
      ...(meta.height !== undefined ? { height: meta.height } : {}),
      ...(meta.duration !== undefined ? { duration: meta.duration } : {}),
    };
    filesById.set(file.file_id, file);
    filesByPath.set(file.file_path, file);
    return file;
  };

  const probedMeta = async (path: string, mime: string | undefined) => {
    if (!isMp4Like(mime)) return {};
    const facts = await probeMp4(path).catch(() => undefined);
    return facts ? { width: facts.width, height: facts.height, duration: Math.round(facts.durationSec) } : {};
  };

  type InputSource = { readonly existing: FakeFile } | { readonly received: ReceivedFile };

  const fetchUrl = async (inv: Invocation, field: string, url: string): Promise<ReceivedFile> => {
    const path = join(dirs.uploads, randomUUID());
    let sizeBytes = 0;
    const heads: Buffer[] = [];
    let contentType: string | undefined;
    try {
      const res = await fetch(url, { signal: AbortSignal.any([inv.signal, AbortSignal.timeout(30_000)]) });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      contentType = res.headers.get('content-type') ?? undefined;
      const limit = options.maxUrlDownloadBytes;
      const counted = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream).map(
        (chunk: Buffer) => {
          sizeBytes += chunk.length;
          if (sizeBytes > limit) throw new Error('too big');
          if (heads.length < 4) heads.push(chunk);
          return chunk;
        },
      );
      await pipeline(counted, createWriteStream(path));
    } catch {
      await rm(path, { force: true });
      throw bad('failed to get HTTP URL content');
    }
    const fileName = basename(new URL(url).pathname) || 'file';
    const received: ReceivedFile = {
      field,
      fileName,
      ...(contentType !== undefined ? { contentType } : {}),
      path,
      sizeBytes,
      head: Buffer.concat(heads).subarray(0, 64),
    };
    inv.call.uploads.push({
      field,
      fileName,
      ...(contentType !== undefined ? { contentType } : {}),
      path,
      sizeBytes,
    });
    return received;
  };

  /** Resolves an InputFile parameter: an upload (direct or attach://), a file_id, or an HTTP URL. */
  const inputFile = async (inv: Invocation, field: string, label: string): Promise<InputSource> => {
    const raw = arg(inv, field);
    let partName = field;
    if (raw !== undefined) {
      if (raw.startsWith('attach://')) partName = raw.slice('attach://'.length);
      else if (/^https?:\/\//i.test(raw)) return { received: await fetchUrl(inv, field, raw) };
      else {
        const existing = filesById.get(raw);
        if (!existing) throw bad('wrong file identifier/HTTP URL specified');
        return { existing };
      }
    }
    const part = inv.files.get(partName);
    if (!part) throw bad(`There is no ${label} in the request`);
    inv.consumed.add(partName);
    if (part.sizeBytes === 0) throw bad('file must be non-empty');
    return { received: part };
  };

  const consumeThumbnail = (inv: Invocation) => {
    for (const name of ['thumbnail', 'thumb']) {
      const raw = inv.args[name];
      inv.consumed.add(raw?.startsWith('attach://') ? raw.slice('attach://'.length) : name);
    }
  };

  // ---- methods ----

  const sendText: Handler = (inv) => {
    if ((inv.args.text ?? '') === '') throw bad('Message text is empty');
    const text = formatted(inv, 'text', 'entities');
    if (text.text === '') throw bad('Message text is empty');
    if (text.text.length > MAX_TEXT_LENGTH) throw bad('message is too long');
    const markup = parseReplyMarkup(arg(inv, 'reply_markup'));
    const state = chatOf(inv);
    const replyTo = replyTarget(inv, state);
    checkFlood(state, 'send');
    const content: Partial<Message> = {
      text: text.text,
      ...(text.entities.length ? { entities: text.entities } : {}),
    };
    return clone(
      post(state, botAsSender(), true, content, {
        ...(replyTo ? { replyTo } : {}),
        ...(markup ? { markup } : {}),
      }).message,
    );
  };

  const captionOf = (inv: Invocation): Partial<Message> => {
    const caption = formatted(inv, 'caption', 'caption_entities');
    if (caption.text.length > MAX_CAPTION_LENGTH) throw bad('message caption is too long');
    if (caption.text === '') return {};
    return {
      caption: caption.text,
      ...(caption.entities.length ? { caption_entities: caption.entities } : {}),
    };
  };

  const mediaObject = (kind: FileKind, file: FakeFile, meta: MediaMeta): Record<string, unknown> => {
    const ids = { file_id: file.file_id, file_unique_id: file.file_unique_id };
    const name = meta.file_name ?? file.file_name;
    const mime = meta.mime_type ?? file.mime_type;
    const described = {
      ...(name !== undefined ? { file_name: name } : {}),
      ...(mime !== undefined ? { mime_type: mime } : {}),
      file_size: file.file_size,
    };
    switch (kind) {
      case 'video':
      case 'animation':
        return {
          ...ids,
          width: meta.width ?? file.width ?? 0,
          height: meta.height ?? file.height ?? 0,
          duration: meta.duration ?? file.duration ?? 0,
          ...described,
        };
      case 'video_note':
        return {
          ...ids,
          length: meta.length ?? meta.width ?? file.width ?? 0,
          duration: meta.duration ?? file.duration ?? 0,
          file_size: file.file_size,
        };
      case 'document':
        return { ...ids, ...described };
    }
  };

  /** The message fields that show a file of a kind; animations also carry `document`. */
  const mediaFields = (kind: FileKind, file: FakeFile, meta: MediaMeta): Partial<Message> => {
    const object = mediaObject(kind, file, meta);
    if (kind === 'animation') {
      return {
        animation: object as unknown as Message['animation'],
        document: mediaObject('document', file, meta) as unknown as Message['document'],
      };
    }
    return { [kind]: object } as Partial<Message>;
  };

  const sendMedia =
    (requested: FileKind, label: string): Handler =>
    async (inv) => {
      const source = await inputFile(inv, requested, label);
      consumeThumbnail(inv);
      const caption = requested === 'video_note' ? {} : captionOf(inv);
      const markup = parseReplyMarkup(arg(inv, 'reply_markup'));
      const state = chatOf(inv);
      const replyTo = replyTarget(inv, state);
      let file: FakeFile;
      let kind: FileKind;
      if ('existing' in source) {
        file = source.existing;
        kind =
          requested === 'document' || isMp4Like(file.mime_type) || file.kind === requested
            ? requested
            : 'document';
      } else {
        const part = source.received;
        const mime = sniffMime(part.head, part.fileName) ?? part.contentType ?? 'application/octet-stream';
        const playable = isMp4Like(mime) || (requested === 'animation' && mime === 'image/gif');
        kind = requested === 'document' || playable ? requested : 'document';
        const probed = await probedMeta(part.path, mime);
        file = registerFile(kind, part.path, part.sizeBytes, {
          mime_type: mime,
          file_name: part.fileName,
          ...probed,
        });
      }
      const meta: MediaMeta = {
        ...(arg(inv, 'width') !== undefined ? { width: intArg(inv, 'width') } : {}),
        ...(arg(inv, 'height') !== undefined ? { height: intArg(inv, 'height') } : {}),
        ...(arg(inv, 'duration') !== undefined ? { duration: intArg(inv, 'duration') } : {}),
        ...(arg(inv, 'length') !== undefined ? { length: intArg(inv, 'length') } : {}),
      };
      checkFlood(state, 'send');
      const content: Partial<Message> = {
        ...mediaFields(kind, file, meta),
        ...caption,
        ...(toBool(inv.args.has_spoiler) ? { has_media_spoiler: true as const } : {}),
      };
      return clone(
        post(state, botAsSender(), true, content, {
          ...(replyTo ? { replyTo } : {}),
          ...(markup ? { markup } : {}),
          media: { kind, file },
        }).message,
      );
    };

  const editTarget = (inv: Invocation): { state: ChatState; stored: StoredMessage } => {
    const chatId = arg(inv, 'chat_id');
    const messageId = intArg(inv, 'message_id');
    if (chatId === undefined && messageId === 0) {
      if (arg(inv, 'inline_message_id') === undefined) throw bad('Message identifier is not specified');
      throw bad('MESSAGE_ID_INVALID');
    }
    const state = chatOf(inv);
    const stored = messageId > 0 ? state.messages.get(messageId) : undefined;
    if (!stored) throw bad('message to edit not found');
    if (!stored.fromBot) throw bad("message can't be edited");
    return { state, stored };
  };

  const applyEdit = (
    state: ChatState,
    stored: StoredMessage,
    changes: Partial<Message>,
    markup?: InlineKeyboardMarkup,
  ) => {
    const message = { ...stored.message, ...changes, edit_date: unixNow() };
    for (const key of Object.keys(changes) as (keyof Message)[]) {
      if (changes[key] === undefined) delete message[key];
    }
    if (markup) message.reply_markup = markup;
    else delete message.reply_markup;
    stored.message = message;
    state.messages.set(message.message_id, stored);
    return clone(message);
  };

  const editText: Handler = (inv) => {
    if ((inv.args.text ?? '') === '') throw bad('Message text is empty');
    const text = formatted(inv, 'text', 'entities');
    if (text.text === '') throw bad('Message text is empty');
    if (text.text.length > MAX_TEXT_LENGTH) throw bad('message is too long');
    const markup = parseReplyMarkup(arg(inv, 'reply_markup'));
    const { state, stored } = editTarget(inv);
    if (stored.message.text === undefined) throw bad('there is no text in the message to edit');
    const entities = text.entities.length ? text.entities : undefined;
    if (
      stored.message.text === text.text &&
      sameJson(stored.message.entities, entities) &&
      sameJson(stored.message.reply_markup, markup)
    ) {
      throw bad(NOT_MODIFIED);
    }
    checkFlood(state, 'edit');
    return applyEdit(state, stored, { text: text.text, entities }, markup);
  };

  const editCaption: Handler = (inv) => {
    const caption = captionOf(inv);
    const markup = parseReplyMarkup(arg(inv, 'reply_markup'));
    const { state, stored } = editTarget(inv);
    if (!stored.media) throw bad('there is no caption in the message to edit');
    if (
      sameJson(stored.message.caption, caption.caption) &&
      sameJson(stored.message.caption_entities, caption.caption_entities) &&
      sameJson(stored.message.reply_markup, markup)
    ) {
      throw bad(NOT_MODIFIED);
    }
    checkFlood(state, 'edit');
    return applyEdit(
      state,
      stored,
      { caption: caption.caption, caption_entities: caption.caption_entities },
      markup,
    );
  };

  const editMarkup: Handler = (inv) => {
    const markup = parseReplyMarkup(arg(inv, 'reply_markup'));
    const { state, stored } = editTarget(inv);
    if (sameJson(stored.message.reply_markup, markup)) throw bad(NOT_MODIFIED);
    checkFlood(state, 'edit');
    return applyEdit(state, stored, {}, markup);
  };

  const deleteMessage: Handler = (inv) => {
    if (arg(inv, 'chat_id') === undefined) throw bad('Chat identifier is not specified');
    const messageId = intArg(inv, 'message_id');
    if (messageId === 0) throw bad('Message identifier is not specified');
    const state = chatOf(inv);
    const stored = state.messages.get(messageId);
    if (!stored) throw bad('message to delete not found');
    // Bots delete their own messages anywhere and incoming ones in private chats; more needs admin rights.
    if (!stored.fromBot && state.chat.type !== 'private') throw bad("message can't be deleted");
    state.messages.delete(messageId);
    return true;
  };

  const copyOrForward =
    (mode: 'copy' | 'forward'): Handler =>
    (inv) => {
      const messageId = intArg(inv, 'message_id');
      const from = chatOf(inv, 'from_chat_id', 'from_chat_id is empty');
      const state = chatOf(inv);
      const source = messageId > 0 ? from.messages.get(messageId) : undefined;
      if (!source) throw bad(mode === 'copy' ? 'message to copy not found' : 'message to forward not found');
      const replyTo = mode === 'copy' ? replyTarget(inv, state) : undefined;
      const markup = mode === 'copy' ? parseReplyMarkup(arg(inv, 'reply_markup')) : undefined;
      const m = source.message;
      const caption = mode === 'copy' && 'caption' in inv.args ? captionOf(inv) : undefined;
      const content: Partial<Message> = {
        ...(m.text !== undefined ? { text: m.text, ...(m.entities ? { entities: m.entities } : {}) } : {}),
        ...(m.video ? { video: m.video } : {}),
        ...(m.animation ? { animation: m.animation } : {}),
        ...(m.document ? { document: m.document } : {}),
        ...(m.video_note ? { video_note: m.video_note } : {}),
        ...(caption ??
          (m.caption !== undefined
            ? { caption: m.caption, ...(m.caption_entities ? { caption_entities: m.caption_entities } : {}) }
            : {})),
        ...(mode === 'forward' && m.from
          ? { forward_origin: { type: 'user' as const, date: m.date, sender_user: m.from } }
          : {}),
      };
      checkFlood(state, 'send');
      const stored = post(state, botAsSender(), true, clone(content), {
        ...(replyTo ? { replyTo } : {}),
        ...(markup ? { markup } : {}),
        ...(source.media ? { media: source.media } : {}),
      });
      return mode === 'copy' ? { message_id: stored.message.message_id } : clone(stored.message);
    };

  const getUpdates: Handler = (inv) => {
    if (webhook) {
      throw conflict(
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    let offset = intArg(inv, 'offset', 0, -(2 ** 31), 2 ** 31 - 1);
    let limit = intArg(inv, 'limit', 100, 1, 100);
    let timeoutSec = intArg(inv, 'timeout', 0, 0, LONG_POLL_MAX_TIMEOUT_SEC);
    setAllowedUpdates(inv);
    const t = now();
    if (options.pollThrottle && previousPoll?.offset === offset) {
      if (timeoutSec < 3 && t < previousPoll.at + 3000) timeoutSec = 3;
      if (t < previousPoll.at + 500) limit = 1;
    }
    previousPoll = { offset, at: t };
    if (offset < 0) pending = pending.slice(offset);
    if (offset <= 0) offset = pending[0]?.update_id ?? nextUpdateId;
    // Asking from an offset confirms every update before it.
    pending = pending.filter((u) => u.update_id >= offset);
    const batch = takeBatch(offset, limit);
    if (batch.length > 0 || timeoutSec === 0) return clone(batch);
    abortPoll(
      conflict(
        'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      ),
    );
    return new Promise<Update[]>((resolve, reject) => {
      const waiting: LongPoll = {
        offset,
        limit,
        resolve: (updates) => {
          clearTimeout(timer);
          inv.signal.removeEventListener('abort', onAbort);
          resolve(clone(updates));
        },
        reject: (error) => {
          clearTimeout(timer);
          inv.signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        if (poll === waiting) abortPoll(undefined);
      }, timeoutSec * 1000);
      const onAbort = () => {
        if (poll === waiting) abortPoll(undefined);
      };
      inv.signal.addEventListener('abort', onAbort, { once: true });
      poll = waiting;
      notify();
    });
  };

  const setWebhook: Handler = (inv) => {
    const url = arg(inv, 'url') ?? '';
    const t = now();
    if (url !== '') {
      if (t < nextSetWebhookAt) throw tooMany(1);
      nextSetWebhookAt = t + 1000;
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw bad('bad webhook: invalid webhook URL specified');
      }
      // The real API insists on HTTPS; the fake also takes plain HTTP so tests can listen on loopback.
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
        throw bad('bad webhook: An HTTPS URL must be provided for webhook');
      }
    }
    const secretToken = arg(inv, 'secret_token');
    if (secretToken !== undefined) {
      if (secretToken.length > 256) throw bad('secret token is too long');
      if (!/^[A-Za-z0-9_-]+$/.test(secretToken)) throw bad('secret token contains unallowed characters');
    }
    const dropPending = toBool(inv.args.drop_pending_updates);
    const maxConnections = intArg(inv, 'max_connections', 40, 1, 100);
    const unchanged =
      (webhook?.url ?? '') === url &&
      (url === '' ||
        (webhook?.secretToken === secretToken &&
          webhook?.maxConnections === maxConnections &&
          webhook?.ipAddress === arg(inv, 'ip_address')));
    setAllowedUpdates(inv);
    if (unchanged && !dropPending) {
      return new Described(true, url === '' ? 'Webhook is already deleted' : 'Webhook is already set');
    }
    if (dropPending) pending = [];
    if (url === '') {
      webhook = undefined;
      return new Described(true, 'Webhook was deleted');
    }
    abortPoll(conflict('Conflict: terminated by setWebhook request'));
    const ipAddress = arg(inv, 'ip_address');
    webhook = {
      url,
      maxConnections,
      ...(secretToken !== undefined ? { secretToken } : {}),
      ...(ipAddress !== undefined ? { ipAddress } : {}),
    };
    void deliver();
    return new Described(true, 'Webhook was set');
  };

  const webhookInfo = (): WebhookInfo => ({
    url: webhook?.url ?? '',
    has_custom_certificate: false,
    pending_update_count: pending.length,
    ...(webhook?.ipAddress !== undefined ? { ip_address: webhook.ipAddress } : {}),
    ...(webhook?.lastErrorDate !== undefined ? { last_error_date: webhook.lastErrorDate } : {}),
    ...(webhook?.lastErrorMessage !== undefined ? { last_error_message: webhook.lastErrorMessage } : {}),
    ...(webhook ? { max_connections: webhook.maxConnections } : {}),
    ...(allowedUpdates !== DEFAULT_UPDATE_KINDS ? { allowed_updates: [...allowedUpdates] } : {}),
  });

  const commandScope = (inv: Invocation): BotCommandScope => {
    const raw = arg(inv, 'scope');
    if (raw === undefined) return { type: 'default' };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw bad("Can't parse BotCommandScope JSON object");
    }
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw bad('BotCommandScope must be an Object');
    const scope = value as BotCommandScope;
    const types = [
      'default',
      'all_private_chats',
      'all_group_chats',
      'all_chat_administrators',
      'chat',
      'chat_administrators',
      'chat_member',
    ];
    if (!types.includes(scope.type)) throw bad("Can't parse BotCommandScope: Unsupported type specified");
    if (scope.type === 'chat' || scope.type === 'chat_administrators' || scope.type === 'chat_member') {
      if (scope.chat_id === undefined || !findChat(String(scope.chat_id))) throw bad('chat not found');
      return {
        type: scope.type,
        chat_id: scope.chat_id,
        ...(scope.type === 'chat_member' ? { user_id: Number(scope.user_id) } : {}),
      };
    }
    return { type: scope.type };
  };

  const commandKey = (scope: BotCommandScope, languageCode: string) =>
    `${scope.type}|${scope.chat_id ?? ''}|${scope.user_id ?? ''}|${languageCode}`;

  const languageOf = (inv: Invocation): string => {
    const code = inv.args.language_code ?? '';
    if (code !== '' && !/^[a-z]{2}$/.test(code)) throw bad('invalid language code specified');
    return code;
  };

  const setMyCommands: Handler = (inv) => {
    const raw = arg(inv, 'commands');
    let value: unknown = [];
    if (raw !== undefined) {
      try {
        value = JSON.parse(raw);
      } catch {
        throw bad("Can't parse commands JSON object");
      }
    }
    if (!Array.isArray(value)) throw bad('Expected an Array of BotCommand');
    if (value.length > 100) throw bad('too many commands specified');
    const commands: BotCommand[] = value.map((item: unknown) => {
      const c = (item ?? {}) as Record<string, unknown>;
      if (typeof c.command !== 'string')
        throw bad('Can\'t parse BotCommand: Field "command" must be of type String');
      if (typeof c.description !== 'string') {
        throw bad('Can\'t parse BotCommand: Field "description" must be of type String');
      }
      const command = c.command.startsWith('/') ? c.command.slice(1) : c.command;
      if (!/^[a-z0-9_]{1,32}$/.test(command)) throw bad('BOT_COMMAND_INVALID');
      if (c.description.trim().length === 0 || c.description.length > 256) {
        throw bad('BOT_COMMAND_DESCRIPTION_INVALID');
      }
      return { command, description: c.description };
    });
    const scope = commandScope(inv);
    const languageCode = languageOf(inv);
    const key = commandKey(scope, languageCode);
    if (commands.length === 0) commandSets.delete(key);
    else commandSets.set(key, { scope, language_code: languageCode, commands });
    return true;
  };

  const getMyCommands: Handler = (inv) => {
    const set = commandSets.get(commandKey(commandScope(inv), languageOf(inv)));
    return clone(set?.commands ?? []);
  };

  const deleteMyCommands: Handler = (inv) => {
    commandSets.delete(commandKey(commandScope(inv), languageOf(inv)));
    return true;
  };

  const answerCallbackQuery: Handler = (inv) => {
    const id = inv.args.callback_query_id ?? '';
    const entry = queries.get(id);
    const t = now();
    if (!entry || entry.answered || t - entry.tappedAt > options.callbackAnswerWindowMs) {
      throw bad('query is too old and response timeout expired or query ID is invalid');
    }
    entry.answered = true;
    const text = arg(inv, 'text');
    const url = arg(inv, 'url');
    callbackAnswers.push({
      callback_query_id: id,
      ...(text !== undefined ? { text } : {}),
      show_alert: toBool(inv.args.show_alert),
      ...(url !== undefined ? { url } : {}),
      cache_time: intArg(inv, 'cache_time', 0, 0, 24 * 30 * 60 * 60),
      at: t,
      afterMs: t - entry.tappedAt,
      query: clone(entry.query),
    });
    if (entry.query.message) inv.call.chatId = entry.query.message.chat.id;
    return true;
  };

  const sendChatAction: Handler = (inv) => {
    const action = (inv.args.action ?? '').toLowerCase();
    if (!CHAT_ACTIONS.has(action)) throw bad('Wrong parameter action in request');
    const state = chatOf(inv);
    chatActions.push({ chat_id: state.chat.id, action, at: now() });
    return true;
  };

  const getFile: Handler = (inv) => {
    const id = inv.args.file_id ?? '';
    if (id === '') throw bad('file_id not specified');
    const file = filesById.get(id);
    if (!file) throw bad('invalid file_id');
    if (file.file_size > (options.localMode ? 2000 * MiB : options.maxDownloadBytes))
      throw bad('file is too big');
    const result: File = {
      file_id: file.file_id,
      file_unique_id: file.file_unique_id,
      file_size: file.file_size,
      file_path: options.localMode ? file.path : file.file_path,
    };
    return result;
  };

  const getChat: Handler = (inv) => {
    const state = chatOf(inv);
    return { ...clone(state.chat), accent_color_id: 0, max_reaction_count: 11 };
  };

  const methods = new Map<string, Handler>(
    Object.entries({
      getMe: () => botUser(),
      getUpdates,
      setWebhook,
      deleteWebhook: (inv) => setWebhook({ ...inv, args: { ...inv.args, url: '' } }),
      getWebhookInfo: () => webhookInfo(),
      setMyCommands,
      getMyCommands,
      deleteMyCommands,
      sendMessage: sendText,
      editMessageText: editText,
      editMessageCaption: editCaption,
      editMessageReplyMarkup: editMarkup,
      deleteMessage,
      answerCallbackQuery,
      sendChatAction,
      getFile,
      getChat,
      sendVideo: sendMedia('video', 'video'),
      sendAnimation: sendMedia('animation', 'animation'),
      sendVideoNote: sendMedia('video_note', 'video note'),
      sendDocument: sendMedia('document', 'document'),
      copyMessage: copyOrForward('copy'),
      forwardMessage: copyOrForward('forward'),
    } satisfies Record<string, Handler>).map(([name, handler]) => [name.toLowerCase(), handler]),
  );

  // ---- dispatch ----

  const settle = (call: FakeCall, response: ApiResponse, status: number) => {
    call.status = status;
    call.ok = response.ok;
    if (response.ok) call.result = response.result;
    else {
      call.description = response.description;
      if (response.parameters) call.parameters = response.parameters;
    }
    if (response.ok && response.description !== undefined) call.description = response.description;
    options.onCall?.(call);
    notify();
  };

  const errorResponse = (error: ApiError): ApiResponse => ({
    ok: false,
    error_code: error.code,
    description: error.description,
    ...(error.parameters ? { parameters: error.parameters } : {}),
  });

  const invoke = async (
    methodName: string,
    params: Record<string, unknown>,
    args: Record<string, string>,
    files: Map<string, ReceivedFile>,
    transport: FakeTransport,
    signal: AbortSignal,
  ): Promise<{ status: number; response: ApiResponse }> => {
    const call: FakeCall = {
      method: methodName,
      params,
      args,
      at: now(),
      transport,
      uploads: [...files.values()].map(({ head: _head, ...part }) => part),
      ignoredFileParts: [],
      status: 0,
    };
    calls.push(call);
    const key = methodName.toLowerCase();
    const handler = methods.get(key);
    let status: number;
    let response: ApiResponse;
    const inv: Invocation = { args, files, call, consumed: new Set(), signal };
    try {
      if (!handler) throw new ApiError(404, 'Not Found');
      const injected = injections.find((i) =>
        i.method === undefined ? key !== 'getupdates' : i.method === key,
      );
      if (injected) {
        injected.remaining -= 1;
        if (injected.remaining <= 0) injections.splice(injections.indexOf(injected), 1);
        throw tooMany(injected.retryAfterSec);
      }
      const result = await handler(inv);
      status = 200;
      response =
        result instanceof Described
          ? { ok: true, result: result.result, description: result.description }
          : { ok: true, result };
    } catch (error) {
      if (!(error instanceof ApiError)) {
        status = 500;
        response = {
          ok: false,
          error_code: 500,
          description: `Internal Server Error: fake Telegram bug: ${error instanceof Error ? error.message : String(error)}`,
        };
      } else {
        status = error.code;
        response = errorResponse(error);
      }
    }
    call.ignoredFileParts = [...files.keys()].filter((name) => !inv.consumed.has(name));
    settle(call, response, status);
    return { status, response };
  };

  const respond = (res: ServerResponse, status: number, response: ApiResponse) => {
    if (res.writableEnded || res.destroyed) return;
    const text = JSON.stringify(response);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    };
    if (!response.ok && response.parameters?.retry_after !== undefined) {
      headers['retry-after'] = response.parameters.retry_after;
    }
    res.writeHead(status, headers);
    res.end(text);
  };

  const notFound = (): ApiResponse => ({ ok: false, error_code: 404, description: 'Not Found' });

  const serveFile = async (req: IncomingMessage, res: ServerResponse, token: string, filePath: string) => {
    await drain(req);
    const file = token === options.token ? filesByPath.get(filePath) : undefined;
    if (!file || file.file_size > options.maxDownloadBytes) return respond(res, 404, notFound());
    if (options.fileDelayMs > 0) await sleep(options.fileDelayMs);
    const { size } = await stat(file.path);
    res.writeHead(200, {
      'content-type': file.mime_type ?? 'application/octet-stream',
      'content-length': size,
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(createReadStream(file.path), res).catch(() => {
      // The client went away mid-download; nothing to answer.
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const fileRoute = /^\/file\/bot([^/]*)\/(.+)$/.exec(url.pathname);
    if (fileRoute && (req.method === 'GET' || req.method === 'HEAD')) {
      return serveFile(req, res, decodeURIComponent(fileRoute[1]!), decodeURIComponent(fileRoute[2]!));
    }
    const route = /^\/bot([^/]*)\/(?:test\/)?([^/]*)$/.exec(url.pathname);
    if (!route) {
      await drain(req);
      return respond(res, 404, notFound());
    }
    const token = decodeURIComponent(route[1]!);
    if (token !== options.token) {
      await drain(req);
      const malformed = !/^[1-9]\d*:[^/]+$/.test(token) || token.length > 80;
      return respond(res, 401, {
        ok: false,
        error_code: 401,
        description: malformed ? 'Unauthorized: invalid token specified' : 'Unauthorized',
      });
    }
    const aborted = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    const request = await readRequest(req, url, {
      uploadDir: dirs.uploads,
      maxUploadBytes: options.maxUploadBytes,
    });
    if ('error' in request) return respond(res, request.error.code, errorResponse(request.error));
    const { status, response } = await invoke(
      route[2]!,
      request.params,
      request.args,
      request.files,
      request.transport,
      aborted.signal,
    );
    respond(res, status, response);
  };

  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      respond(res, 500, {
        ok: false,
        error_code: 500,
        description: `Internal Server Error: fake Telegram bug: ${error instanceof Error ? error.message : String(error)}`,
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const apiRoot = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // ---- simulated users ----

  const mediaInput = (input: MediaInput): { file: FakeFile; meta: MediaMeta } =>
    'file' in input ? { file: input.file, meta: input } : { file: input, meta: {} };

  const isVisibleToBot = (state: ChatState, message: Message): boolean => {
    if (state.chat.type === 'private' || options.bot.can_read_all_group_messages) return true;
    if (message.reply_to_message?.from?.id === botId()) return true;
    const text = message.text ?? message.caption ?? '';
    const entities = message.entities ?? message.caption_entities ?? [];
    return entities.some((e) => {
      if (e.type !== 'bot_command') return false;
      const command = text.slice(e.offset, e.offset + e.length);
      const at = command.indexOf('@');
      return at === -1 || command.slice(at + 1).toLowerCase() === options.bot.username.toLowerCase();
    });
  };

  let closing: Promise<void> | undefined;
  return {
    apiRoot,
    get token() {
      return options.token;
    },
    get bot() {
      return botUser();
    },
    options,
    calls,
    updates: updatesLog,
    callbackAnswers,
    chatActions,
    get commands() {
      return [...commandSets.values()].map(clone);
    },
    commandsFor: (scope = { type: 'default' }, languageCode = '') =>
      clone(commandSets.get(commandKey(scope, languageCode))?.commands),
    webhookInfo,
    pendingUpdates: () => clone(pending),
    messages: (chatId) => [...(chats.get(chatId)?.messages.values() ?? [])].map(view),
    message: (chatId, messageId) => {
      const stored = chats.get(chatId)?.messages.get(messageId);
      return stored ? view(stored) : undefined;
    },
    fileOf: (fileId) => filesById.get(fileId),
    addFile: async (source, addOptions = {}) => {
      let path: string;
      if (typeof source === 'string') path = source;
      else {
        path = join(dirs.added, randomUUID());
        await writeFile(path, source);
      }
      const { size } = await stat(path);
      const head = await readHead(path);
      const mime =
        addOptions.mime_type ??
        sniffMime(head, addOptions.file_name ?? (typeof source === 'string' ? source : undefined));
      const kind = addOptions.kind ?? (mime?.startsWith('video/') ? 'video' : 'document');
      const probed = await probedMeta(path, mime);
      const fileName = addOptions.file_name ?? (typeof source === 'string' ? basename(source) : undefined);
      return registerFile(kind, path, size, {
        ...probed,
        ...(mime !== undefined ? { mime_type: mime } : {}),
        ...(fileName !== undefined ? { file_name: fileName } : {}),
        ...(addOptions.width !== undefined ? { width: addOptions.width } : {}),
        ...(addOptions.height !== undefined ? { height: addOptions.height } : {}),
        ...(addOptions.duration !== undefined ? { duration: addOptions.duration } : {}),
      });
    },
    addChat: (chat) => clone(ensureChat(chat).chat),
    user: (init = {}) => {
      userCount += 1;
      return {
        id: init.id ?? 700_000_000 + userCount,
        is_bot: false,
        first_name: init.first_name ?? `User${userCount}`,
        ...(init.last_name !== undefined ? { last_name: init.last_name } : {}),
        username: init.username ?? `user${userCount}`,
        language_code: init.language_code ?? 'en',
      };
    },
    privateChat: (user) => ({
      id: user.id,
      type: 'private',
      first_name: user.first_name,
      ...(user.last_name !== undefined ? { last_name: user.last_name } : {}),
      ...(user.username !== undefined ? { username: user.username } : {}),
    }),
    supergroup: (title, init = {}) => {
      groupCount += 1;
      return { id: init.id ?? -1_001_000_000_000 - groupCount, ...init, type: 'supergroup', title };
    },
    userSends: (chat, from, content) => {
      const state = ensureChat(chat);
      const replyTo =
        content.reply_to_message_id === undefined
          ? undefined
          : state.messages.get(content.reply_to_message_id);
      if (content.reply_to_message_id !== undefined && !replyTo) {
        throw new Error(
          `userSends: chat ${chat.id} has no message ${content.reply_to_message_id} to reply to`,
        );
      }
      const fields: Partial<Message> = {};
      let media: StoredMessage['media'];
      for (const kind of ['video', 'animation', 'video_note', 'document'] as const) {
        const input = content[kind];
        if (!input) continue;
        const { file, meta } = mediaInput(input);
        Object.assign(fields, mediaFields(kind, file, meta));
        media ??= { kind, file };
      }
      if (content.text !== undefined) {
        fields.text = content.text;
        const entities = withDetectedEntities(content.text, content.entities ?? []);
        if (entities.length) fields.entities = entities;
      }
      if (content.caption !== undefined) {
        fields.caption = content.caption;
        const entities = withDetectedEntities(content.caption, []);
        if (entities.length) fields.caption_entities = entities;
      }
      const stored = post(state, from, false, fields, {
        ...(replyTo ? { replyTo } : {}),
        ...(media ? { media } : {}),
      });
      if (isVisibleToBot(state, stored.message)) enqueue({ message: stored.message });
      return clone(stored.message);
    },
    userTaps: (message, from, data) => {
      const stored = chats.get(message.chat.id)?.messages.get(message.message_id);
      if (!stored)
        throw new Error(`userTaps: message ${message.message_id} is not in chat ${message.chat.id}`);
      const buttons = stored.message.reply_markup?.inline_keyboard.flat() ?? [];
      if (!buttons.some((b) => b.callback_data === data)) {
        throw new Error(
          `userTaps: message ${message.message_id} has no button with callback_data ${JSON.stringify(data)}`,
        );
      }
      const query: CallbackQuery = {
        id: String(nextQueryId),
        from: clone(from),
        message: clone(stored.message),
        chat_instance: chats.get(message.chat.id)!.chatInstance,
        data,
      };
      nextQueryId += 1n;
      queries.set(query.id, { query, tappedAt: now(), answered: false });
      enqueue({ callback_query: query });
      return clone(query);
    },
    inject429: ({ method, count, retryAfterSec }) => {
      if (count > 0) {
        injections.push({
          ...(method !== undefined ? { method: method.toLowerCase() } : {}),
          remaining: count,
          retryAfterSec,
        });
      }
    },
    waitForCall: (match, { afterIndex = 0, timeoutMs = 5000 } = {}) => {
      const matches =
        typeof match === 'string' ? (c: FakeCall) => c.method.toLowerCase() === match.toLowerCase() : match;
      return new Promise<FakeCall>((resolve, reject) => {
        const check = () => {
          const found = calls.slice(afterIndex).find((c) => c.status !== 0 && matches(c));
          if (!found) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `fake Telegram: no matching call within ${timeoutMs} ms (${typeof match === 'string' ? match : 'predicate'})`,
            ),
          );
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    waitForPolling: (timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!poll) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`fake Telegram: no getUpdates long poll within ${timeoutMs} ms`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
    close: () => {
      closing ??= (async () => {
        closed = true;
        lifetime.abort();
        abortPoll(undefined);
        await delivering?.catch(() => undefined);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await rm(workDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
