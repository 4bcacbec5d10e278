import PQueue from 'p-queue';
import { AbortedError, isAbort, RemoteError } from './errors.ts';
import { FairQueue } from './fairness.ts';
import { type FitChange, planFit } from './fit.ts';
import {
  type Delivery,
  isTerminal,
  type JobFailure,
  type JobState,
  type Requester,
  type RestyleJob,
} from './job.ts';
import type { VideoLimits } from './limits.ts';
import { allFixable, checkProbe, type LimitViolation } from './limits.ts';
import type {
  Downloader,
  HostedMedia,
  JobStore,
  MediaHost,
  TaskSnapshot,
  Transcoder,
  VideoProbe,
} from './ports.ts';
import { SPEED_RECORD_KEY, type SpeedModel, type SpeedRecord } from './speed.ts';
import { awaitTask, estimateFraction, type TaskDeps } from './task.ts';

/** Hands a finished result to whoever asked, on their platform. */
export interface DeliverySink {
  /** Resolves once the requester has the result; rejects to have delivery retried later. */
  deliver(job: RestyleJob, resultPath: string, signal?: AbortSignal): Promise<void>;
}

/** File operations the service needs (hashing inputs, keeping results). */
export interface ServiceFiles {
  /** sha256 of a file's bytes, hex. */
  hash(path: string): Promise<string>;
  /** Where a job's result is kept until delivered (survives restarts). */
  resultPath(jobId: string): string;
  /** Removes a file if it exists. */
  remove(path: string): Promise<void>;
  /** True when the file exists. */
  exists(path: string): Promise<boolean>;
}

/** Bounds of the queue. */
export interface QueueLimits {
  /** Jobs one requester may have waiting (not yet submitted). */
  readonly maxWaitingPerUser: number;
  /** Jobs waiting in total. */
  readonly maxWaitingTotal: number;
}

export const DEFAULT_QUEUE_LIMITS = {
  maxWaitingPerUser: 2,
  maxWaitingTotal: 200,
} as const satisfies QueueLimits;

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
}

/** What a requester asks for. */
export interface RestyleRequestInput {
  readonly requester: Requester;
  readonly delivery: Delivery;
  /** A local file the service may read until the job ends. */
  readonly inputPath: string;
  readonly styleId: number;
  readonly fps: number;
  /** Repair fixable limit violations instead of rejecting them. */
  readonly fit: boolean;
}

/** The immediate answer to a request; the job itself goes on in the background. */
export type RequestOutcome =
  | { readonly kind: 'queued'; readonly job: RestyleJob; readonly position: number; readonly etaMs: number }
  /** The same input, style and fps was restyled recently: the result is reused, nothing is billed. */
  | { readonly kind: 'cached'; readonly job: RestyleJob }
  | { readonly kind: 'rejected'; readonly violations: readonly LimitViolation[]; readonly unfixable: boolean }
  | {
      readonly kind: 'refused';
      readonly reason: 'user-cap' | 'queue-full' | 'stopped';
      readonly limit: number;
    };

/** Where a job is right now, for status messages. */
export interface JobStatus {
  readonly job: RestyleJob;
  /** 1-based place among waiting jobs; `undefined` once it left the queue. */
  readonly position: number | undefined;
  /** Estimated time until the result is ready. */
  readonly etaMs: number | undefined;
  /** Estimated fraction of the remote work done while submitted. */
  readonly fraction: number | undefined;
  /** Since the remote task was submitted. */
  readonly elapsedMs: number | undefined;
}

/** Events about one job, for whoever follows it. */
export type JobEvent =
  | { readonly type: 'queued'; readonly status: JobStatus }
  | { readonly type: 'started'; readonly status: JobStatus }
  | { readonly type: 'progress'; readonly status: JobStatus }
  | { readonly type: 'fetched'; readonly job: RestyleJob }
  | { readonly type: 'delivered'; readonly job: RestyleJob }
  | { readonly type: 'failed'; readonly job: RestyleJob; readonly failure: JobFailure }
  | { readonly type: 'canceled'; readonly job: RestyleJob };

export type JobObserver = (event: JobEvent) => void;

/** The answer to a cancel request. */
export type CancelOutcome =
  | { readonly kind: 'canceled'; readonly job: RestyleJob }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-allowed' }
  | { readonly kind: 'too-late'; readonly state: JobState['kind'] };

/** A run of the lane: the job whose remote task currently holds DashScope's single slot. */
interface LaneRun {
  readonly jobId: string;
  readonly controller: AbortController;
  submittedAtMs: number | undefined;
  expectedMs: number;
  remote: 'pending' | 'running' | undefined;
}

function failureOf(error: unknown): JobFailure {
  if (error instanceof RemoteError) {
    return {
      kind: error.kind,
      code: error.code,
      message: error.message,
      requestId: error.requestId,
      taskId: error.taskId,
    };
  }
  return {
    kind: 'internal',
    code: 'InternalError',
    message: error instanceof Error ? error.message : String(error),
  };
}

/**
 * The global, fair, durable restyle queue. One lane in front of DashScope (one task at a time,
 * at most one submit per second): it is held only from submit to the task's terminal status;
 * fitting and uploading happen ahead of a job's turn, and fetching and delivery after it.
 */
export class RestyleService {
  private readonly waiting = new FairQueue<{ id: string; requesterKey: string }>();
  private readonly jobs = new Map<string, RestyleJob>();
  private readonly observers = new Map<string, Set<JobObserver>>();
  private readonly listeners = new Set<() => void>();
  private readonly lane = new PQueue({ concurrency: 1, intervalCap: 1, interval: 1_000 });
  private readonly preparing = new Map<string, Promise<HostedMedia>>();
  private readonly deliveries = new Map<string, Promise<void>>();
  private readonly shutdown = new AbortController();
  private current: LaneRun | undefined;
  private waitingDurationSec = 0;
  private notifyScheduled = false;
  private seq = 0;
  private stopped = false;
  private readonly limits: QueueLimits;

  constructor(private readonly deps: ServiceDeps) {
    this.limits = deps.queueLimits ?? DEFAULT_QUEUE_LIMITS;
    // 'next' fires once a run has left the lane, so the next one can be added.
    this.lane.on('next', () => this.pump());
  }

  /**
   * Loads the store and resumes every unfinished job: waiting jobs in their order, submitted
   * tasks polled again (never resubmitted), fetched results delivered. Resolves once resumed.
   */
  async start(filter: (job: RestyleJob) => boolean = () => true): Promise<RestyleJob[]> {
    this.deps.speed.restore(await this.deps.store.getRecord<SpeedRecord>(SPEED_RECORD_KEY));
    const stored = (await this.deps.store.list()).sort((a, b) => a.seq - b.seq);
    this.seq = stored.reduce((max, job) => Math.max(max, job.seq), this.seq);
    const resumed: RestyleJob[] = [];
    const knownTaskIds = new Set(
      stored.flatMap((job) =>
        'taskId' in job.state
          ? [job.state.taskId]
          : job.state.kind === 'failed'
            ? [job.state.failure.taskId ?? '']
            : [],
      ),
    );
    for (const job of stored) {
      if (isTerminal(job.state) || !filter(job)) continue;
      this.jobs.set(job.id, job);
      resumed.push(job);
      switch (job.state.kind) {
        case 'waiting':
          this.enqueue(job);
          break;
        case 'submitting':
          await this.recoverSubmitting(job, job.state, knownTaskIds);
          break;
        case 'submitted':
          this.resumeSubmitted(job, job.state);
          break;
        case 'fetching':
        case 'fetched':
          this.startDelivery(job);
          break;
      }
    }
    this.pump();
    return resumed;
  }

  /**
   * A crash hit between sending a submit and saving its task id. The lane is exclusive, so a task
   * this account created since then is this job's: adopt it. With none, the submit never arrived
   * and the job goes first in line again.
   */
  private async recoverSubmitting(
    job: RestyleJob,
    state: Extract<JobState, { kind: 'submitting' }>,
    knownTaskIds: ReadonlySet<string>,
  ): Promise<void> {
    let found: TaskSnapshot | undefined;
    try {
      const recent = await this.deps.backend.tasksCreatedSince(state.startedAtMs, this.shutdown.signal);
      found = recent.find((task) => !knownTaskIds.has(task.taskId));
    } catch (error) {
      this.deps.logger.warn('could not look for the task of an interrupted submit; submitting again', {
        jobId: job.id,
        error: String(error),
      });
    }
    if (found && (found.status === 'pending' || found.status === 'running' || found.status === 'succeeded')) {
      this.deps.logger.info('adopted the task of an interrupted submit', {
        jobId: job.id,
        taskId: found.taskId,
      });
      const submitted = await this.update(job, {
        kind: 'submitted',
        taskId: found.taskId,
        submittedAtMs: state.startedAtMs,
        remote: found.status === 'running' ? 'running' : 'pending',
      });
      if (submitted.state.kind === 'submitted') this.resumeSubmitted(submitted, submitted.state);
      return;
    }
    this.enqueue(await this.update(job, { kind: 'waiting', media: state.media }), true);
  }

  /** Subscribes to "something in the queue changed", at most once per tick however much changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Follows one job's events. */
  observe(jobId: string, observer: JobObserver): () => void {
    let set = this.observers.get(jobId);
    if (!set) {
      set = new Set();
      this.observers.set(jobId, set);
    }
    set.add(observer);
    return () => set.delete(observer);
  }

  /** Jobs waiting for the lane. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /**
   * Checks a clip and queues it. Answers at once with the queue position, a cached result, or
   * every reason it cannot be accepted; never waits for the job.
   */
  async request(input: RestyleRequestInput, observer?: JobObserver): Promise<RequestOutcome> {
    if (this.stopped) return { kind: 'refused', reason: 'stopped', limit: 0 };
    if (
      !input.requester.operator &&
      this.waiting.countFor(input.requester.key) >= this.limits.maxWaitingPerUser
    ) {
      return { kind: 'refused', reason: 'user-cap', limit: this.limits.maxWaitingPerUser };
    }
    if (this.waiting.size >= this.limits.maxWaitingTotal) {
      return { kind: 'refused', reason: 'queue-full', limit: this.limits.maxWaitingTotal };
    }
    const probed = await this.deps.probe.probe(input.inputPath, this.shutdown.signal);
    const violations = checkProbe(probed, this.deps.limits);
    let changes: readonly FitChange[] = [];
    let durationSec = probed.kind === 'video' ? probed.facts.durationSec : 0;
    if (probed.kind === 'unreadable') return { kind: 'rejected', violations, unfixable: true };
    if (violations.length > 0) {
      if (!input.fit || !allFixable(violations)) {
        return { kind: 'rejected', violations, unfixable: !allFixable(violations) };
      }
      const plan = planFit(probed.facts, this.deps.limits);
      changes = plan?.changes ?? [];
      durationSec = plan?.durationSec ?? durationSec;
    }
    const inputHash = await this.deps.files.hash(input.inputPath);
    const now = this.deps.clock.now();
    const base = {
      id: this.deps.newId(),
      seq: ++this.seq,
      requester: input.requester,
      delivery: input.delivery,
      inputPath: input.inputPath,
      inputHash,
      styleId: input.styleId,
      fps: input.fps,
      durationSec,
      changes,
      createdAtMs: now,
      updatedAtMs: now,
    };
    if (observer) this.observe(base.id, observer);
    const cached = await this.deps.store.getRecord<{ outputUrl: string; taskId: string }>(
      this.cacheKey(inputHash, input.styleId, input.fps, changes),
    );
    if (cached) {
      const job: RestyleJob = {
        ...base,
        state: { kind: 'fetching', taskId: cached.taskId, outputUrl: cached.outputUrl },
      };
      await this.deps.store.save(job);
      this.jobs.set(job.id, job);
      this.startDelivery(job, true);
      return { kind: 'cached', job };
    }
    const job: RestyleJob = { ...base, state: { kind: 'waiting' } };
    await this.deps.store.save(job);
    this.jobs.set(job.id, job);
    this.enqueue(job);
    const status = this.status(job.id)!;
    this.emit(job.id, { type: 'queued', status });
    this.pump();
    return { kind: 'queued', job, position: status.position ?? 1, etaMs: status.etaMs ?? 0 };
  }

  /**
   * Where a job stands: position and ETA while waiting, fraction and elapsed time while its task
   * runs. O(rounds) for a waiting job (bounded by the per-user cap), O(1) otherwise.
   */
  status(jobId: string): JobStatus | undefined {
    const job = this.jobs.get(jobId);
    if (!job) return undefined;
    const now = this.deps.clock.now();
    const position = this.waiting.position(jobId);
    if (position !== undefined) {
      const meanSec = this.waiting.size > 0 ? this.waitingDurationSec / this.waiting.size : job.durationSec;
      const etaMs =
        this.currentRemainingMs(now) +
        (position - 1) * this.deps.speed.expectedMs(meanSec) +
        this.deps.speed.expectedMs(job.durationSec);
      return { job, position, etaMs, fraction: undefined, elapsedMs: undefined };
    }
    const run = this.current;
    if (run && run.jobId === jobId && run.submittedAtMs !== undefined) {
      const elapsedMs = now - run.submittedAtMs;
      return {
        job,
        position: undefined,
        etaMs: Math.max(0, run.expectedMs - elapsedMs),
        fraction: estimateFraction(elapsedMs, run.expectedMs),
        elapsedMs,
      };
    }
    return { job, position: undefined, etaMs: undefined, fraction: undefined, elapsedMs: undefined };
  }

  /** A job as last saved by this process. */
  job(jobId: string): RestyleJob | undefined {
    return this.jobs.get(jobId);
  }

  /** Unfinished jobs of one requester, oldest first (for "my queue" commands). */
  jobsOf(requesterKey: string): RestyleJob[] {
    return [...this.jobs.values()]
      .filter((job) => job.requester.key === requesterKey && !isTerminal(job.state))
      .sort((a, b) => a.seq - b.seq);
  }

  /**
   * Cancels a job: its requester may cancel it until its task runs, an operator at any time
   * before delivery. A task still PENDING at DashScope is canceled there too.
   */
  async cancel(jobId: string, by: Requester): Promise<CancelOutcome> {
    const job = this.jobs.get(jobId);
    if (!job) return { kind: 'not-found' };
    if (!by.operator && by.key !== job.requester.key) return { kind: 'not-allowed' };
    const state = job.state;
    if (state.kind === 'waiting') {
      this.dequeue(jobId);
      const canceled = await this.update(job, { kind: 'canceled', by: by.key, remote: 'none' });
      this.emit(jobId, { type: 'canceled', job: canceled });
      this.pump();
      return { kind: 'canceled', job: canceled };
    }
    const run = this.current;
    const inLane = run?.jobId === jobId && (state.kind === 'submitting' || state.kind === 'submitted');
    if (inLane && (by.operator || run.remote !== 'running')) {
      run.controller.abort(new AbortedError(`canceled by ${by.key}`));
      await this.lane.onIdle();
      const after = this.jobs.get(jobId)!;
      return after.state.kind === 'canceled'
        ? { kind: 'canceled', job: after }
        : { kind: 'too-late', state: after.state.kind };
    }
    return { kind: 'too-late', state: state.kind };
  }

  /** Stops intake and polling; everything stays in the store, resumable by `start`. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.lane.pause();
    this.lane.clear();
    // Only the shutdown signal fires: a run aborted this way keeps its state for the next start.
    this.shutdown.abort(new AbortedError('the service is stopping'));
    await Promise.allSettled([...this.deliveries.values(), ...this.preparing.values()]);
    await this.lane.onIdle().catch(() => undefined);
  }

  /** Resolves once the job is terminal (delivered, failed, canceled). */
  async settled(jobId: string): Promise<RestyleJob> {
    const job = this.jobs.get(jobId);
    if (job && isTerminal(job.state)) return job;
    return new Promise((resolve) => {
      const stop = this.observe(jobId, (event) => {
        if (event.type === 'delivered' || event.type === 'failed' || event.type === 'canceled') {
          stop();
          resolve(this.jobs.get(jobId)!);
        }
      });
    });
  }

  private cacheKey(hash: string, styleId: number, fps: number, changes: readonly FitChange[]): string {
    // A fitted clip differs from its source: fitted and unfitted results are cached apart.
    return `result:${hash}:${styleId}:${fps}:${changes.length > 0 ? 'fit' : 'raw'}`;
  }

  private enqueue(job: RestyleJob, front = false): void {
    if (front) {
      // A job that had reached the lane before a restart goes first again.
      const rest = [...this.waiting.inOrder()];
      for (const item of rest) this.waiting.remove(item.id);
      this.waiting.push({ id: job.id, requesterKey: job.requester.key });
      for (const item of rest) this.waiting.push(item);
    } else {
      this.waiting.push({ id: job.id, requesterKey: job.requester.key });
    }
    this.waitingDurationSec += job.durationSec;
    this.changed();
  }

  private dequeue(jobId: string): void {
    const removed = this.waiting.remove(jobId);
    if (removed) this.waitingDurationSec -= this.jobs.get(jobId)?.durationSec ?? 0;
    this.changed();
  }

  private currentRemainingMs(now: number): number {
    const run = this.current;
    if (!run) return 0;
    if (run.submittedAtMs === undefined) return run.expectedMs;
    return Math.max(0, run.expectedMs - (now - run.submittedAtMs));
  }

  private async update(job: RestyleJob, state: JobState): Promise<RestyleJob> {
    const next: RestyleJob = { ...job, state, updatedAtMs: this.deps.clock.now() };
    this.jobs.set(job.id, next);
    await this.deps.store.save(next);
    return next;
  }

  private emit(jobId: string, event: JobEvent): void {
    for (const observer of this.observers.get(jobId) ?? []) {
      try {
        observer(event);
      } catch (error) {
        this.deps.logger.error('job observer failed', { jobId, error: String(error) });
      }
    }
    if (event.type === 'delivered' || event.type === 'failed' || event.type === 'canceled') {
      queueMicrotask(() => this.observers.delete(jobId));
    }
  }

  private changed(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setTimeout(() => {
      this.notifyScheduled = false;
      for (const listener of this.listeners) listener();
    }, 0);
  }

  /** Keeps the lane busy and the next jobs prepared. */
  private pump(): void {
    if (this.stopped) return;
    this.prepareNext();
    if (this.lane.size + this.lane.pending === 0 && this.waiting.size > 0) {
      void this.lane
        .add(() => this.runNext())
        .catch((error: unknown) => {
          this.deps.logger.error('lane run failed', { error: String(error) });
        });
    }
  }

  /** Fits and uploads the next few waiting jobs so the lane never waits for preparation. */
  private prepareNext(): void {
    const ahead = this.deps.prepareAhead ?? 2;
    let count = 0;
    for (const item of this.waiting.inOrder()) {
      if (count++ >= ahead) break;
      const job = this.jobs.get(item.id);
      if (job?.state.kind !== 'waiting' || job.state.media || this.preparing.has(job.id)) continue;
      this.prepare(job).catch(() => undefined);
    }
  }

  private prepare(job: RestyleJob): Promise<HostedMedia> {
    const existing = this.preparing.get(job.id);
    if (existing) return existing;
    const promise = (async () => {
      let path = job.inputPath;
      if (job.changes.length > 0) {
        const probed = await this.deps.probe.probe(job.inputPath, this.shutdown.signal);
        const plan = probed.kind === 'video' ? planFit(probed.facts, this.deps.limits) : undefined;
        if (plan) {
          path = this.deps.tempPath('.mp4');
          await this.deps.transcoder.fit(job.inputPath, path, plan, this.shutdown.signal);
        }
      }
      try {
        const media = await this.deps.host.host(path, { signal: this.shutdown.signal });
        const latest = this.jobs.get(job.id)!;
        if (latest.state.kind === 'waiting') await this.update(latest, { kind: 'waiting', media });
        return media;
      } finally {
        if (path !== job.inputPath) await this.deps.files.remove(path);
      }
    })();
    this.preparing.set(job.id, promise);
    promise.then(
      () => this.preparing.delete(job.id),
      () => this.preparing.delete(job.id),
    );
    return promise;
  }

  /** One turn of the lane: the next waiting job, from submit to its task's terminal status. */
  private async runNext(): Promise<void> {
    const item = this.waiting.shift();
    if (!item) return;
    this.waitingDurationSec -= this.jobs.get(item.id)?.durationSec ?? 0;
    this.changed();
    let job = this.jobs.get(item.id)!;
    const controller = new AbortController();
    const run: LaneRun = {
      jobId: job.id,
      controller,
      submittedAtMs: undefined,
      expectedMs: this.deps.speed.expectedMs(job.durationSec),
      remote: undefined,
    };
    this.current = run;
    const signal = AbortSignal.any([controller.signal, this.shutdown.signal]);
    try {
      let media = job.state.kind === 'waiting' ? job.state.media : undefined;
      if (!media) {
        try {
          media = await this.prepare(job);
        } catch (error) {
          if (this.stopped) return;
          if (isAbort(error) && controller.signal.aborted) throw error;
          await this.fail(job, error);
          return;
        }
      }
      job = this.jobs.get(job.id)!;
      job = await this.update(job, { kind: 'submitting', media, startedAtMs: this.deps.clock.now() });
      this.emit(job.id, { type: 'started', status: this.status(job.id)! });
      // The submit is never aborted half-way: a task created by a call we gave up on would be
      // billed and unknown. Cancellation takes effect right after, with the task id in hand.
      const submitted = await this.deps.backend.submit({ media, styleId: job.styleId, fps: job.fps });
      await this.followTask(job, submitted, run, signal);
    } catch (error) {
      await this.laneFailure(job.id, error, run);
    } finally {
      this.current = undefined;
      this.changed();
    }
  }

  /** Resumes polling a task submitted before a restart, holding the lane as its first run. */
  private resumeSubmitted(job: RestyleJob, state: Extract<JobState, { kind: 'submitted' }>): void {
    const controller = new AbortController();
    const run: LaneRun = {
      jobId: job.id,
      controller,
      submittedAtMs: state.submittedAtMs,
      expectedMs: this.deps.speed.expectedMs(job.durationSec),
      remote: state.remote,
    };
    const signal = AbortSignal.any([controller.signal, this.shutdown.signal]);
    void this.lane.add(async () => {
      this.current = run;
      try {
        await this.followTask(
          job,
          { taskId: state.taskId, status: state.remote, requestId: undefined },
          run,
          signal,
          state.submittedAtMs,
        );
      } catch (error) {
        await this.laneFailure(job.id, error, run);
      } finally {
        this.current = undefined;
        this.changed();
      }
    });
  }

  /** Saves the task id, polls it to a terminal status, and hands success to delivery. */
  private async followTask(
    job: RestyleJob,
    submitted: TaskSnapshot,
    run: LaneRun,
    signal: AbortSignal,
    resumedFromMs?: number,
  ): Promise<void> {
    const resumed = resumedFromMs !== undefined;
    const submittedAtMs = resumedFromMs ?? this.deps.clock.now();
    run.submittedAtMs = submittedAtMs;
    run.remote = submitted.status === 'running' ? 'running' : 'pending';
    let current = await this.update(job, {
      kind: 'submitted',
      taskId: submitted.taskId,
      submittedAtMs,
      remote: run.remote,
    });
    this.deps.logger.info('task submitted', {
      jobId: job.id,
      taskId: submitted.taskId,
      requestId: submitted.requestId,
    });
    this.emit(job.id, { type: 'progress', status: this.status(job.id)! });
    const done = await awaitTask(this.deps, submitted.taskId, {
      submittedAtMs,
      expectedMs: run.expectedMs,
      signal,
      onStatus: (snapshot) => {
        const remote = snapshot.status === 'running' ? 'running' : 'pending';
        if (remote !== run.remote) {
          run.remote = remote;
          current = {
            ...current,
            state: { ...(current.state as Extract<JobState, { kind: 'submitted' }>), remote },
          };
          this.jobs.set(job.id, current);
          this.deps.store.save(current).catch((error: unknown) => {
            this.deps.logger.warn('could not save the remote status', {
              jobId: job.id,
              error: String(error),
            });
          });
        }
        this.emit(job.id, { type: 'progress', status: this.status(job.id)! });
      },
    });
    if (!resumed) {
      // A task resumed after a restart would count the downtime as processing time.
      this.deps.speed.observe(this.deps.clock.now() - submittedAtMs, job.durationSec);
      await this.deps.store.setRecord(SPEED_RECORD_KEY, this.deps.speed.toRecord());
    }
    const fetching = await this.update(this.jobs.get(job.id)!, {
      kind: 'fetching',
      taskId: done.taskId,
      outputUrl: done.outputUrl,
      ...(done.billedSec === undefined ? {} : { billedSec: done.billedSec }),
    });
    await this.deps.store.setRecord(
      this.cacheKey(job.inputHash, job.styleId, job.fps, job.changes),
      { outputUrl: done.outputUrl, taskId: done.taskId },
      this.deps.resultCacheTtlMs ?? 24 * 3_600_000,
    );
    this.startDelivery(fetching);
  }

  /** Records why the lane run ended without a result; cancels a PENDING task when aborted. */
  private async laneFailure(jobId: string, error: unknown, run: LaneRun): Promise<void> {
    const job = this.jobs.get(jobId)!;
    if (this.stopped && !run.controller.signal.aborted) return;
    if (run.controller.signal.aborted) {
      const taskId = job.state.kind === 'submitted' ? job.state.taskId : undefined;
      let remote: 'none' | 'canceled' | 'running' = 'none';
      if (taskId) {
        remote = 'running';
        if (run.remote !== 'running') {
          try {
            await this.deps.backend.cancel(taskId, AbortSignal.timeout(5_000));
            remote = 'canceled';
          } catch (cancelError) {
            this.deps.logger.warn('could not cancel the task', { jobId, taskId, error: String(cancelError) });
          }
        }
      }
      const reason = run.controller.signal.reason as Error | undefined;
      const canceled = await this.update(job, {
        kind: 'canceled',
        by: reason?.message?.replace(/^canceled by /, '') ?? 'unknown',
        remote,
      });
      this.emit(jobId, { type: 'canceled', job: canceled });
      return;
    }
    await this.fail(job, error);
  }

  private async fail(job: RestyleJob, error: unknown): Promise<void> {
    const failure = failureOf(error);
    this.deps.logger.warn('job failed', { jobId: job.id, ...failure });
    const failed = await this.update(job, { kind: 'failed', failure });
    this.emit(job.id, { type: 'failed', job: failed, failure });
  }

  /** Fetches the result (if needed) and delivers it, outside the lane. */
  private startDelivery(job: RestyleJob, cached = false): void {
    if (this.deliveries.has(job.id)) return;
    const promise = this.deliver(job, cached)
      .catch(async (error: unknown) => {
        if (this.stopped) return;
        if (cached && job.state.kind === 'fetching') {
          // A cached result that cannot be fetched any more: restyle afresh instead.
          this.deps.logger.warn('cached result unavailable; queueing the job', { jobId: job.id });
          const waiting = await this.update(this.jobs.get(job.id)!, { kind: 'waiting' });
          this.enqueue(waiting);
          this.pump();
          return;
        }
        await this.fail(this.jobs.get(job.id)!, error);
      })
      .finally(() => this.deliveries.delete(job.id));
    this.deliveries.set(job.id, promise);
  }

  private async deliver(job: RestyleJob, cached: boolean): Promise<void> {
    let current = job;
    const signal = this.shutdown.signal;
    if (current.state.kind === 'fetching') {
      const resultPath = this.deps.files.resultPath(current.id);
      await this.deps.downloader.download(current.state.outputUrl, resultPath, {
        maxBytes: this.deps.maxResultBytes,
        signal,
      });
      current = await this.update(current, {
        kind: 'fetched',
        taskId: current.state.taskId,
        resultPath,
        cached,
        outputUrl: current.state.outputUrl,
      });
      this.emit(current.id, { type: 'fetched', job: current });
    }
    if (current.state.kind !== 'fetched') return;
    const { resultPath, taskId } = current.state;
    if (!(await this.deps.files.exists(resultPath))) {
      throw new RemoteError({
        kind: 'result',
        code: 'ResultMissing',
        message: 'The fetched result is missing',
      });
    }
    const sink = this.deps.sinks.get(current.delivery.platform);
    if (!sink) throw new Error(`no delivery for platform ${current.delivery.platform}`);
    await sink.deliver(current, resultPath, signal);
    const delivered = await this.update(current, {
      kind: 'delivered',
      taskId,
      cached: current.state.cached,
      atMs: this.deps.clock.now(),
    });
    await this.deps.files.remove(resultPath);
    this.emit(current.id, { type: 'delivered', job: delivered });
  }
}
