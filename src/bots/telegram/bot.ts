import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join } from 'node:path';
import { Telegraf, Telegram } from 'telegraf';
import type { CallbackQuery, InlineKeyboardMarkup } from 'telegraf/types';
import { isAbort } from '../../core/errors.ts';
import type { Requester, RestyleJob } from '../../core/job.ts';
import type { JobEvent, RestyleService } from '../../core/service.ts';
import { type Locale, STYLES, type Style, styleById } from '../../core/styles.ts';
import {
  downloadTooLargeText,
  fitChangesText,
  formatEta,
  isFinalView,
  localeFrom,
  quotaText,
  refusalText,
  rejectionText,
  type StatusView,
  statusText,
  viewOfStatus,
} from '../../text/index.ts';
import { BackgroundWork } from '../shared/background.ts';
import type { BotDeps, BotSettings } from '../shared/deps.ts';
import { DailyQuota } from '../shared/quota.ts';
import { StatusBoard } from '../shared/status-board.ts';
import {
  DEFAULT_API_RETRY,
  describeApiError,
  isGone,
  isNotModified,
  retryAfterMs,
  retryingCalls,
} from './api.ts';
import {
  askFromText,
  clipFromMessage,
  hasOtherMedia,
  type IncomingMessage,
  parseCommand,
  type TelegramClip,
} from './decode.ts';
import { TelegramFileError, TelegramFileFetcher } from './files.ts';
import { cancelKeyboard, decodeAction, fitKeyboard, styleKeyboard } from './keyboards.ts';
import { type TelegramDelivery, TelegramDeliverySink, telegramDelivery } from './sink.ts';
import { commandList, helpText, stylesReply, TEXT } from './wording.ts';

/** File limits of the Bot API server the bot talks to. */
export interface TelegramFileLimits {
  /** Largest file getFile hands out (20 MB in the cloud). */
  readonly maxDownloadBytes: number;
  /** Largest file the bot may upload (50 MB in the cloud). */
  readonly maxUploadBytes: number;
}

/** The cloud Bot API's limits, and those of a self-hosted server in `--local` mode. */
export const TELEGRAM_FILE_LIMITS = {
  cloud: { maxDownloadBytes: 20 * 1024 * 1024, maxUploadBytes: 50 * 1024 * 1024 },
  local: { maxDownloadBytes: 2000 * 1024 * 1024, maxUploadBytes: 2000 * 1024 * 1024 },
} as const satisfies Record<string, TelegramFileLimits>;

/** Webhook mode: Telegram posts updates to `url`, served on `host:port`. */
export interface TelegramWebhook {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly secretToken?: string | undefined;
}

/** Everything the Telegram bot needs. */
export interface TelegramBotOptions extends BotDeps, BotSettings {
  readonly token: string;
  readonly apiRoot: string;
  readonly fileLimits: TelegramFileLimits;
  readonly webhook?: TelegramWebhook | undefined;
  /** Chats served; every chat when undefined. */
  readonly allowedChats?: readonly number[] | undefined;
  /** Retry settings of Bot API calls (tests shorten them). */
  readonly retry?: Partial<typeof DEFAULT_API_RETRY>;
}

/** A clip someone sent, kept so buttons can refer to it by a short id. */
interface ClipRecord {
  readonly clip: TelegramClip;
  readonly chatId: number;
  readonly messageId: number;
  readonly threadId: number | null;
  /** Who asked for it: only they may pick its first style. */
  readonly ownerId: number;
}

/** What a status message shows: its text and buttons. */
interface Rendered {
  readonly text: string;
  readonly keyboard: InlineKeyboardMarkup | undefined;
}

/** What the status board keeps about one Telegram job. */
interface StatusMeta {
  readonly delivery: TelegramDelivery;
  readonly style: Style;
  /** Said under every view but the last: what fitting changed. */
  readonly notes: string;
  readonly inputPath: string;
}

/** Who taps or writes: enough to decide, answer and log. */
interface Person {
  readonly id: number;
  readonly name: string;
  readonly locale: Locale;
}

const CLIP_TTL_MS = 7 * 24 * 3_600_000;
/** Telegram keeps unconfirmed updates for 24 hours. */
const UPDATE_TTL_MS = 24 * 3_600_000;
const ALLOWED_UPDATES = ['message', 'callback_query'] as const;
/** A group's status edits together stay near 15 a minute, under its limit of about 20 messages. */
const GROUP_EDIT_SHARE_MS = 4_000;
/** Claimed pickers remembered; far more than can be tapped before their buttons are gone. */
const MAX_CLAIMS = 10_000;
/** Model limit plus room: a clip fitting may trim or compress is downloaded up to this. */
const FIT_DOWNLOAD_FACTOR = 4;

/** Bot API methods that count against a chat's message limits. */
const COUNTED_METHODS = /^(send(?!ChatAction)|edit|copyMessage|forwardMessage)/;
/** Telegram lets a bot send about 20 messages a minute to a group. */
const GROUP_MESSAGES_PER_MIN = 20;
/** Of those, status edits leave this many for replies and results. */
const GROUP_RESERVED_PER_MIN = 7;

/**
 * What the bot sent to each group in the last minute, so status edits (which can wait) leave room
 * for replies and results (which should not).
 */
class GroupBudget {
  private readonly sent = new Map<number, number[]>();

  /** Records a message or edit in a chat. */
  note(chatId: number): void {
    if (chatId > 0) return;
    const now = Date.now();
    const times = (this.sent.get(chatId) ?? []).filter((t) => now - t < 60_000);
    times.push(now);
    this.sent.set(chatId, times);
  }

  /** How long a status edit in this chat should wait; 0 for private chats and groups with room. */
  holdMs(chatId: number): number {
    if (chatId > 0) return 0;
    const now = Date.now();
    const times = (this.sent.get(chatId) ?? []).filter((t) => now - t < 60_000);
    this.sent.set(chatId, times);
    const allowed = GROUP_MESSAGES_PER_MIN - GROUP_RESERVED_PER_MIN;
    if (times.length < allowed) return 0;
    return times[times.length - allowed]! + 60_000 - now;
  }
}

/** Where a reply goes. */
interface ReplyTarget {
  readonly chatId: number;
  readonly messageId: number;
  /** Forum topic, or null. */
  readonly threadId: number | null;
}

function targetOf(message: IncomingMessage): ReplyTarget {
  return {
    chatId: message.chat.id,
    messageId: message.message_id,
    threadId:
      message.is_topic_message && message.message_thread_id !== undefined ? message.message_thread_id : null,
  };
}

function personOf(from: {
  id: number;
  first_name?: string;
  username?: string;
  language_code?: string;
}): Person {
  return {
    id: from.id,
    name: from.username ? `@${from.username}` : (from.first_name ?? String(from.id)),
    locale: localeFrom(from.language_code),
  };
}

function requesterOf(person: Person): Requester {
  return { key: `telegram:${person.id}`, name: person.name };
}

/**
 * The Telegram bot: takes videos in private chats and `/restyle` replies in groups, puts them in
 * the shared queue, follows each job in one status message, and delivers the result as a reply.
 * Update handlers only start work; no handler waits for a job.
 */
export class TelegramBot {
  /** Delivers results; register it with the service under `telegram`. */
  readonly sink: TelegramDeliverySink;
  private readonly telegraf: Telegraf;
  /** Calls made on our own: 429s and transient failures are retried. */
  private readonly api: Telegram;
  /** Status edits: rate limits are handled by the throttle, which keeps only the newest view. */
  private readonly editApi: Telegram;
  private readonly fetcher: TelegramFileFetcher;
  private readonly board: StatusBoard<Rendered, StatusMeta>;
  /** Pickers and rejections whose buttons already started a job, oldest first. */
  private readonly claimed = new Set<string>();
  private readonly groupBudget = new GroupBudget();
  private readonly quota: DailyQuota;
  private readonly shutdown = new AbortController();
  private readonly background: BackgroundWork;
  private webhookServer: Server | undefined;
  private polling: Promise<void> | undefined;
  private username = '';

  constructor(private readonly options: TelegramBotOptions) {
    this.background = new BackgroundWork(options.logger, 'telegram', describeApiError);
    const telegramOptions = { apiRoot: options.apiRoot, webhookReply: false };
    this.telegraf = new Telegraf(options.token, { telegram: telegramOptions, handlerTimeout: 30_000 });
    this.api = this.telegraf.telegram;
    retryingCalls(this.api, {
      ...DEFAULT_API_RETRY,
      ...options.retry,
      logger: options.logger,
      signal: this.shutdown.signal,
      onSuccess: (method, payload) => {
        const chatId = (payload as { chat_id?: unknown } | undefined)?.chat_id;
        if (typeof chatId === 'number' && COUNTED_METHODS.test(method)) this.groupBudget.note(chatId);
      },
    });
    this.editApi = new Telegram(options.token, telegramOptions);
    this.quota = new DailyQuota(options.store, options.dailyQuota, 'telegram:quota');
    this.fetcher = new TelegramFileFetcher(this.api, options.downloader);
    this.sink = new TelegramDeliverySink({
      telegram: this.api,
      store: options.store,
      probe: options.probe,
      transcoder: options.transcoder,
      files: options.files,
      tempPath: options.tempPath,
      maxUploadBytes: options.fileLimits.maxUploadBytes,
      logger: options.logger,
    });
    mkdirSync(options.inputsDir, { recursive: true });
    // An update handled just before a crash comes again after the restart (its offset was never
    // confirmed), and a webhook call that timed out is retried: handle each update once.
    this.telegraf.use(async (ctx, next) => {
      const key = `telegram:update:${ctx.botInfo.id}:${ctx.update.update_id}`;
      if (await options.store.getRecord(key)) return;
      await options.store.setRecord(key, true, UPDATE_TTL_MS);
      await next();
    });
    this.telegraf.on('message', (ctx) => this.onMessage(ctx.message as unknown as IncomingMessage));
    this.telegraf.on('callback_query', (ctx) => this.onCallback(ctx.callbackQuery));
    this.telegraf.catch((error, ctx) => {
      // The one error boundary: log with who asked, never crash the process.
      options.logger.error('telegram update failed', {
        updateId: ctx.update.update_id,
        userId: ctx.from?.id,
        error: describeApiError(error),
      });
    });
    this.board = new StatusBoard<Rendered, StatusMeta>(
      options.service,
      {
        render: (view, meta, jobId) => this.render(view, meta, jobId),
        apply: async (rendered, meta) => {
          const { chatId, statusId } = meta.delivery;
          await this.editText(chatId, statusId, rendered.text, rendered.keyboard, this.editApi);
          this.groupBudget.note(chatId);
        },
        retryAfterMs,
        isGone,
        minIntervalMs: (meta) => this.statusIntervalFor(meta.delivery.chatId),
        holdMs: (meta) => this.groupBudget.holdMs(meta.delivery.chatId),
        ended: (meta) => this.options.files.remove(meta.inputPath),
      },
      options.logger,
      Math.max(1_000, options.statusIntervalMs),
    );
  }

  /** The bot's @username once launched. */
  get botUsername(): string {
    return this.username;
  }

  /** Follows jobs resumed after a restart, so their status messages go on and results arrive. */
  resume(jobs: readonly RestyleJob[]): void {
    for (const job of jobs) {
      const delivery = telegramDelivery(job);
      if (!delivery) continue;
      this.board.resume(job, this.metaOf(delivery, job));
    }
  }

  private metaOf(delivery: TelegramDelivery, job: RestyleJob): StatusMeta {
    return {
      delivery,
      style: styleById(job.styleId) ?? STYLES[0],
      notes: fitChangesText(job.changes, delivery.locale),
      inputPath: job.inputPath,
    };
  }

  /** Identifies the bot, registers its commands, and starts long polling or the webhook. */
  async launch(): Promise<void> {
    const me = await this.api.getMe();
    this.username = me.username;
    this.telegraf.botInfo = me;
    await this.registerCommands();
    const { webhook } = this.options;
    if (webhook) {
      const path = new URL(webhook.url).pathname || '/';
      const secretToken = webhook.secretToken ?? randomBytes(24).toString('hex');
      const callback = this.telegraf.webhookCallback(path, { secretToken });
      this.webhookServer = createServer((req, res) => {
        const onHook = new URL(req.url ?? '/', 'http://localhost').pathname === path;
        if (onHook && req.headers['x-telegram-bot-api-secret-token'] !== secretToken) {
          // Not Telegram: it always sends the secret we registered.
          res.writeHead(403).end();
          return;
        }
        void callback(req, res, () => {
          res.writeHead(404).end();
        });
      });
      await new Promise<void>((resolve, reject) => {
        this.webhookServer!.once('error', reject);
        this.webhookServer!.listen(webhook.port, webhook.host, () => resolve());
      });
      await this.api.setWebhook(webhook.url, {
        secret_token: secretToken,
        allowed_updates: [...ALLOWED_UPDATES],
      });
      this.options.logger.info('telegram bot listening for webhook calls', {
        username: this.username,
        port: this.webhookPort,
      });
      return;
    }
    // launch() removes any webhook first (keeping pending updates), then long-polls.
    this.polling = this.telegraf.launch({ allowedUpdates: [...ALLOWED_UPDATES] }).catch((error: unknown) => {
      if (!this.shutdown.signal.aborted) {
        this.options.logger.error('telegram polling stopped', { error: describeApiError(error) });
      }
    });
    this.options.logger.info('telegram bot polling for updates', { username: this.username });
  }

  /** The port the webhook server listens on (useful when configured as 0). */
  get webhookPort(): number | undefined {
    const address = this.webhookServer?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  /** Stops taking updates; intake already started is abandoned, status edits are flushed briefly. */
  async stop(): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    this.shutdown.abort();
    if (this.webhookServer) await new Promise((resolve) => this.webhookServer!.close(resolve));
    try {
      if (this.polling) this.telegraf.stop('shutdown');
    } catch {
      // Not running.
    }
    await this.polling;
    await this.background.settled();
    await this.board.stop();
  }

  /** Resolves once every status message has sent what it has (tests use it). */
  async settled(): Promise<void> {
    await this.background.settled();
    await this.board.settled();
  }

  private async registerCommands(): Promise<void> {
    try {
      await this.api.setMyCommands(commandList('en'));
      await this.api.setMyCommands(commandList('zh'), { language_code: 'zh' });
    } catch (error) {
      this.options.logger.warn('could not register the bot commands', { error: describeApiError(error) });
    }
  }

  private allowed(chatId: number): boolean {
    return this.options.allowedChats === undefined || this.options.allowedChats.includes(chatId);
  }

  /** Sends a message replying to `to` (a message, or a saved clip's place); resolves with its id. */
  private async reply(
    to: IncomingMessage | ReplyTarget,
    text: string,
    keyboard?: InlineKeyboardMarkup,
  ): Promise<number> {
    const target = 'chat' in to ? targetOf(to) : to;
    const extra = {
      reply_parameters: { message_id: target.messageId, allow_sending_without_reply: true },
      // The older form too, for Bot API servers that predate reply_parameters.
      reply_to_message_id: target.messageId,
      allow_sending_without_reply: true,
      ...(target.threadId === null ? {} : { message_thread_id: target.threadId }),
      ...(keyboard ? { reply_markup: keyboard } : {}),
    };
    const sent = await this.api.sendMessage(
      target.chatId,
      text,
      extra as Parameters<Telegram['sendMessage']>[2],
    );
    return sent.message_id;
  }

  // ---- messages ----

  private async onMessage(message: IncomingMessage): Promise<void> {
    if (!message.from || message.from.is_bot) return;
    const person = personOf(message.from);
    const isPrivate = message.chat.type === 'private';
    const command = parseCommand(message, this.username);
    if (!this.allowed(message.chat.id)) {
      if (isPrivate || command) await this.reply(message, TEXT[person.locale].notAllowed);
      return;
    }
    const t = TEXT[person.locale];
    if (command) {
      switch (command.name) {
        case 'start':
        case 'help':
          await this.reply(message, this.help(person.locale));
          return;
        case 'styles':
          await this.reply(message, stylesReply(person.locale));
          return;
        case 'queue':
          await this.reply(message, this.queueText(person));
          return;
        case 'cancel':
          await this.cancelMine(message, person);
          return;
        case 'restyle':
          await this.restyleCommand(message, person, command.args);
          return;
        default:
          if (isPrivate) await this.reply(message, t.unknownCommand);
          return;
      }
    }
    if (!isPrivate) return;
    const clip = clipFromMessage(message);
    if (clip) {
      await this.onClip(message, message, clip, person, askFromText(message.caption));
      return;
    }
    // A reply to a clip naming a style works like /restyle in a private chat too.
    const replied = clipFromMessage(message.reply_to_message);
    const ask = askFromText(message.text);
    if (replied && message.reply_to_message && ask.style) {
      await this.onClip(message, message.reply_to_message, replied, person, ask);
      return;
    }
    await this.reply(message, hasOtherMedia(message) ? t.notVideo : t.sendVideo);
  }

  private help(locale: Locale): string {
    return helpText(
      locale,
      this.username,
      this.options.videoLimits,
      this.options.fileLimits.maxDownloadBytes,
      this.options.dailyQuota,
    );
  }

  private async restyleCommand(message: IncomingMessage, person: Person, args: string): Promise<void> {
    const own = clipFromMessage(message);
    const replied = clipFromMessage(message.reply_to_message);
    const target = own ? message : replied ? message.reply_to_message : undefined;
    const clip = own ?? replied;
    if (!clip || !target) {
      await this.reply(message, TEXT[person.locale].replyToVideo);
      return;
    }
    await this.onClip(message, target, clip, person, askFromText(args));
  }

  /** A clip to restyle: starts the job when the style is known, else offers the styles. */
  private async onClip(
    asked: IncomingMessage,
    holder: IncomingMessage,
    clip: TelegramClip,
    person: Person,
    ask: { style: Style | undefined; fit: boolean },
  ): Promise<void> {
    const clipId = await this.saveClip(clip, holder, person.id);
    if (ask.style) {
      await this.startJob({
        clipId,
        record: await this.clip(clipId),
        person,
        style: ask.style,
        fit: ask.fit,
        replyTo: asked,
      });
      return;
    }
    await this.reply(holder, TEXT[person.locale].pickStyle, styleKeyboard(clipId, 'style', person.locale));
  }

  private async saveClip(clip: TelegramClip, holder: IncomingMessage, ownerId: number): Promise<string> {
    const clipId = randomBytes(9).toString('base64url');
    const { chatId, messageId, threadId } = targetOf(holder);
    const record: ClipRecord = { clip, chatId, messageId, threadId, ownerId };
    await this.options.store.setRecord(`telegram:clip:${clipId}`, record, CLIP_TTL_MS);
    return clipId;
  }

  private async clip(clipId: string): Promise<ClipRecord | undefined> {
    return this.options.store.getRecord<ClipRecord>(`telegram:clip:${clipId}`);
  }

  // ---- buttons ----

  private async onCallback(query: CallbackQuery): Promise<void> {
    const person = personOf(query.from);
    const t = TEXT[person.locale];
    const action = decodeAction('data' in query ? query.data : undefined);
    const message = query.message;
    const answer = (text?: string, alert = false) =>
      this.api.answerCbQuery(query.id, text, { show_alert: alert }).catch((error: unknown) => {
        this.options.logger.warn('could not answer a button tap', { error: describeApiError(error) });
      });
    if (!action || !message || !this.allowed(message.chat.id)) {
      await answer();
      return;
    }
    if (action.kind === 'cancel') {
      const job = this.options.service.job(action.jobId);
      if (job && job.requester.key !== requesterOf(person).key) {
        await answer(t.notYourJob, true);
        return;
      }
      await answer(t.canceling);
      this.background.spawn(async () => {
        const outcome = await this.options.service.cancel(action.jobId, requesterOf(person));
        if (outcome.kind === 'too-late') await answer(t.tooLateToCancel, true);
      });
      return;
    }
    const record = await this.clip(action.clipId);
    const style = styleById(action.styleId)!;
    if (!record) {
      await answer(t.clipExpired, true);
      return;
    }
    if (action.kind !== 'again' && record.ownerId !== person.id) {
      await answer(t.notYourClip, true);
      return;
    }
    if (action.kind !== 'again') {
      // A picker (or a rejection) turns into one job's status message: a second tap, or a tap on
      // another of its buttons before the buttons vanished, must not start a second job there.
      const claim = `${message.chat.id}:${message.message_id}`;
      if (this.claimed.has(claim)) {
        await answer(t.alreadyStarted);
        return;
      }
      this.claimed.add(claim);
      if (this.claimed.size > MAX_CLAIMS) this.claimed.delete(this.claimed.values().next().value!);
    }
    await answer(t.pickedStyle(style.names[person.locale]));
    await this.startJob({
      clipId: action.clipId,
      record,
      person,
      style,
      fit: action.kind === 'fit',
      // The picker (or the rejection) becomes the status message; "another style" gets a new one.
      ...(action.kind === 'again' ? {} : { statusId: message.message_id }),
    });
  }

  // ---- jobs ----

  /** Opens the status message and starts intake in the background. */
  private async startJob(start: {
    clipId: string;
    record: ClipRecord | undefined;
    person: Person;
    style: Style;
    fit: boolean;
    statusId?: number;
    replyTo?: IncomingMessage;
  }): Promise<void> {
    const { record, person, style } = start;
    if (!record) return;
    const locale = person.locale;
    const checking = statusText({ kind: 'checking' }, style, locale);
    const quotaLeft = await this.quota.left(person.id);
    const text = quotaLeft === 0 ? quotaText(this.quota.perDay, this.quota.resetInMs(), locale) : checking;
    let statusId = start.statusId;
    if (statusId === undefined) {
      statusId = await this.reply(start.replyTo ?? record, text);
    } else {
      await this.editText(record.chatId, statusId, text, undefined);
    }
    if (quotaLeft === 0) return;
    const id = statusId;
    this.background.spawn(() => this.intake({ ...start, record, statusId: id }));
  }

  /** Downloads the clip, asks the service, and sets up the status message for the outcome. */
  private async intake(start: {
    clipId: string;
    record: ClipRecord;
    person: Person;
    style: Style;
    fit: boolean;
    statusId: number;
  }): Promise<void> {
    const { record, person, style, statusId } = start;
    const { locale } = person;
    const t = TEXT[locale];
    const say = (text: string, keyboard?: InlineKeyboardMarkup) =>
      this.editText(record.chatId, statusId, text, keyboard);
    const limits = this.options.videoLimits;
    const maxBytes = Math.min(
      this.options.fileLimits.maxDownloadBytes,
      start.fit ? limits.maxSizeBytes * FIT_DOWNLOAD_FACTOR : limits.maxSizeBytes,
    );
    const claimed = record.clip.fileSizeBytes;
    if (claimed !== undefined && claimed > this.options.fileLimits.maxDownloadBytes) {
      await say(downloadTooLargeText(claimed, this.options.fileLimits.maxDownloadBytes, limits, locale));
      return;
    }
    const inputPath = join(this.options.inputsDir, `tg-${randomUUID()}${this.extensionOf(record.clip)}`);
    const removeInput = () => this.options.files.remove(inputPath);
    try {
      await this.fetcher.fetch(record.clip.fileId, inputPath, { maxBytes, signal: this.shutdown.signal });
    } catch (error) {
      await removeInput();
      if (isAbort(error)) return;
      if (error instanceof TelegramFileError && error.reason === 'too-big') {
        if (maxBytes < this.options.fileLimits.maxDownloadBytes) {
          // Over the model's limit but within Telegram's: fitting can compress it.
          const violation = {
            code: 'file-too-large' as const,
            sizeBytes: error.sizeBytes ?? maxBytes + 1,
            maxSizeBytes: limits.maxSizeBytes,
          };
          await say(
            rejectionText([violation], !start.fit, locale),
            start.fit ? undefined : fitKeyboard(start.clipId, style.id, locale),
          );
          return;
        }
        await say(
          downloadTooLargeText(
            error.sizeBytes ?? claimed,
            this.options.fileLimits.maxDownloadBytes,
            limits,
            locale,
          ),
        );
        return;
      }
      this.options.logger.warn('could not download a telegram file', {
        userId: person.id,
        error: error instanceof Error ? error.message : String(error),
      });
      await say(t.downloadFailed);
      return;
    }
    const delivery: TelegramDelivery = {
      platform: 'telegram',
      chatId: record.chatId,
      replyTo: record.messageId,
      threadId: record.threadId,
      statusId,
      userId: person.id,
      locale,
      clipId: start.clipId,
    };
    let jobId: string | undefined;
    const early: JobEvent[] = [];
    let outcome: Awaited<ReturnType<RestyleService['request']>>;
    try {
      outcome = await this.options.service.request(
        {
          requester: requesterOf(person),
          delivery: { ...delivery },
          inputPath,
          styleId: style.id,
          fps: this.options.fps,
          fit: start.fit,
        },
        (event) => (jobId ? this.board.handle(jobId, event) : early.push(event)),
      );
    } catch (error) {
      await removeInput();
      this.options.logger.error('could not queue a telegram clip', {
        userId: person.id,
        error: describeApiError(error),
      });
      await say(t.internalError);
      return;
    }
    switch (outcome.kind) {
      case 'rejected': {
        await removeInput();
        const fixable = !outcome.unfixable && !start.fit;
        await say(
          rejectionText(outcome.violations, fixable, locale),
          fixable ? fitKeyboard(start.clipId, style.id, locale) : undefined,
        );
        return;
      }
      case 'refused':
        await removeInput();
        await say(refusalText(outcome, locale, '/cancel'));
        return;
      case 'queued':
      case 'cached': {
        if (outcome.kind === 'queued') await this.quota.spend(person.id);
        jobId = outcome.job.id;
        this.board.follow(jobId, this.metaOf(delivery, outcome.job));
        for (const event of early) this.board.handle(jobId, event);
        this.board.showCurrent(jobId);
        return;
      }
    }
  }

  private extensionOf(clip: TelegramClip): string {
    const fromName = clip.fileName ? extname(clip.fileName).toLowerCase() : '';
    if (/^\.[a-z0-9]{1,5}$/.test(fromName)) return fromName;
    return '.mp4';
  }

  /**
   * A group allows about 20 messages a minute in all: its status messages share a budget of one
   * edit per GROUP_EDIT_SHARE_MS, so results and replies still get through.
   */
  private statusIntervalFor(chatId: number): number {
    const base = this.options.statusIntervalMs;
    if (chatId > 0) return base;
    const active = this.board.count((f) => f.meta.delivery.chatId === chatId && !f.done);
    return Math.max(base, active * GROUP_EDIT_SHARE_MS);
  }

  private render(view: StatusView, meta: StatusMeta, jobId: string): Rendered {
    const { locale } = meta.delivery;
    let text = statusText(view, meta.style, locale);
    if (meta.notes && !isFinalView(view)) text += `\n${meta.notes}`;
    const cancelable =
      view.kind === 'queued' ||
      view.kind === 'submitting' ||
      (view.kind === 'restyling' && view.remote === 'pending');
    return { text, keyboard: cancelable ? cancelKeyboard(jobId, locale) : undefined };
  }

  /** Edits a message's text and buttons; "not modified" counts as done. */
  private async editText(
    chatId: number,
    messageId: number,
    text: string,
    keyboard: InlineKeyboardMarkup | undefined,
    api: Telegram = this.api,
  ): Promise<void> {
    try {
      await api.editMessageText(chatId, messageId, undefined, text, {
        reply_markup: keyboard ?? { inline_keyboard: [] },
      });
    } catch (error) {
      if (isNotModified(error)) return;
      throw error;
    }
  }

  // ---- /queue and /cancel ----

  private queueText(person: Person): string {
    const t = TEXT[person.locale];
    const jobs = this.options.service.jobsOf(requesterOf(person).key);
    if (jobs.length === 0) return t.queueEmpty;
    const lines = jobs.map((job, index) => {
      const style = styleById(job.styleId) ?? STYLES[0];
      const status = this.options.service.status(job.id);
      const view = status ? viewOfStatus(status) : undefined;
      const name = style.names[person.locale];
      const zh = person.locale === 'zh';
      let where: string;
      switch (view?.kind) {
        case 'queued':
          where = zh
            ? `第 ${view.position} 位，${formatEta(view.etaMs, 'zh')}`
            : `#${view.position} in line, ${formatEta(view.etaMs, 'en')}`;
          break;
        case 'restyling':
          where = zh
            ? `重绘中 ${Math.floor(view.fraction * 100)}%`
            : `restyling, ${Math.floor(view.fraction * 100)}%`;
          break;
        case 'sending':
          where = zh ? '正在发送' : 'sending';
          break;
        default:
          where = zh ? '即将开始' : 'starting';
      }
      return `${index + 1}. ${name} — ${where}`;
    });
    return [t.queueHead, ...lines].join('\n');
  }

  private async cancelMine(message: IncomingMessage, person: Person): Promise<void> {
    const t = TEXT[person.locale];
    const requester = requesterOf(person);
    const jobs = this.options.service.jobsOf(requester.key);
    const cancelable = jobs.filter(
      (job) =>
        job.state.kind === 'waiting' || (job.state.kind === 'submitted' && job.state.remote === 'pending'),
    );
    if (cancelable.length === 0) {
      await this.reply(message, jobs.length > 0 ? t.tooLateToCancel : t.nothingToCancel);
      return;
    }
    const outcomes = await Promise.all(
      cancelable.map((job) => this.options.service.cancel(job.id, requester)),
    );
    const count = outcomes.filter((outcome) => outcome.kind === 'canceled').length;
    await this.reply(message, count > 0 ? t.canceled(count) : t.tooLateToCancel);
  }
}
