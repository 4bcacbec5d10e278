import { AbortedError } from '../errors.ts';
import type { JobFailure, JobState, Requester, RestyleJob } from '../job.ts';
import { isTerminal } from '../job.ts';
import type { VideoLimits } from '../limits.ts';
import type {
  DeliverySink,
  Downloader,
  JobStore,
  Lane,
  MediaHost,
  ServiceFiles,
  Transcoder,
  VideoProbe,
} from '../ports.ts';
import { loadSpeed, type SpeedModel } from '../speed.ts';
import type { TaskDeps } from '../task.ts';
import { ResultDelivery } from './delivery.ts';
import type { JobStatus } from './estimator.ts';
import { isFinalEvent, JobEvents, type JobObserver } from './events.ts';
import { Intake, type RequestOutcome, type RestyleRequestInput } from './intake.ts';
import { JobBook } from './job-book.ts';
import { InProcessLane } from './lane.ts';
import { Preparation } from './preparation.ts';
import { recoverJobs } from './recovery.ts';
import { ResultCache } from './result-cache.ts';
import { Scheduler } from './scheduler.ts';
import { DEFAULT_QUEUE_LIMITS, type QueueLimits, WaitingLine } from './waiting-line.ts';

export type { JobStatus } from './estimator.ts';
export type { JobEvent, JobObserver } from './events.ts';
export type { RequestOutcome, RestyleRequestInput } from './intake.ts';
export { DEFAULT_QUEUE_LIMITS, type QueueLimits } from './waiting-line.ts';

/** Everything the service needs from outside. */
export interface ServiceDeps extends TaskDeps {
  readonly probe: VideoProbe;
  readonly transcoder: Transcoder;
  readonly host: MediaHost;
  readonly downloader: Downloader;
  readonly limits: VideoLimits;
  /** Largest result accepted from the backend. */
  readonly maxResultBytes: number;
  /** Makes a fresh temporary file name. */
  readonly tempPath: (suffix: string) => string;
  readonly store: JobStore;
  readonly files: ServiceFiles;
  /** Delivery per platform (`job.delivery.platform`). */
  readonly sinks: ReadonlyMap<string, DeliverySink>;
  readonly speed: SpeedModel;
  readonly queueLimits?: QueueLimits;
  /** How long a result may be reused for the same input, style and fps (24 h by default). */
  readonly resultCacheTtlMs?: number;
  /** Creates job ids. */
  readonly newId: () => string;
  /** How many waiting jobs are fitted and uploaded ahead of their turn. */
  readonly prepareAhead?: number;
  /** The lanes in front of the backend (one per key); by default one `InProcessLane` over `backend`. */
  readonly lanes?: readonly Lane[];
  /** When every key is set aside: keep the jobs until one works (`wait`, default) or end them (`fail`). */
  readonly keysOut?: 'wait' | 'fail';
}

/** The answer to a cancel request. */
export type CancelOutcome =
  | { readonly kind: 'canceled'; readonly job: RestyleJob }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-allowed' }
  | { readonly kind: 'too-late'; readonly state: JobState['kind'] };

/**
 * The global, fair, durable restyle queue. Lanes in front of DashScope (one task at a time each,
 * submits a second apart) are held only from submit to the task's end: fitting and uploading
 * happen ahead of a job's turn, fetching and delivery after it.
 */
export class RestyleService {
  private readonly shutdown = new AbortController();
  private readonly line = new WaitingLine();
  private readonly book: JobBook;
  private readonly events: JobEvents;
  private readonly resultCache: ResultCache;
  private readonly delivery: ResultDelivery;
  private readonly preparation: Preparation;
  private readonly scheduler: Scheduler;
  private readonly intake: Intake;

  constructor(private readonly deps: ServiceDeps) {
    const signal = this.shutdown.signal;
    this.book = new JobBook(deps.store, deps.clock, (job) => this.releaseMedia(job.id));
    this.events = new JobEvents(deps.logger);
    this.resultCache = new ResultCache(deps.store, deps.logger, deps.resultCacheTtlMs);
    const lanes = deps.lanes ?? [new InProcessLane(deps)];
    this.preparation = new Preparation(deps, this.book, signal);
    this.delivery = new ResultDelivery(
      deps,
      this.book,
      this.events,
      { requeue: (jobId) => this.requeue(jobId), fail: (jobId, failure) => this.fail(jobId, failure) },
      signal,
    );
    this.scheduler = new Scheduler(
      {
        ...deps,
        lanes,
        line: this.line,
        book: this.book,
        events: this.events,
        preparation: this.preparation,
        delivery: this.delivery,
        resultCache: this.resultCache,
        prepareAhead: deps.prepareAhead ?? Math.max(2, lanes.length),
        keysOut: deps.keysOut ?? 'wait',
        fail: (jobId, failure) => this.fail(jobId, failure),
      },
      signal,
    );
    this.intake = new Intake(
      {
        ...deps,
        queueLimits: deps.queueLimits ?? DEFAULT_QUEUE_LIMITS,
        line: this.line,
        book: this.book,
        events: this.events,
        resultCache: this.resultCache,
        delivery: this.delivery,
        scheduler: this.scheduler,
      },
      signal,
    );
  }

  /**
   * Loads the store and resumes every unfinished job `filter` accepts: waiting jobs in their order,
   * submitted tasks polled again (never resubmitted), fetched results delivered. Resolves once resumed.
   */
  async start(filter: (job: RestyleJob) => boolean = () => true): Promise<RestyleJob[]> {
    await loadSpeed(this.deps.store, this.deps.speed);
    const stored = await this.deps.store.list();
    this.intake.seqAtLeast(stored.reduce((max, job) => Math.max(max, job.seq), 0));
    this.scheduler.pause();
    try {
      return await recoverJobs(stored, filter, {
        book: this.book,
        scheduler: this.scheduler,
        delivery: this.delivery,
        logger: this.deps.logger,
        signal: this.shutdown.signal,
      });
    } finally {
      this.scheduler.resume();
    }
  }

  /** Removes what was hosted for an ended job, in the background; a failure is logged, not fatal. */
  private releaseMedia(jobId: string): void {
    const { host, logger } = this.deps;
    host.release?.(jobId).catch((error: unknown) => {
      logger.warn('could not remove the hosted input of an ended job', { jobId, error: String(error) });
    });
  }

  /** Subscribes to "something in the queue changed", at most once per tick however much changed. */
  onChange(listener: () => void): () => void {
    return this.events.onChange(listener);
  }

  /** Follows one job's events. */
  observe(jobId: string, observer: JobObserver): () => void {
    return this.events.observe(jobId, observer);
  }

  /** Jobs waiting for a lane. */
  get waitingCount(): number {
    return this.line.size;
  }

  /**
   * Checks a clip and queues it. Answers at once with the queue position, a cached result, or
   * every reason it cannot be accepted; never waits for the job. While a clip is being checked it
   * holds a place under the caps, so a burst from one person cannot slip past them.
   */
  async request(input: RestyleRequestInput, observer?: JobObserver): Promise<RequestOutcome> {
    return this.intake.request(input, observer);
  }

  /**
   * Where a job stands: position and ETA while waiting, fraction and elapsed time while its task
   * runs. O(rounds) for a waiting job (bounded by the per-user cap), O(lanes) otherwise.
   */
  status(jobId: string): JobStatus | undefined {
    return this.scheduler.status(jobId);
  }

  /** A job as last saved by this process. */
  job(jobId: string): RestyleJob | undefined {
    return this.book.get(jobId);
  }

  /** Unfinished jobs of one requester, oldest first (for "my queue" commands). */
  jobsOf(requesterKey: string): RestyleJob[] {
    return this.book.unfinishedOf(requesterKey);
  }

  /**
   * Cancels a job: its requester may cancel it until its task runs, an operator at any time
   * before delivery. A task still PENDING at DashScope is canceled there too.
   */
  async cancel(jobId: string, by: Requester): Promise<CancelOutcome> {
    const job = this.book.get(jobId);
    if (!job) return { kind: 'not-found' };
    if (!by.operator && by.key !== job.requester.key) return { kind: 'not-allowed' };
    const run = this.scheduler.runOf(jobId);
    if (run) {
      if (!by.operator && run.record.remote === 'running') return { kind: 'too-late', state: job.state.kind };
      await this.scheduler.cancel(jobId, by.key);
      const after = this.book.get(jobId)!;
      return after.state.kind === 'canceled'
        ? { kind: 'canceled', job: after }
        : { kind: 'too-late', state: after.state.kind };
    }
    if (job.state.kind !== 'waiting') return { kind: 'too-late', state: job.state.kind };
    // Waiting in line, or taken by a lane and still being prepared: the lane lets it go.
    this.scheduler.remove(jobId);
    const canceled = await this.book.update(jobId, { kind: 'canceled', by: by.key, remote: 'none' });
    this.events.emit(jobId, { type: 'canceled', job: canceled });
    return { kind: 'canceled', job: canceled };
  }

  /** Stops intake and polling; everything stays in the store, resumable by `start`. */
  async stop(): Promise<void> {
    // Only the shutdown signal fires: a run interrupted this way keeps its state for the next start.
    this.shutdown.abort(new AbortedError('the service is stopping'));
    // Runs first: one ending now may still hand its result to delivery (which then stops at once).
    await this.scheduler.drain();
    await Promise.allSettled([this.delivery.drain(), this.preparation.drain()]);
  }

  /** Resolves once the job is terminal (delivered, failed, canceled). */
  async settled(jobId: string): Promise<RestyleJob> {
    const job = this.book.get(jobId);
    if (job && isTerminal(job.state)) return job;
    return new Promise((resolve) => {
      const stop = this.observe(jobId, (event) => {
        if (isFinalEvent(event)) {
          stop();
          resolve(this.book.get(jobId)!);
        }
      });
    });
  }

  /** A reused result that cannot be fetched any more: the job is restyled afresh. */
  private async requeue(jobId: string): Promise<void> {
    this.scheduler.enqueue(await this.book.update(jobId, { kind: 'waiting' }));
  }

  private async fail(jobId: string, failure: JobFailure): Promise<void> {
    this.deps.logger.warn('job failed', { jobId, ...failure });
    const failed = await this.book.update(jobId, { kind: 'failed', failure });
    this.events.emit(jobId, { type: 'failed', job: failed, failure });
  }
}
