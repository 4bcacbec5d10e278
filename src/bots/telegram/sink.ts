import type { Telegram } from 'telegraf';
import { TelegramError } from 'telegraf';
import { RemoteError } from '../../core/errors.ts';
import type { RestyleJob } from '../../core/job.ts';
import type { VideoFacts } from '../../core/limits.ts';
import type { DeliveryReceipt, DeliverySink } from '../../core/ports.ts';
import { type Locale, STYLES, styleById } from '../../core/styles.ts';
import { formatMebibytes } from '../../text/index.ts';
import type { BotDeps } from '../shared/deps.ts';
import { UploadFitter } from '../shared/upload-fit.ts';
import { describeApiError, isChatClosed } from './api.ts';
import { styleKeyboard } from './keyboards.ts';
import { sayTelegram } from './wording.ts';

/** Where a Telegram job's result goes, as kept in `job.delivery`. */
export interface TelegramDelivery {
  readonly platform: 'telegram';
  readonly chatId: number;
  /** The message holding the original clip: the result replies to it. */
  readonly replyTo: number;
  /** Forum topic of the clip, or null. */
  readonly threadId: number | null;
  /** The job's status message. */
  readonly statusId: number;
  readonly userId: number;
  readonly locale: Locale;
  /** Record of the clip, for the "another style" buttons. */
  readonly clipId: string;
}

/** Reads a job's Telegram delivery; `undefined` when the job is not a Telegram one. */
export function telegramDelivery(job: RestyleJob): TelegramDelivery | undefined {
  const d = job.delivery;
  if (d.platform !== 'telegram' || typeof d.chatId !== 'number' || typeof d.statusId !== 'number')
    return undefined;
  return {
    platform: 'telegram',
    chatId: d.chatId,
    replyTo: Number(d.replyTo),
    threadId: typeof d.threadId === 'number' ? d.threadId : null,
    statusId: d.statusId,
    userId: Number(d.userId),
    locale: d.locale === 'zh' ? 'zh' : 'en',
    clipId: String(d.clipId),
  };
}

/** Options of the Telegram delivery. */
export interface TelegramSinkOptions
  extends Pick<BotDeps, 'probe' | 'transcoder' | 'files' | 'tempPath' | 'logger'> {
  readonly telegram: Telegram;
  /** Largest upload the Bot API server takes (50 MB in the cloud). */
  readonly maxUploadBytes: number;
  /** How often the "sending video…" indicator is renewed (it shows for 5 s). */
  readonly chatActionEveryMs?: number;
}

/** Delivers results as a video replying to the original clip, with buttons for another style. */
export class TelegramDeliverySink implements DeliverySink {
  constructor(private readonly options: TelegramSinkOptions) {}

  /** Resolves with the sent message's id once Telegram accepted the video; rejects when it cannot be sent. */
  async deliver(
    job: RestyleJob,
    resultPath: string,
    signal?: AbortSignal,
    beforeSend?: () => Promise<void>,
  ): Promise<DeliveryReceipt> {
    const delivery = telegramDelivery(job);
    if (!delivery) throw new Error(`job ${job.id} has no Telegram delivery`);
    const stopAction = this.keepChatAction(delivery);
    const fitter = new UploadFitter({ ...this.options, remove: (path) => this.options.files.remove(path) });
    try {
      let upload = await fitter.fit(resultPath, this.options.maxUploadBytes, signal);
      let shrunkFromBytes = upload.shrunkFromBytes;
      for (let attempt = 0; ; attempt += 1) {
        try {
          await beforeSend?.();
          const messageId = await this.send(job, delivery, upload.path, upload.facts, shrunkFromBytes);
          return { messageId };
        } catch (error) {
          // The server measures differently or has a lower limit than configured: go smaller.
          if (error instanceof TelegramError && error.code === 413 && attempt < 2) {
            upload = await fitter.fit(upload.path, Math.floor(upload.bytes * 0.7), signal);
            shrunkFromBytes ??= upload.shrunkFromBytes;
            continue;
          }
          throw this.sendFailure(error);
        }
      }
    } finally {
      stopAction();
      await fitter.release();
    }
  }

  /**
   * A crash came between sending the video and recording it. A bot cannot read a chat's history,
   * so whether Telegram took it cannot be known: rather than risk a second copy, the status says so
   * and offers the video again (from the result cache, free of charge).
   */
  async resumeInterrupted(job: RestyleJob): Promise<DeliveryReceipt> {
    this.options.logger.warn(
      'a restart interrupted sending a video; offering it again instead of resending',
      {
        jobId: job.id,
      },
    );
    return { uncertain: true };
  }

  private async send(
    job: RestyleJob,
    delivery: TelegramDelivery,
    path: string,
    facts: VideoFacts | undefined,
    shrunkFromBytes: number | undefined,
  ): Promise<number> {
    const style = styleById(job.styleId) ?? STYLES[0];
    const { locale } = delivery;
    const lines = [sayTelegram(locale, 'telegram.result.style', { style: style.names[locale] })];
    if (shrunkFromBytes !== undefined) {
      lines.push(
        sayTelegram(locale, 'telegram.result.compressed', {
          from: formatMebibytes(shrunkFromBytes),
          limit: formatMebibytes(this.options.maxUploadBytes),
        }),
      );
    }
    lines.push(sayTelegram(locale, 'telegram.result.another'));
    const extra = {
      caption: lines.join('\n'),
      supports_streaming: true,
      ...(facts
        ? {
            width: facts.displayWidth,
            height: facts.displayHeight,
            duration: Math.max(1, Math.round(facts.durationSec)),
          }
        : {}),
      ...(delivery.threadId === null ? {} : { message_thread_id: delivery.threadId }),
      // telegraf sends multipart fields that are objects as files, unless they are JSON strings.
      reply_parameters: JSON.stringify({ message_id: delivery.replyTo, allow_sending_without_reply: true }),
      reply_to_message_id: delivery.replyTo,
      allow_sending_without_reply: true,
      reply_markup: styleKeyboard(delivery.clipId, 'again', locale, job.styleId),
    };
    const file = { source: path, filename: `restyled-${style.slug}.mp4` };
    try {
      const sent = await this.options.telegram.sendVideo(delivery.chatId, file, extra as never);
      return sent.message_id;
    } catch (error) {
      // Some files are refused as videos (codec, size claims) but accepted as documents.
      if (error instanceof TelegramError && error.code === 400 && !isChatClosed(error)) {
        this.options.logger.warn('sendVideo refused the result; sending it as a document', {
          jobId: job.id,
          error: describeApiError(error),
        });
        const {
          supports_streaming: _s,
          width: _w,
          height: _h,
          duration: _d,
          ...documentExtra
        } = extra as Record<string, unknown>;
        const sent = await this.options.telegram.sendDocument(delivery.chatId, file, documentExtra as never);
        return sent.message_id;
      }
      throw error;
    }
  }

  /** Repeats "sending video…" while the upload runs (each one shows for about 5 s). */
  private keepChatAction(delivery: TelegramDelivery): () => void {
    const extra = delivery.threadId === null ? {} : { message_thread_id: delivery.threadId };
    const once = () => {
      this.options.telegram.sendChatAction(delivery.chatId, 'upload_video', extra).catch((error: unknown) => {
        this.options.logger.debug('chat action failed', { error: describeApiError(error) });
      });
    };
    once();
    const timer = setInterval(once, this.options.chatActionEveryMs ?? 4_500);
    return () => clearInterval(timer);
  }

  private sendFailure(error: unknown): Error {
    return new RemoteError({
      kind: 'result',
      code: isChatClosed(error) ? 'ChatClosed' : 'SendFailed',
      message: `Telegram did not take the video: ${describeApiError(error)}`,
    });
  }
}
