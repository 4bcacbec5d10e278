import { z } from 'zod';
import { isCancelable, isTerminal, type RestyleJob } from '../../core/job.ts';
import type { Logger, RecordStore } from '../../core/ports.ts';
import type { JobEvent, RestyleService } from '../../core/queue/service.ts';
import { defineScope, openScope, type RecordScope } from '../../core/records.ts';
import { isFinalView, type StatusView, viewOfStatus } from '../../text/index.ts';
import { type MessageEditor, ThrottledMessage } from './throttled-message.ts';

/** How one platform shows a job's status: its rendering and how its message is edited. */
export interface StatusSurface<R, M> {
  /**
   * What the status message shows for a view (text, buttons…); equal renders are never re-sent.
   * `cancelable` says whether a Cancel button belongs under it.
   */
  render(view: StatusView, meta: M, jobId: string, cancelable: boolean): R;
  /** Shows a render in the platform message; resolves once the platform accepted it. */
  apply(rendered: R, meta: M): Promise<void>;
  /** How long the platform asked us to wait, when the error is a rate limit. */
  retryAfterMs: MessageEditor<R>['retryAfterMs'];
  /** True when the message can no longer be edited: following stops. */
  isGone: MessageEditor<R>['isGone'];
  /** Least time between two edits of this job's message. */
  minIntervalMs(meta: M): number;
  /** Extra wait before an edit (a chat's shared budget). */
  holdMs?(meta: M): number;
  /** After the job ended and its last edit went out (e.g. remove the input file). */
  ended?(meta: M, job: RestyleJob): Promise<void>;
}

/** One job's status message. */
export interface Follower<M> {
  readonly jobId: string;
  readonly meta: M;
  /** The last view asked for. */
  last: StatusView | undefined;
  readonly done: boolean;
}

/** Jobs whose status message showed its final view: after a restart, the others are brought up to date. */
const FINAL_SHOWN_SCOPE = defineScope({
  name: 'chat.status-final',
  schema: z.literal(true),
  ttlMs: 8 * 24 * 3_600_000,
});

/** Jobs that ended longer ago than this are left as they are after a restart. */
const FINALIZE_WITHIN_MS = 24 * 3_600_000;

interface Entry<R, M> extends Follower<M> {
  readonly message: ThrottledMessage<{ view: StatusView; rendered: R }>;
}

/**
 * Follows jobs in their status messages: job events, queue moves (one signal, then each waiting
 * job reads its own position) and a periodic refresh that keeps running clocks moving.
 */
export class StatusBoard<R, M> {
  private readonly entries = new Map<string, Entry<R, M>>();
  private readonly detach: () => void;
  private readonly timer: NodeJS.Timeout;
  private readonly ending = new Set<Promise<void>>();
  private readonly finalShown: RecordScope<true>;

  constructor(
    private readonly service: RestyleService,
    private readonly surface: StatusSurface<R, M>,
    private readonly logger: Logger,
    refreshEveryMs: number,
    store: RecordStore,
  ) {
    this.finalShown = openScope(store, FINAL_SHOWN_SCOPE);
    this.detach = service.onChange(() => this.refresh('queued'));
    this.timer = setInterval(() => this.refresh(), refreshEveryMs);
    this.timer.unref();
  }

  /** Starts following a job; following it again returns the same follower. */
  follow(jobId: string, meta: M): Follower<M> {
    const existing = this.entries.get(jobId);
    if (existing) return existing;
    const surface = this.surface;
    const message = new ThrottledMessage<{ view: StatusView; rendered: R }>(
      {
        apply: ({ rendered }) => surface.apply(rendered, meta),
        retryAfterMs: (error) => surface.retryAfterMs(error),
        isGone: (error) => surface.isGone(error),
      },
      {
        minIntervalMs: () => surface.minIntervalMs(meta),
        ...(surface.holdMs ? { holdMs: () => surface.holdMs!(meta) } : {}),
        key: ({ rendered }) => JSON.stringify(rendered),
        isFinal: ({ view }) => isFinalView(view),
        logger: this.logger,
        label: `status of job ${jobId}`,
      },
    );
    const entry: Entry<R, M> = {
      jobId,
      meta,
      message,
      last: undefined,
      get done() {
        return message.done;
      },
    };
    this.entries.set(jobId, entry);
    return entry;
  }

  /** Follows a job resumed after a restart: its events from now on, and its status right away. */
  resume(job: RestyleJob, meta: M): void {
    this.follow(job.id, meta);
    this.service.observe(job.id, (event) => this.handle(job.id, event));
    // It may have ended since it was read from the store (a delivery resumed at start-up), with
    // nobody following it yet: end it here, or its cleanup would never run.
    const current = this.service.job(job.id);
    if (current && isTerminal(current.state)) {
      this.show(job.id, viewOfStatus(idle(current)));
      this.end(job.id, current);
      return;
    }
    this.showCurrent(job.id);
  }

  /** Follows a job the intake just queued, replaying the events it missed, and shows where it is. */
  followQueued(jobId: string, meta: M, missed: readonly JobEvent[]): void {
    this.follow(jobId, meta);
    for (const event of missed) this.handle(jobId, event);
    this.showCurrent(jobId);
  }

  /**
   * After a restart, for every stored job of this platform (`metaOf` answers `undefined` for the
   * others): unfinished jobs the queue resumed are followed again, ended ones brought up to date.
   */
  async resumeStored(jobs: readonly RestyleJob[], metaOf: (job: RestyleJob) => M | undefined): Promise<void> {
    for (const job of jobs) {
      const meta = metaOf(job);
      if (!meta) continue;
      if (!isTerminal(job.state)) {
        if (this.service.job(job.id)) this.resume(job, meta);
      } else if (!(await this.finalize(job, meta))) {
        // Shown before, or too old to show: its cleanup may still have been cut short by a crash.
        await this.surface.ended?.(meta, job).catch((error: unknown) => {
          this.logger.warn('cleanup after a job failed', { jobId: job.id, error: String(error) });
        });
      }
    }
  }

  /**
   * After a restart: a job that ended (recently) while its final view was still waiting for its
   * turn gets it now, so no status message says "Restyling…" next to a delivered video.
   */
  async finalize(job: RestyleJob, meta: M, nowMs = Date.now()): Promise<boolean> {
    if (!isTerminal(job.state) || job.state.kind === 'rejected') return false;
    if (nowMs - job.updatedAtMs > FINALIZE_WITHIN_MS || (await this.finalShown.get(job.id))) return false;
    this.follow(job.id, meta);
    this.show(job.id, viewOfStatus(idle(job)));
    this.end(job.id, job);
    return true;
  }

  /** Shows what the service says about the job now. */
  showCurrent(jobId: string): void {
    const status = this.service.status(jobId);
    if (status) this.show(jobId, viewOfStatus(status));
  }

  /** Shows a view in the job's message (throttled, only when it looks different). */
  show(jobId: string, view: StatusView | undefined): void {
    const entry = this.entries.get(jobId);
    if (!entry || !view) return;
    entry.last = view;
    const job = this.service.job(jobId);
    const cancelable = job !== undefined && isCancelable(job.state);
    entry.message.show({ view, rendered: this.surface.render(view, entry.meta, jobId, cancelable) });
  }

  /** Turns a job event into the message's next view; a terminal event ends the following. */
  handle(jobId: string, event: JobEvent): void {
    switch (event.type) {
      case 'queued':
      case 'started':
      case 'progress':
        this.show(jobId, viewOfStatus(event.status));
        return;
      case 'fetched':
        this.show(jobId, { kind: 'sending' });
        return;
      case 'delivered':
      case 'failed':
      case 'canceled':
        this.show(jobId, viewOfStatus(idle(event.job)));
        this.end(jobId, event.job);
        return;
    }
  }

  /** Followers matching a test, e.g. the active ones of one chat. */
  count(test: (follower: Follower<M>) => boolean): number {
    let n = 0;
    for (const entry of this.entries.values()) if (test(entry)) n += 1;
    return n;
  }

  /** The follower of a job, if any. */
  get(jobId: string): Follower<M> | undefined {
    return this.entries.get(jobId);
  }

  /** Resolves once every message sent what it has and every ended job was cleaned up. */
  async settled(): Promise<void> {
    await Promise.all([...this.entries.values()].map((entry) => entry.message.idle()));
    await Promise.allSettled([...this.ending]);
  }

  /**
   * Stops refreshing. Views of work still going on are dropped at once (the next start shows
   * where each job is then), which leaves the platform's rate limit to the final views: those get
   * `graceMs` to go out — a status left at "Restyling…" next to its video is what a stop must not
   * leave — then are dropped too (the next start brings them up to date).
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.detach();
    clearInterval(this.timer);
    const finals: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      if (entry.last && isFinalView(entry.last)) finals.push(entry.message.idle());
      else entry.message.close();
    }
    await Promise.race([
      Promise.allSettled([...finals, ...this.ending]),
      new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
    ]);
    for (const entry of this.entries.values()) entry.message.close();
  }

  private end(jobId: string, job: RestyleJob): void {
    const entry = this.entries.get(jobId);
    if (!entry) return;
    const promise = (async () => {
      try {
        await this.surface.ended?.(entry.meta, job);
      } catch (error) {
        this.logger.warn('cleanup after a job failed', { jobId, error: String(error) });
      }
      await entry.message.idle();
      // Shown, or the message is gone: either way there is nothing left to bring up to date.
      if (entry.message.done) await this.finalShown.set(jobId, true).catch(() => undefined);
      this.entries.delete(jobId);
    })().finally(() => this.ending.delete(promise));
    this.ending.add(promise);
  }

  /** Re-reads the status of followed jobs (all, or those last seen in one kind of view). */
  private refresh(kind?: StatusView['kind']): void {
    for (const entry of this.entries.values()) {
      const last = entry.last?.kind;
      if (kind ? last !== kind : last !== 'queued' && last !== 'restyling') continue;
      this.showCurrent(entry.jobId);
    }
  }
}

/** A job's status with nothing moving: for views of ended jobs. */
function idle(job: RestyleJob) {
  return { job, position: undefined, etaMs: undefined, fraction: undefined, elapsedMs: undefined };
}
