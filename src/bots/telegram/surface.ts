import type { Telegram } from 'telegraf';
import type { InlineKeyboardMarkup } from 'telegraf/types';
import type { Delivery, RestyleJob } from '../../core/job.ts';
import type { VideoLimits } from '../../core/limits.ts';
import type { JobStore, Logger } from '../../core/ports.ts';
import type { JobEvent, RestyleService } from '../../core/queue/service.ts';
import { STYLES, type Style, styleById } from '../../core/styles.ts';
import {
  downloadTooLargeText,
  duplicateText,
  fitChangesText,
  isFinalView,
  quotaText,
  refusalText,
  rejectionText,
  type StatusView,
  statusText,
} from '../../text/index.ts';
import { StatusBoard } from '../shared/status-board.ts';
import type { ChatSurface, ClipFetch, IntakeNotice, IntakeRecord } from '../shared/surface.ts';
import { isGone, isNotModified, retryAfterMs } from './api.ts';
import type { TelegramFileFetcher } from './files.ts';
import { GROUP_EDIT_SHARE_MS } from './group-budget.ts';
import { cancelKeyboard, fitKeyboard, sendAgainKeyboard } from './keyboards.ts';
import { type TelegramDelivery, telegramDelivery } from './sink.ts';
import type { TelegramTransport } from './transport.ts';
import { TEXT } from './wording.ts';

/** Where a reply goes. */
export interface ReplyTarget {
  readonly chatId: number;
  readonly messageId: number;
  /** Forum topic, or null. */
  readonly threadId: number | null;
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
  readonly inputPath: string;
}

/** What the Telegram surface needs. */
export interface TelegramSurfaceOptions {
  readonly transport: TelegramTransport;
  readonly fetcher: TelegramFileFetcher;
  readonly service: RestyleService;
  readonly store: JobStore;
  readonly files: { remove(path: string): Promise<void> };
  readonly videoLimits: VideoLimits;
  readonly statusIntervalMs: number;
  readonly logger: Logger;
}

/**
 * How requests and jobs look in Telegram: one status message per request (a reply to the clip,
 * or the picker it was started from), edited as the job moves, within each group's message budget.
 */
export class TelegramSurface implements ChatSurface {
  readonly platform = 'telegram';
  private readonly board: StatusBoard<Rendered, StatusMeta>;

  constructor(private readonly options: TelegramSurfaceOptions) {
    const { transport } = options;
    this.board = new StatusBoard<Rendered, StatusMeta>(
      options.service,
      {
        render: (view, meta, jobId, cancelable) => this.render(view, meta, jobId, cancelable),
        apply: async (rendered, meta) => {
          const { chatId, statusId } = meta.delivery;
          await this.editText(chatId, statusId, rendered.text, rendered.keyboard, transport.editApi);
          transport.groupBudget.note(chatId);
        },
        retryAfterMs,
        isGone,
        minIntervalMs: (meta) => this.statusIntervalFor(meta.delivery.chatId),
        holdMs: (meta) => transport.groupBudget.holdMs(meta.delivery.chatId),
        ended: (meta) => options.files.remove(meta.inputPath),
      },
      options.logger,
      Math.max(1_000, options.statusIntervalMs),
      options.store,
    );
  }

  async notify(request: IntakeRecord, notice: IntakeNotice): Promise<IntakeRecord['address']> {
    const { text, keyboard } = this.noticeText(request, notice);
    const address = request.address;
    if (typeof address.statusId === 'number') {
      await this.editText(Number(address.chatId), address.statusId, text, keyboard);
      return address;
    }
    // The status answers the message that asked (a command, or the clip itself).
    const askedId = typeof address.askedId === 'number' ? address.askedId : Number(address.replyTo);
    const statusId = await this.reply({ ...targetOfAddress(address), messageId: askedId }, text, keyboard);
    return { ...address, statusId };
  }

  async fetchClip(
    request: IntakeRecord,
    destPath: string,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<ClipFetch> {
    const { fileId, fileSizeBytes } = request.clip;
    if (typeof fileId !== 'string') return { kind: 'lost' };
    return this.options.fetcher.fetch(fileId, destPath, {
      maxBytes,
      claimedBytes: typeof fileSizeBytes === 'number' ? fileSizeBytes : undefined,
      signal,
    });
  }

  deliveryOf(request: IntakeRecord): Delivery {
    return { ...this.telegramDeliveryOf(request) };
  }

  private telegramDeliveryOf(request: IntakeRecord): TelegramDelivery {
    const { address } = request;
    return {
      platform: 'telegram',
      chatId: Number(address.chatId),
      replyTo: Number(address.replyTo),
      threadId: typeof address.threadId === 'number' ? address.threadId : null,
      statusId: Number(address.statusId),
      userId: Number(address.userId),
      locale: request.locale,
      clipId: String(address.clipId),
    };
  }

  follow(request: IntakeRecord, job: RestyleJob, missed: readonly JobEvent[]): void {
    this.board.followQueued(job.id, this.metaOf(this.telegramDeliveryOf(request), job), missed);
  }

  handle(jobId: string, event: JobEvent): void {
    this.board.handle(jobId, event);
  }

  /** After a restart: follows the unfinished jobs again, and brings ended ones' statuses up to date. */
  resume(jobs: readonly RestyleJob[]): Promise<void> {
    return this.board.resumeStored(jobs, (job) => {
      const delivery = telegramDelivery(job);
      return delivery && this.metaOf(delivery, job);
    });
  }

  /** Sends a message replying to `target`; resolves with its id. */
  async reply(target: ReplyTarget, text: string, keyboard?: InlineKeyboardMarkup): Promise<number> {
    const extra = {
      reply_parameters: { message_id: target.messageId, allow_sending_without_reply: true },
      // The older form too, for Bot API servers that predate reply_parameters.
      reply_to_message_id: target.messageId,
      allow_sending_without_reply: true,
      ...(target.threadId === null ? {} : { message_thread_id: target.threadId }),
      ...(keyboard ? { reply_markup: keyboard } : {}),
    };
    const sent = await this.options.transport.api.sendMessage(
      target.chatId,
      text,
      extra as Parameters<Telegram['sendMessage']>[2],
    );
    return sent.message_id;
  }

  /** Edits a message's text and buttons; "not modified" counts as done. */
  async editText(
    chatId: number,
    messageId: number,
    text: string,
    keyboard: InlineKeyboardMarkup | undefined,
    api: Telegram = this.options.transport.api,
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

  /** Resolves once every status message has sent what it has. */
  settled(): Promise<void> {
    return this.board.settled();
  }

  /** Stops following; pending edits get a moment to go out. */
  stop(): Promise<void> {
    return this.board.stop();
  }

  private noticeText(request: IntakeRecord, notice: IntakeNotice): Rendered {
    const { locale } = request;
    const style = styleById(request.styleId) ?? STYLES[0];
    const t = TEXT[locale];
    const plain = (text: string): Rendered => ({ text, keyboard: undefined });
    switch (notice.kind) {
      case 'checking':
        return plain(statusText({ kind: 'checking' }, style, locale));
      case 'quota-used':
        return plain(quotaText(notice.perDay, notice.resetInMs, locale));
      case 'duplicate':
        return plain(duplicateText(style.id, locale));
      case 'refused':
        return plain(
          refusalText({ kind: 'refused', reason: notice.reason, limit: notice.limit }, locale, '/cancel'),
        );
      case 'rejected':
        return {
          text: rejectionText(notice.violations, notice.fixable, locale),
          keyboard: notice.fixable
            ? fitKeyboard(String(request.address.clipId), style.id, locale)
            : undefined,
        };
      case 'download-too-large':
        return plain(
          downloadTooLargeText(notice.sizeBytes, notice.maxBytes, this.options.videoLimits, locale),
        );
      case 'download-failed':
        return plain(t.downloadFailed);
      case 'interrupted':
        return plain(t.interrupted);
      case 'internal-error':
        return plain(t.internalError);
    }
  }

  private metaOf(delivery: TelegramDelivery, job: RestyleJob): StatusMeta {
    return {
      delivery,
      style: styleById(job.styleId) ?? STYLES[0],
      inputPath: job.inputPath,
    };
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

  private render(view: StatusView, meta: StatusMeta, jobId: string, cancelable: boolean): Rendered {
    const { locale } = meta.delivery;
    let text = statusText(view, meta.style, locale);
    // Under every view but the last: what fitting changed, as measured once the fitted copy exists.
    const notes = fitChangesText(this.options.service.job(jobId)?.changes ?? [], locale);
    if (notes && !isFinalView(view)) text += `\n${notes}`;
    if (view.kind === 'done' && view.uncertain) {
      // The same clip in the same style again: the result cache answers it, nothing is billed.
      return { text, keyboard: sendAgainKeyboard(meta.delivery.clipId, meta.style.id, locale) };
    }
    return { text, keyboard: cancelable ? cancelKeyboard(jobId, locale) : undefined };
  }
}

function targetOfAddress(address: IntakeRecord['address']): ReplyTarget {
  return {
    chatId: Number(address.chatId),
    messageId: Number(address.replyTo),
    threadId: typeof address.threadId === 'number' ? address.threadId : null,
  };
}
