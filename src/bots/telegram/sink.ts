import { stat } from 'node:fs/promises';
import type { Telegram } from 'telegraf';
import { TelegramError } from 'telegraf';
import { RemoteError } from '../../core/errors.ts';
import { planFit } from '../../core/fit.ts';
import type { RestyleJob } from '../../core/job.ts';
import { DEFAULT_LIMITS, type VideoFacts, type VideoLimits } from '../../core/limits.ts';
import type { JobStore, Logger, Transcoder, VideoProbe } from '../../core/ports.ts';
import type { DeliverySink, ServiceFiles } from '../../core/service.ts';
import { type Locale, STYLES, styleById } from '../../core/styles.ts';
import { formatMebibytes } from '../shared/chat.ts';
import { describeApiError, isChatClosed } from './api.ts';
import { styleKeyboard } from './keyboards.ts';

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
export interface TelegramSinkOptions {
  readonly telegram: Telegram;
  readonly store: JobStore;
  readonly probe: VideoProbe;
  readonly transcoder: Transcoder;
  readonly files: Pick<ServiceFiles, 'remove'>;
  readonly tempPath: (suffix: string) => string;
  /** Largest upload the Bot API server takes (50 MB in the cloud). */
  readonly maxUploadBytes: number;
  readonly logger: Logger;
  /** How often the "sending video…" indicator is renewed (it shows for 5 s). */
  readonly chatActionEveryMs?: number;
}

/** Share of the upload limit a re-encode aims for, then a smaller one if that still did not fit. */
const SHRINK_TARGETS = [0.92, 0.75, 0.55] as const;
const SENT_TTL_MS = 7 * 24 * 3_600_000;

/** Key of the record saying a job's video was sent (so a restart never sends it twice). */
export function sentRecordKey(jobId: string): string {
  return `telegram:sent:${jobId}`;
}

/** Delivers results as a video replying to the original clip, with buttons for another style. */
export class TelegramDeliverySink implements DeliverySink {
  constructor(private readonly options: TelegramSinkOptions) {}

  /** Resolves once Telegram accepted the video (or had it already); rejects when it cannot be sent. */
  async deliver(job: RestyleJob, resultPath: string, signal?: AbortSignal): Promise<void> {
    const delivery = telegramDelivery(job);
    if (!delivery) throw new Error(`job ${job.id} has no Telegram delivery`);
    const { store, logger } = this.options;
    if (await store.getRecord(sentRecordKey(job.id))) {
      logger.info('result was sent before a restart; not sending it again', { jobId: job.id });
      return;
    }
    const stopAction = this.keepChatAction(delivery);
    const temps: string[] = [];
    try {
      let path = resultPath;
      let shrunk: { fromBytes: number } | undefined;
      const bytes = (await stat(path)).size;
      let facts = await this.facts(path, signal);
      for (let attempt = 0; ; attempt += 1) {
        const size = (await stat(path)).size;
        if (size > this.options.maxUploadBytes) {
          const target = SHRINK_TARGETS[attempt];
          if (target === undefined || !facts) throw this.tooLarge(size);
          const out = this.options.tempPath('.mp4');
          temps.push(out);
          await this.shrink(path, facts, out, Math.floor(this.options.maxUploadBytes * target), signal);
          path = out;
          shrunk = { fromBytes: bytes };
          facts = await this.facts(path, signal);
          continue;
        }
        try {
          const messageId = await this.send(job, delivery, path, facts, shrunk);
          await store.setRecord(sentRecordKey(job.id), { messageId }, SENT_TTL_MS);
          return;
        } catch (error) {
          // The server measures differently (or has a lower limit than configured): shrink more.
          if (
            error instanceof TelegramError &&
            error.code === 413 &&
            facts &&
            attempt + 1 < SHRINK_TARGETS.length
          ) {
            const out = this.options.tempPath('.mp4');
            temps.push(out);
            await this.shrink(path, facts, out, Math.floor(size * 0.7), signal);
            path = out;
            shrunk = { fromBytes: bytes };
            facts = await this.facts(path, signal);
            continue;
          }
          throw this.sendFailure(error);
        }
      }
    } finally {
      stopAction();
      for (const temp of temps) await this.options.files.remove(temp);
    }
  }

  private async facts(path: string, signal?: AbortSignal): Promise<VideoFacts | undefined> {
    const probed = await this.options.probe.probe(path, signal);
    return probed.kind === 'video' ? probed.facts : undefined;
  }

  /** Re-encodes to H.264 with a bitrate that fits `maxBytes`; size and length stay. */
  private async shrink(
    path: string,
    facts: VideoFacts,
    out: string,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const limits: VideoLimits = {
      ...DEFAULT_LIMITS,
      minSidePx: 1,
      maxSidePx: Math.max(facts.displayWidth, facts.displayHeight, DEFAULT_LIMITS.maxSidePx),
      maxAspectRatio: Number.POSITIVE_INFINITY,
      maxDurationSec: Math.ceil(facts.durationSec) + 1,
      maxSizeBytes: maxBytes,
    };
    const plan = planFit({ ...facts, sizeBytes: Math.max(facts.sizeBytes, maxBytes + 1) }, limits);
    if (!plan) throw this.tooLarge(facts.sizeBytes);
    this.options.logger.info('re-encoding a result to fit the upload limit', {
      fromBytes: facts.sizeBytes,
      maxBytes,
      videoBitrateKbps: plan.videoBitrateKbps,
    });
    await this.options.transcoder.fit(path, out, plan, signal);
  }

  private async send(
    job: RestyleJob,
    delivery: TelegramDelivery,
    path: string,
    facts: VideoFacts | undefined,
    shrunk: { fromBytes: number } | undefined,
  ): Promise<number> {
    const style = styleById(job.styleId) ?? STYLES[0];
    const { locale } = delivery;
    const zh = locale === 'zh';
    const lines = [zh ? `🎨 ${style.names.zh}` : `🎨 ${style.names.en}`];
    if (shrunk) {
      lines.push(
        zh
          ? `（已从 ${formatMebibytes(shrunk.fromBytes)} 压缩，以符合 Telegram 的 ${formatMebibytes(this.options.maxUploadBytes)} 上传限制）`
          : `(compressed from ${formatMebibytes(shrunk.fromBytes)} to fit Telegram's ${formatMebibytes(this.options.maxUploadBytes)} upload limit)`,
      );
    }
    lines.push(zh ? '想换个风格？点下面的按钮：' : 'Another style? Tap one below:');
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

  private tooLarge(bytes: number): RemoteError {
    return new RemoteError({
      kind: 'result',
      code: 'ResultTooLarge',
      message: `the result (${formatMebibytes(bytes)}) could not be brought under the ${formatMebibytes(this.options.maxUploadBytes)} upload limit`,
    });
  }

  private sendFailure(error: unknown): Error {
    return new RemoteError({
      kind: 'result',
      code: isChatClosed(error) ? 'ChatClosed' : 'SendFailed',
      message: `Telegram did not take the video: ${describeApiError(error)}`,
    });
  }
}
