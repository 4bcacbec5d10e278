import type { CallbackQuery, InlineKeyboardMarkup } from 'telegraf/types';
import { isCancelable, type Requester, type RestyleJob } from '../../core/job.ts';
import type { UpdateClaims } from '../../core/ports.ts';
import { type Locale, STYLES, type Style, styleById } from '../../core/styles.ts';
import { localeFrom, queueLineText, viewOfStatus } from '../../text/index.ts';
import { BackgroundWork } from '../shared/background.ts';
import { videoExtension } from '../shared/clip-files.ts';
import type { BotDeps, BotSettings } from '../shared/deps.ts';
import { ChatIntake } from '../shared/intake.ts';
import { DailyQuota } from '../shared/quota.ts';
import { type DEFAULT_API_RETRY, describeApiError } from './api.ts';
import { type ClipRecord, TelegramClips } from './clips.ts';
import {
  askFromText,
  clipFromMessage,
  hasOtherMedia,
  type IncomingMessage,
  parseCommand,
  type TelegramClip,
} from './decode.ts';
import { TelegramFileFetcher } from './files.ts';
import { decodeAction, styleKeyboard } from './keyboards.ts';
import { type TelegramLimitSettings, TelegramServerLimits } from './limits.ts';
import { TelegramDeliverySink } from './sink.ts';
import { type ReplyTarget, TelegramSurface } from './surface.ts';
import { TelegramTransport, type TelegramWebhook } from './transport.ts';
import { commandList, helpText, stylesReply, TEXT } from './wording.ts';

/** Everything the Telegram bot needs. */
export interface TelegramBotOptions extends BotDeps, BotSettings {
  readonly token: string;
  readonly apiRoot: string;
  /** What the operator set about the server's file limits (see {@link TelegramServerLimits}). */
  readonly fileLimits: Omit<TelegramLimitSettings, 'apiRoot'>;
  readonly webhook?: TelegramWebhook | undefined;
  /** Claims on updates shared by several webhook instances (Redis); the store's when undefined. */
  readonly updateClaims?: UpdateClaims | undefined;
  /** Chats served; every chat when undefined. */
  readonly allowedChats?: readonly number[] | undefined;
  /** Retry settings of Bot API calls (tests shorten them). */
  readonly retry?: Partial<typeof DEFAULT_API_RETRY>;
}

/** Who taps or writes: enough to decide, answer and log. */
interface Person {
  readonly id: number;
  readonly name: string;
  readonly locale: Locale;
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
 * The Telegram bot: routes videos in private chats, `/restyle` replies in groups, buttons and
 * commands into the shared intake and queue. Update handlers only start work; none waits for a job.
 */
export class TelegramBot {
  /** Delivers results; register it with the service under `telegram`. */
  readonly sink: TelegramDeliverySink;
  private readonly transport: TelegramTransport;
  private readonly limits: TelegramServerLimits;
  private readonly surface: TelegramSurface;
  private readonly intake: ChatIntake;
  private readonly clips: TelegramClips;
  private readonly background: BackgroundWork;

  constructor(private readonly options: TelegramBotOptions) {
    this.background = new BackgroundWork(options.logger, 'telegram', describeApiError);
    this.transport = new TelegramTransport(options);
    this.limits = new TelegramServerLimits({ ...options.fileLimits, apiRoot: options.apiRoot });
    this.clips = new TelegramClips(options.store);
    const api = this.transport.api;
    const limits = this.limits;
    this.sink = new TelegramDeliverySink({
      telegram: api,
      probe: options.probe,
      transcoder: options.transcoder,
      files: options.files,
      tempPath: options.tempPath,
      get maxUploadBytes() {
        return limits.maxUploadBytes;
      },
      logger: options.logger,
    });
    this.surface = new TelegramSurface({
      transport: this.transport,
      fetcher: new TelegramFileFetcher(api, options.downloader, this.limits),
      service: options.service,
      store: options.store,
      files: options.files,
      videoLimits: options.videoLimits,
      statusIntervalMs: options.statusIntervalMs,
      logger: options.logger,
    });
    this.intake = new ChatIntake(
      {
        ...options,
        quota: new DailyQuota(options.store, options.dailyQuota),
      },
      this.surface,
    );
    const { telegraf } = this.transport;
    telegraf.on('message', (ctx) =>
      this.onMessage(ctx.update.update_id, ctx.message as unknown as IncomingMessage),
    );
    telegraf.on('callback_query', (ctx) => this.onCallback(ctx.update.update_id, ctx.callbackQuery));
    telegraf.catch((error, ctx) => {
      // The one error boundary: log with who asked, never crash the process.
      options.logger.error('telegram update failed', {
        updateId: ctx.update.update_id,
        userId: ctx.from?.id,
        error: describeApiError(error),
      });
    });
  }

  /** The bot's @username once launched. */
  get botUsername(): string {
    return this.transport.botUsername;
  }

  /** The port the webhook server listens on (useful when configured as 0). */
  get webhookPort(): number | undefined {
    return this.transport.webhookPort;
  }

  /** After a restart: status messages of stored jobs go on (or are brought up to date). */
  resume(jobs: readonly RestyleJob[]): Promise<void> {
    return this.surface.resume(jobs);
  }

  /** Identifies the bot, registers its commands, takes updates, and finishes interrupted requests. */
  async launch(): Promise<void> {
    await this.transport.identify();
    await this.registerCommands();
    await this.transport.listen();
    await this.intake.resume();
  }

  /** Stops taking updates; requests under way stay recorded, status edits are flushed briefly. */
  async stop(): Promise<void> {
    await this.transport.stop();
    await this.intake.stop();
    await this.background.settled();
    await this.surface.stop();
  }

  /** Resolves once every status message has sent what it has (tests use it). */
  async settled(): Promise<void> {
    await this.intake.settled();
    await this.background.settled();
    await this.surface.settled();
  }

  private async registerCommands(): Promise<void> {
    try {
      await this.transport.api.setMyCommands(commandList('en'));
      await this.transport.api.setMyCommands(commandList('zh'), { language_code: 'zh' });
    } catch (error) {
      this.options.logger.warn('could not register the bot commands', { error: describeApiError(error) });
    }
  }

  private allowed(chatId: number): boolean {
    return this.options.allowedChats === undefined || this.options.allowedChats.includes(chatId);
  }

  private reply(message: IncomingMessage, text: string, keyboard?: InlineKeyboardMarkup): Promise<number> {
    return this.surface.reply(targetOf(message), text, keyboard);
  }

  // ---- messages ----

  private async onMessage(updateId: number, message: IncomingMessage): Promise<void> {
    if (!message.from || message.from.is_bot) return;
    const person = personOf(message.from);
    const isPrivate = message.chat.type === 'private';
    const command = parseCommand(message, this.botUsername);
    const t = TEXT[person.locale];
    if (!this.allowed(message.chat.id)) {
      if (isPrivate || command) await this.reply(message, t.notAllowed);
      return;
    }
    const requestId = `telegram-${updateId}`;
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
          await this.restyleCommand(requestId, message, person, command.args);
          return;
        default:
          if (isPrivate) await this.reply(message, t.unknownCommand);
          return;
      }
    }
    if (!isPrivate) return;
    const clip = clipFromMessage(message);
    if (clip) {
      await this.onClip(requestId, message, message, clip, person, askFromText(message.caption));
      return;
    }
    // A reply to a clip naming a style works like /restyle in a private chat too.
    const replied = clipFromMessage(message.reply_to_message);
    const ask = askFromText(message.text);
    if (replied && message.reply_to_message && ask.style) {
      await this.onClip(requestId, message, message.reply_to_message, replied, person, ask);
      return;
    }
    await this.reply(message, hasOtherMedia(message) ? t.notVideo : t.sendVideo);
  }

  private help(locale: Locale): string {
    const { videoLimits, dailyQuota } = this.options;
    return helpText(locale, this.botUsername, videoLimits, this.limits.maxDownloadBytes, dailyQuota);
  }

  private async restyleCommand(
    requestId: string,
    message: IncomingMessage,
    person: Person,
    args: string,
  ): Promise<void> {
    const own = clipFromMessage(message);
    const replied = clipFromMessage(message.reply_to_message);
    const target = own ? message : replied ? message.reply_to_message : undefined;
    const clip = own ?? replied;
    if (!clip || !target) {
      await this.reply(message, TEXT[person.locale].replyToVideo);
      return;
    }
    await this.onClip(requestId, message, target, clip, person, askFromText(args));
  }

  /** A clip to restyle: starts the request when the style is known, else offers the styles. */
  private async onClip(
    requestId: string,
    asked: IncomingMessage,
    holder: IncomingMessage,
    clip: TelegramClip,
    person: Person,
    ask: { style: Style | undefined; fit: boolean },
  ): Promise<void> {
    const record: ClipRecord = { clip, ...targetOf(holder), ownerId: person.id };
    const clipId = await this.clips.save(record);
    if (ask.style) {
      await this.startRequest({
        requestId,
        clipId,
        record,
        person,
        style: ask.style,
        fit: ask.fit,
        askedId: asked.message_id,
      });
      return;
    }
    await this.reply(holder, TEXT[person.locale].pickStyle, styleKeyboard(clipId, 'style', person.locale));
  }

  // ---- buttons ----

  private async onCallback(updateId: number, query: CallbackQuery): Promise<void> {
    const person = personOf(query.from);
    const t = TEXT[person.locale];
    const action = decodeAction('data' in query ? query.data : undefined);
    const message = query.message;
    const answer = (text?: string, alert = false) =>
      this.transport.api.answerCbQuery(query.id, text, { show_alert: alert }).catch((error: unknown) => {
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
    const record = await this.clips.get(action.clipId);
    const style = styleById(action.styleId)!;
    if (!record) {
      await answer(t.clipExpired, true);
      return;
    }
    if (action.kind !== 'again' && record.ownerId !== person.id) {
      await answer(t.notYourClip, true);
      return;
    }
    // A picker (or a rejection) turns into one job's status message: a second tap, or a tap on
    // another of its buttons before the buttons vanished, must not start a second job there.
    const requestId = `telegram-${updateId}`;
    const key = `${message.chat.id}:${message.message_id}`;
    if (action.kind !== 'again' && !this.clips.claimHere(key, requestId)) {
      await answer(t.alreadyStarted);
      return;
    }
    // The tap is answered before the claim is stored: the spinner stops at once.
    await answer(t.pickedStyle(style.names[person.locale]));
    if (action.kind !== 'again' && !(await this.clips.claimStored(key, requestId))) return;
    await this.startRequest({
      requestId,
      clipId: action.clipId,
      record,
      person,
      style,
      fit: action.kind === 'fit',
      // The picker (or the rejection) becomes the status message; "another style" gets a new one.
      ...(action.kind === 'again' ? {} : { statusId: message.message_id }),
    });
  }

  /** Hands a request to the intake, which records and acknowledges it before anything slow. */
  private async startRequest(start: {
    requestId: string;
    clipId: string;
    record: ClipRecord;
    person: Person;
    style: Style;
    fit: boolean;
    statusId?: number;
    askedId?: number;
  }): Promise<void> {
    const { record, person } = start;
    await this.intake.accept({
      id: start.requestId,
      requester: requesterOf(person),
      locale: person.locale,
      styleId: start.style.id,
      fps: this.options.fps,
      fit: start.fit,
      clip: {
        fileId: record.clip.fileId,
        ...(record.clip.fileSizeBytes === undefined ? {} : { fileSizeBytes: record.clip.fileSizeBytes }),
      },
      address: {
        chatId: record.chatId,
        replyTo: record.messageId,
        threadId: record.threadId,
        userId: person.id,
        clipId: start.clipId,
        ...(start.statusId === undefined ? {} : { statusId: start.statusId }),
        ...(start.askedId === undefined ? {} : { askedId: start.askedId }),
      },
      extension: videoExtension(record.clip.fileName) ?? '.mp4',
    });
  }

  // ---- /queue and /cancel ----

  private queueText(person: Person): string {
    const t = TEXT[person.locale];
    const jobs = this.options.service.jobsOf(requesterOf(person).key);
    if (jobs.length === 0) return t.queueEmpty;
    const lines = jobs.map((job, index) => {
      const status = this.options.service.status(job.id);
      const view = status ? viewOfStatus(status) : undefined;
      return queueLineText(index + 1, styleById(job.styleId) ?? STYLES[0], view, person.locale);
    });
    return [t.queueHead, ...lines].join('\n');
  }

  private async cancelMine(message: IncomingMessage, person: Person): Promise<void> {
    const t = TEXT[person.locale];
    const requester = requesterOf(person);
    const jobs = this.options.service.jobsOf(requester.key);
    const cancelable = jobs.filter((job) => isCancelable(job.state));
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
