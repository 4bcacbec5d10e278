import { z } from 'zod';
import { RemoteError } from '../errors.ts';
import { failureOf, type JobFailure, type RestyleJob } from '../job.ts';
import type {
  Clock,
  DeliveryReceipt,
  DeliverySink,
  Downloader,
  Logger,
  RecordStore,
  ServiceFiles,
} from '../ports.ts';
import { defineScope, openScope, type RecordScope } from '../records.ts';
import type { JobEvents } from './events.ts';
import type { JobBook } from './job-book.ts';

/** Results a sink has handed over, by job id: checked before a sink is called, so none is sent twice. */
export const SENT_SCOPE = defineScope({
  name: 'delivery.sent',
  schema: z.object({
    platform: z.string(),
    messageId: z.union([z.string(), z.number()]).optional(),
    uncertain: z.boolean().optional(),
    atMs: z.number(),
  }),
  ttlMs: 7 * 24 * 3_600_000,
});

/** Hand-overs started, by job id: one found without its receipt was interrupted by a crash. */
export const SENDING_SCOPE = defineScope({
  name: 'delivery.sending',
  schema: z.object({ platform: z.string(), atMs: z.number() }),
  ttlMs: 7 * 24 * 3_600_000,
});

/** What delivering results needs. */
export interface DeliveryDeps {
  readonly downloader: Downloader;
  readonly files: ServiceFiles;
  /** Delivery per platform (`job.delivery.platform`). */
  readonly sinks: ReadonlyMap<string, DeliverySink>;
  /** Largest result accepted from the backend. */
  readonly maxResultBytes: number;
  readonly store: RecordStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** What the owner decides when a delivery cannot go on. */
export interface DeliveryEnds {
  /** A reused result could not be fetched any more: restyle the job afresh. */
  requeue(jobId: string): Promise<void>;
  /** The job cannot be delivered. */
  fail(jobId: string, failure: JobFailure): Promise<void>;
}

/**
 * Fetches a finished result and hands it to the platform's sink, outside any lane. One guard for
 * every platform: a sink that resolved once for a job is never called again for it, even after a
 * restart between the hand-over and saving `delivered`.
 */
export class ResultDelivery {
  private readonly running = new Map<string, Promise<void>>();
  private readonly sent: RecordScope<z.infer<typeof SENT_SCOPE.schema>>;
  private readonly sending: RecordScope<z.infer<typeof SENDING_SCOPE.schema>>;

  constructor(
    private readonly deps: DeliveryDeps,
    private readonly book: JobBook,
    private readonly events: JobEvents,
    private readonly ends: DeliveryEnds,
    private readonly signal: AbortSignal,
  ) {
    this.sent = openScope(deps.store, SENT_SCOPE);
    this.sending = openScope(deps.store, SENDING_SCOPE);
  }

  /** Fetches (when `fetching`) and delivers the job in the background; `cached` for a reused result. */
  start(job: RestyleJob, cached = false): void {
    if (this.running.has(job.id)) return;
    const promise = this.deliver(job.id, cached)
      .catch(async (error: unknown) => {
        if (this.signal.aborted) return;
        if (cached && this.book.get(job.id)?.state.kind === 'fetching') {
          this.deps.logger.warn('cached result unavailable; queueing the job', { jobId: job.id });
          await this.ends.requeue(job.id);
          return;
        }
        await this.ends.fail(job.id, failureOf(error));
      })
      .catch((error: unknown) => {
        this.deps.logger.error('could not record the end of a delivery', {
          jobId: job.id,
          error: String(error),
        });
      })
      .finally(() => this.running.delete(job.id));
    this.running.set(job.id, promise);
  }

  /** Resolves once every delivery under way has ended. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  private async deliver(jobId: string, cached: boolean): Promise<void> {
    const { deps, signal } = this;
    let job = this.book.get(jobId)!;
    if (job.state.kind === 'fetching') {
      const resultPath = deps.files.resultPath(job.id);
      await deps.downloader.download(job.state.outputUrl, resultPath, {
        maxBytes: deps.maxResultBytes,
        signal,
      });
      job = await this.book.update(job.id, {
        kind: 'fetched',
        taskId: job.state.taskId,
        resultPath,
        cached,
        outputUrl: job.state.outputUrl,
      });
      this.events.emit(job.id, { type: 'fetched', job });
    }
    if (job.state.kind !== 'fetched') return;
    const { resultPath, taskId } = job.state;
    let uncertain = false;
    const sent = await this.sent.get(job.id);
    if (sent) {
      deps.logger.info('result was sent before a restart; not sending it again', { jobId: job.id });
      uncertain = sent.uncertain === true;
    } else {
      uncertain = (await this.handOver(job, resultPath)).uncertain === true;
    }
    // The receipt is on record, so the copy is no longer needed even if a crash comes next.
    await deps.files.remove(resultPath);
    const delivered = await this.book.update(job.id, {
      kind: 'delivered',
      taskId,
      cached: job.state.cached,
      atMs: deps.clock.now(),
      ...(uncertain ? { uncertain } : {}),
    });
    await this.sending.delete(job.id);
    this.events.emit(job.id, { type: 'delivered', job: delivered });
  }

  /** Calls the platform's sink and records its receipt the moment it resolves. */
  private async handOver(job: RestyleJob, resultPath: string): Promise<DeliveryReceipt> {
    const { deps } = this;
    if (!(await deps.files.exists(resultPath))) {
      throw new RemoteError({
        kind: 'result',
        code: 'ResultMissing',
        message: 'The fetched result is missing',
      });
    }
    const { platform } = job.delivery;
    const sink = deps.sinks.get(platform);
    if (!sink) throw new Error(`no delivery for platform ${platform}`);
    // Recorded right before the platform is asked: a crash mid-hand-over is then known for what it is.
    const interrupted = (await this.sending.get(job.id)) !== undefined;
    const beforeSend = () => this.sending.set(job.id, { platform, atMs: deps.clock.now() });
    const receipt =
      interrupted && sink.resumeInterrupted
        ? await sink.resumeInterrupted(job, resultPath, this.signal)
        : await sink.deliver(job, resultPath, this.signal, beforeSend);
    await this.sent.set(job.id, {
      platform,
      ...(receipt?.messageId === undefined ? {} : { messageId: receipt.messageId }),
      ...(receipt?.uncertain ? { uncertain: true } : {}),
      atMs: deps.clock.now(),
    });
    return receipt ?? {};
  }
}
