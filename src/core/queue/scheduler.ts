import { failureOf, type JobFailure, type RestyleJob } from '../job.ts';
import type { HostedMedia } from '../media.ts';
import type { Clock, Lane, LaneOrder, LaneRun, LaneSlot, Logger, RecordStore } from '../ports.ts';
import type { SpeedModel } from '../speed.ts';
import type { ResultDelivery } from './delivery.ts';
import { type JobStatus, meanTaskMs, runProgress, runRemainingMs, waitingEtaMs } from './estimator.ts';
import type { JobEvents } from './events.ts';
import type { JobBook } from './job-book.ts';
import { DEFAULT_LANE_ID } from './lane.ts';
import type { Preparation } from './preparation.ts';
import type { ResultCache } from './result-cache.ts';
import { RunJournal } from './run-journal.ts';
import { isKeyFailure } from './set-aside.ts';
import type { WaitingLine } from './waiting-line.ts';
import { Wakeup } from './wakeup.ts';

/** The parts the scheduler drives. */
export interface SchedulerParts {
  readonly lanes: readonly Lane[];
  readonly line: WaitingLine;
  readonly book: JobBook;
  readonly events: JobEvents;
  readonly preparation: Preparation;
  readonly delivery: ResultDelivery;
  readonly resultCache: ResultCache;
  readonly speed: SpeedModel;
  readonly store: RecordStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How many waiting jobs are fitted and uploaded ahead of their turn. */
  readonly prepareAhead: number;
  /**
   * When every key is set aside: `wait` keeps every job until a key works again (a service);
   * `fail` ends the jobs with the key's failure (a command line run nobody would wait on).
   */
  readonly keysOut: 'wait' | 'fail';
  /** Records a job's failure and tells its observers. */
  readonly fail: (jobId: string, failure: JobFailure) => Promise<void>;
}

/** A lane's current job: taken from the line (maybe still being prepared), or followed after a restart. */
interface Occupant {
  readonly jobId: string;
  readonly expectedMs: number;
  run: LaneRun | undefined;
}

/**
 * Offers waiting jobs to lanes: each lane, once it has capacity, takes the next job in fair order
 * (a task followed after a restart first), so a job goes to whichever lane frees first. Has each
 * run journaled, and says where every job stands.
 */
export class Scheduler {
  private readonly occupants = new Map<string, Occupant>();
  private readonly follows = new Map<string, LaneOrder[]>();
  private readonly settling = new Map<string, Promise<void>>();
  private readonly loops: Promise<void>[] = [];
  private readonly work = new Wakeup();
  private readonly journal: RunJournal;
  private paused = false;

  constructor(
    private readonly parts: SchedulerParts,
    private readonly shutdown: AbortSignal,
  ) {
    this.journal = new RunJournal({ ...parts, status: (jobId) => this.status(jobId) });
    const ids = new Set(parts.lanes.map((lane) => lane.id));
    if (parts.lanes.length === 0 || ids.size !== parts.lanes.length) {
      throw new Error('the scheduler needs at least one lane, each with its own id');
    }
  }

  /**
   * The lane with this id; `undefined` and `default` name the first lane (tasks saved before lanes
   * had ids, or by a single-key service).
   */
  lane(laneId: string | undefined): Lane | undefined {
    const found = this.parts.lanes.find((lane) => lane.id === laneId);
    return found ?? (laneId === undefined || laneId === DEFAULT_LANE_ID ? this.parts.lanes[0] : undefined);
  }

  /** True when every lane's key is set aside: nothing can start until one is back. */
  allKeysOut(): boolean {
    return this.parts.lanes.every((lane) => lane.health().state === 'out');
  }

  /** Offers no job to any lane until `resume`, so a restart puts everything back in order first. */
  pause(): void {
    this.paused = true;
  }

  /** Offers jobs to lanes again. */
  resume(): void {
    this.paused = false;
    this.work.poke();
    this.ensureLoops();
  }

  /** Puts a waiting job in line; `front` for one that had reached a lane before a restart. */
  enqueue(job: RestyleJob, front = false): void {
    this.parts.line.push(job, front);
    this.lineChanged();
    this.work.poke();
    this.ensureLoops();
  }

  /** Takes a waiting job out of line; true when it was there. */
  remove(jobId: string): boolean {
    const removed = this.parts.line.remove(jobId);
    this.parts.preparation.release(jobId);
    this.lineChanged();
    return removed;
  }

  /** Has the lane that submitted this job's task follow it again, before any new job. */
  follow(job: RestyleJob): void {
    const { state } = job;
    if (state.kind !== 'submitted') throw new Error(`job ${job.id} has no task to follow`);
    const lane = this.lane(state.laneId);
    if (!lane) throw new Error(`job ${job.id}: lane ${state.laneId} is not configured`);
    const orders = this.follows.get(lane.id) ?? [];
    orders.push({
      kind: 'follow',
      jobId: job.id,
      taskId: state.taskId,
      submittedAtMs: state.submittedAtMs,
      remote: state.remote,
      expectedMs: this.parts.speed.expectedMs(job.durationSec),
    });
    this.follows.set(lane.id, orders);
    this.work.poke();
    this.ensureLoops();
  }

  /** The run of a job on a lane right now. */
  runOf(jobId: string): LaneRun | undefined {
    for (const occupant of this.occupants.values()) if (occupant.jobId === jobId) return occupant.run;
    return undefined;
  }

  /** Asks the job's run to stop on behalf of `by`; resolves once how it ended is recorded. */
  async cancel(jobId: string, by: string): Promise<void> {
    const run = this.runOf(jobId);
    if (!run) return;
    run.cancel(by);
    await run.outcome;
    await this.settling.get(jobId);
  }

  /**
   * Where a job stands: position and ETA while waiting, fraction and elapsed time while its task
   * runs. O(rounds) for a waiting job (bounded by the per-user cap), O(lanes) otherwise.
   */
  status(jobId: string): JobStatus | undefined {
    const { book, line, speed, clock } = this.parts;
    const job = book.get(jobId);
    if (!job) return undefined;
    const now = clock.now();
    const position = line.position(jobId);
    if (position !== undefined) {
      const etaMs = waitingEtaMs(position, speed.expectedMs(job.durationSec), {
        laneRemainingMs: this.parts.lanes.map((lane) => {
          const health = lane.health();
          if (health.state === 'out') return Math.max(0, health.retryAtMs - now);
          const occupant = this.occupants.get(lane.id);
          return occupant
            ? runRemainingMs(
                { expectedMs: occupant.expectedMs, submittedAtMs: occupant.run?.record.submittedAtMs },
                now,
              )
            : 0;
        }),
        meanTaskMs: meanTaskMs(speed, line.durationSec, line.size),
      });
      const held = this.allKeysOut() ? 'keys-out' : undefined;
      return { job, position, etaMs, fraction: undefined, elapsedMs: undefined, held };
    }
    const record = this.runOf(jobId)?.record;
    if (record?.submittedAtMs !== undefined) {
      return { job, position: undefined, ...runProgress(record.expectedMs, record.submittedAtMs, now) };
    }
    return { job, position: undefined, etaMs: undefined, fraction: undefined, elapsedMs: undefined };
  }

  /** Resolves once the lanes' loops and the recording of their runs have ended (after `shutdown`). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.settling.values()]);
  }

  private lineChanged(): void {
    this.parts.events.changed();
    const order = this.lanesByFreeTime();
    this.parts.preparation.ahead(this.parts.line.head(this.parts.prepareAhead), (index) =>
      order.length > 0 ? order[index % order.length] : undefined,
    );
  }

  /**
   * Usable lanes in the order they are expected to free up (idle first, then by time left on their
   * run): the i-th job of the line most likely goes to the i-th of them.
   */
  private lanesByFreeTime(): string[] {
    const now = this.parts.clock.now();
    return this.parts.lanes
      .filter((lane) => lane.health().state === 'ready')
      .map((lane) => {
        const occupant = this.occupants.get(lane.id);
        const leftMs = occupant
          ? runRemainingMs(
              { expectedMs: occupant.expectedMs, submittedAtMs: occupant.run?.record.submittedAtMs },
              now,
            )
          : -1;
        return { id: lane.id, leftMs };
      })
      .sort((a, b) => a.leftMs - b.leftMs)
      .map((lane) => lane.id);
  }

  private ensureLoops(): void {
    if (this.loops.length > 0 || this.paused || this.shutdown.aborted) return;
    for (const lane of this.parts.lanes) this.loops.push(this.loop(lane));
  }

  private hasWork(laneId: string): boolean {
    if (this.paused) return false;
    return (this.follows.get(laneId)?.length ?? 0) > 0 || this.parts.line.size > 0;
  }

  /** One lane's life: wait for work, wait for capacity, take the next job, run it, again. */
  private async loop(lane: Lane): Promise<void> {
    const signal = this.shutdown;
    while (!signal.aborted) {
      try {
        await this.work.until(() => this.hasWork(lane.id), signal);
        const slot = await lane.acquire(signal);
        const follow = this.follows.get(lane.id)?.shift();
        const jobId = follow ? undefined : this.parts.line.shift();
        if (follow) await this.runFollow(lane, slot, follow);
        else if (jobId) await this.runNext(lane, slot, jobId);
        else slot.release();
      } catch (error) {
        if (signal.aborted) return;
        this.parts.logger.error('lane run failed', { laneId: lane.id, error: String(error) });
      }
    }
  }

  /** The next waiting job on `slot`: prepared if need be, then submitted and followed. */
  private async runNext(lane: Lane, slot: LaneSlot, jobId: string): Promise<void> {
    const { book, speed } = this.parts;
    const job = book.get(jobId)!;
    const occupant: Occupant = { jobId, expectedMs: speed.expectedMs(job.durationSec), run: undefined };
    this.occupants.set(lane.id, occupant);
    // After the lane is taken, so the jobs behind are prepared for the lanes that free next.
    this.lineChanged();
    let started = false;
    let requeued = false;
    try {
      let media: HostedMedia;
      try {
        media = await this.parts.preparation.prepare(job, lane.id);
      } catch (error) {
        if (this.shutdown.aborted || book.get(jobId)?.state.kind !== 'waiting') return;
        const failure = failureOf(error);
        if (isKeyFailure(failure)) {
          // Hosting with this lane's key was refused: the key is at fault, not the clip.
          lane.setAside(failure);
          requeued = await this.afterKeyRefused(lane, jobId, undefined, failure);
          return;
        }
        await this.parts.fail(jobId, failure);
        return;
      }
      // Canceled while it was being prepared.
      if (book.get(jobId)?.state.kind !== 'waiting') return;
      const order: LaneOrder = {
        kind: 'submit',
        jobId,
        media,
        styleId: job.styleId,
        fps: job.fps,
        expectedMs: occupant.expectedMs,
      };
      occupant.run = this.start(lane, slot, order, media);
      started = true;
      const outcome = await occupant.run.outcome;
      requeued = outcome.kind === 'key-refused' && this.parts.keysOut === 'wait';
    } finally {
      if (!started) slot.release();
      if (!requeued) this.parts.preparation.release(jobId);
      this.occupants.delete(lane.id);
      this.parts.events.changed();
    }
  }

  /** A task submitted before a restart, followed by its own lane (never submitted again). */
  private async runFollow(lane: Lane, slot: LaneSlot, order: LaneOrder): Promise<void> {
    const occupant: Occupant = { jobId: order.jobId, expectedMs: order.expectedMs, run: undefined };
    this.occupants.set(lane.id, occupant);
    try {
      occupant.run = this.start(lane, slot, order, undefined);
      this.journal.tell(order.jobId, 'progress');
      await occupant.run.outcome;
    } finally {
      this.occupants.delete(lane.id);
      this.parts.events.changed();
    }
  }

  /**
   * The lane's key was refused: a job without a task goes back to the front of the line for
   * another lane (with its media unless only this key can read it); a task that exists stays with
   * its key and is followed again once the key is back. With `keysOut: 'fail'` and no key left,
   * the job and everything waiting end with the key's failure instead. True when the job was kept.
   */
  private async afterKeyRefused(
    lane: Lane,
    jobId: string,
    taskId: string | undefined,
    failure: JobFailure,
  ): Promise<boolean> {
    this.parts.events.changed();
    if (this.parts.keysOut === 'fail' && this.allKeysOut()) {
      await this.parts.fail(jobId, failure);
      for (let next = this.parts.line.shift(); next; next = this.parts.line.shift()) {
        this.parts.preparation.release(next);
        await this.parts.fail(next, failure);
      }
      this.lineChanged();
      return false;
    }
    const job = this.parts.book.get(jobId);
    if (!job) return false;
    if (taskId !== undefined && job.state.kind === 'submitted') {
      this.follow(job);
      return true;
    }
    if (job.state.kind === 'submitting') {
      const { media } = job.state;
      const back = await this.parts.book.update(jobId, {
        kind: 'waiting',
        media: media.laneId === lane.id ? undefined : media,
      });
      this.enqueue(back, true);
      return true;
    }
    if (job.state.kind === 'waiting') {
      this.enqueue(job, true);
      return true;
    }
    return false;
  }

  /** Starts the run and, in the background, records how it ends. */
  private start(lane: Lane, slot: LaneSlot, order: LaneOrder, media: HostedMedia | undefined): LaneRun {
    const run = slot.run(order, this.journal.hooks(lane.id, order.jobId, media), this.shutdown);
    const settled = run.outcome
      .then((outcome) =>
        outcome.kind === 'key-refused'
          ? this.afterKeyRefused(lane, order.jobId, outcome.taskId, outcome.failure).then(() => undefined)
          : this.journal.settle(order.jobId, outcome),
      )
      .catch((error: unknown) => this.parts.fail(order.jobId, failureOf(error)))
      .catch((error: unknown) => {
        this.parts.logger.error('could not record how a run ended', {
          jobId: order.jobId,
          error: String(error),
        });
      })
      .finally(() => {
        if (this.settling.get(order.jobId) === settled) this.settling.delete(order.jobId);
      });
    this.settling.set(order.jobId, settled);
    return run;
  }
}
