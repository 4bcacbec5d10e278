import PQueue from 'p-queue';
import { AbortedError } from '../errors.ts';
import { failureOf, type JobFailure } from '../job.ts';
import type {
  Lane,
  LaneHealth,
  LaneOrder,
  LaneOutcome,
  LaneRun,
  LaneRunHooks,
  LaneRunRecord,
  LaneSlot,
  TaskSnapshot,
} from '../ports.ts';
import { awaitTask, type TaskDeps } from '../task.ts';
import { isKeyFailure, SetAside, type SetAsideTimes } from './set-aside.ts';

/** Id of the lane of a single-key service, and of tasks saved before lanes had ids. */
export const DEFAULT_LANE_ID = 'default';

/** Options of an in-process lane: a backend (one DashScope key) and how to poll it. */
export interface InProcessLaneOptions extends TaskDeps {
  readonly id?: string;
  /** Least time between two submits of this lane (DashScope takes one per second per key). */
  readonly minSubmitSpacingMs?: number;
  /** How long a refused key is left alone before it is tried again. */
  readonly setAside?: SetAsideTimes;
}

/** A run record the lane running it keeps current. */
export type MutableRunRecord = { -readonly [K in keyof LaneRunRecord]: LaneRunRecord[K] };

/**
 * The run shared by every lane: its record (from the order), the outcome of `execute`, and a
 * cancel that records who asked and aborts `execute`'s signal once. `ended` runs when the outcome
 * is known, before it is told (a lane frees its slot there).
 */
export function startLaneRun(
  laneId: string,
  order: LaneOrder,
  execute: (record: MutableRunRecord, canceled: AbortSignal) => Promise<LaneOutcome>,
  ended: () => void | Promise<void>,
): LaneRun {
  const record: MutableRunRecord = {
    laneId,
    jobId: order.jobId,
    expectedMs: order.expectedMs,
    taskId: order.kind === 'follow' ? order.taskId : undefined,
    submittedAtMs: order.kind === 'follow' ? order.submittedAtMs : undefined,
    remote: order.kind === 'follow' ? order.remote : undefined,
    canceledBy: undefined,
  };
  const canceled = new AbortController();
  let done = false;
  const outcome = execute(record, canceled.signal).finally(() => {
    done = true;
    return ended();
  });
  return {
    record,
    outcome,
    cancel: (by) => {
      if (done || record.canceledBy !== undefined) return;
      record.canceledBy = by;
      canceled.abort(new AbortedError(`canceled by ${by}`));
    },
  };
}

/**
 * The default lane: one task at a time on one backend, submits at least a second apart, all in
 * this process. A slot is granted in the order asked for; the run in it submits (or resumes),
 * polls to the task's end and answers with a value. A key the backend refuses is set aside and
 * tried again later; no slot is granted meanwhile.
 */
export class InProcessLane implements Lane {
  readonly id: string;
  private readonly spacingMs: number;
  /** One holder at a time; a holder keeps the slot until `free`. */
  private readonly slots = new PQueue({ concurrency: 1 });
  private release: (() => void) | undefined;
  private lastSubmitAtMs = Number.NEGATIVE_INFINITY;
  private readonly aside: SetAside;

  constructor(private readonly options: InProcessLaneOptions) {
    this.id = options.id ?? DEFAULT_LANE_ID;
    this.spacingMs = options.minSubmitSpacingMs ?? 1_000;
    this.aside = new SetAside(options.clock, options.setAside);
  }

  health(): LaneHealth {
    return this.aside.health();
  }

  setAside(failure: JobFailure): void {
    const pauseMs = this.aside.refuse(failure.code);
    this.options.logger.error('DashScope refused this key: it is set aside and tried again later', {
      laneId: this.id,
      code: failure.code,
      retryInSec: Math.round(pauseMs / 1000),
    });
  }

  /**
   * Resolves with the slot once no run holds it, the key is not set aside, and a second has passed
   * since the last submit.
   */
  async acquire(signal: AbortSignal): Promise<LaneSlot> {
    signal.throwIfAborted();
    await this.hold(signal);
    try {
      await this.aside.usable(signal);
      const waitMs = this.lastSubmitAtMs + this.spacingMs - this.options.clock.now();
      if (waitMs > 0) await this.options.clock.sleep(waitMs, signal);
    } catch (error) {
      this.free();
      throw error;
    }
    let used = false;
    return {
      run: (order, hooks, shutdown) => {
        if (used) throw new Error(`lane ${this.id}: a slot runs one job`);
        used = true;
        return this.start(order, hooks, shutdown);
      },
      release: () => {
        if (used) return;
        used = true;
        this.free();
      },
    };
  }

  /** The oldest task the backend created at or after `sinceMs` that no job knows. */
  async lostSubmit(
    _jobId: string,
    sinceMs: number,
    knownTaskIds: ReadonlySet<string>,
    signal: AbortSignal,
  ): Promise<TaskSnapshot | undefined> {
    const recent = await this.options.backend.tasksCreatedSince(sinceMs, signal);
    return recent.find((task) => !knownTaskIds.has(task.taskId));
  }

  /** Waits for the slot: p-queue runs one holder at a time, in the order asked. */
  private hold(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      this.slots
        .add(
          () =>
            new Promise<void>((done) => {
              this.release = done;
              resolve();
            }),
          { signal },
        )
        .catch(() => reject(new AbortedError()));
    });
  }

  /** Hands the slot to the next in line, or leaves it free. */
  private free(): void {
    const done = this.release;
    this.release = undefined;
    done?.();
  }

  private start(order: LaneOrder, hooks: LaneRunHooks, shutdown: AbortSignal): LaneRun {
    return startLaneRun(
      this.id,
      order,
      (record, canceled) => this.execute(order, hooks, record, canceled, shutdown),
      () => this.free(),
    );
  }

  private async execute(
    order: LaneOrder,
    hooks: LaneRunHooks,
    record: MutableRunRecord,
    canceled: AbortSignal,
    shutdown: AbortSignal,
  ): Promise<LaneOutcome> {
    const { backend, clock } = this.options;
    const signal = AbortSignal.any([canceled, shutdown]);
    try {
      if (order.kind === 'submit') {
        signal.throwIfAborted();
        await hooks.submitting(clock.now());
        signal.throwIfAborted();
        this.lastSubmitAtMs = clock.now();
        // The submit is never aborted half-way: a task created by a call we gave up on would be
        // billed and unknown. Cancellation takes effect right after, with the task id in hand.
        const task = await backend.submit({ media: order.media, styleId: order.styleId, fps: order.fps });
        this.aside.accept();
        record.taskId = task.taskId;
        record.submittedAtMs = clock.now();
        record.remote = task.status === 'running' ? 'running' : 'pending';
        await hooks.submitted({
          taskId: task.taskId,
          submittedAtMs: record.submittedAtMs,
          remote: record.remote,
          requestId: task.requestId,
        });
      }
      const submittedAtMs = record.submittedAtMs!;
      const done = await awaitTask(this.options, record.taskId!, {
        submittedAtMs,
        expectedMs: order.expectedMs,
        signal,
        onStatus: (snapshot) => {
          record.remote = snapshot.status === 'running' ? 'running' : 'pending';
          hooks.status(record.remote);
        },
      });
      this.aside.accept();
      return {
        kind: 'succeeded',
        taskId: done.taskId,
        outputUrl: done.outputUrl,
        billedSec: done.billedSec,
        // A task resumed after a restart would count the downtime as processing time.
        taskMs: order.kind === 'submit' ? clock.now() - submittedAtMs : undefined,
      };
    } catch (error) {
      if (canceled.aborted) return this.cancelTask(record);
      if (shutdown.aborted) return { kind: 'interrupted' };
      const failure = failureOf(error);
      if (isKeyFailure(failure)) {
        this.setAside(failure);
        return { kind: 'key-refused', failure, taskId: record.taskId };
      }
      return { kind: 'failed', failure };
    }
  }

  /** Cancels a task that is still pending at the backend; a running one cannot be. */
  private async cancelTask(record: LaneRunRecord): Promise<LaneOutcome> {
    const by = record.canceledBy ?? 'unknown';
    const { taskId } = record;
    if (taskId === undefined) return { kind: 'canceled', by, remote: 'none' };
    if (record.remote === 'running') return { kind: 'canceled', by, remote: 'running' };
    try {
      await this.options.backend.cancel(taskId, AbortSignal.timeout(5_000));
      return { kind: 'canceled', by, remote: 'canceled' };
    } catch (error) {
      this.options.logger.warn('could not cancel the task', {
        jobId: record.jobId,
        taskId,
        error: String(error),
      });
      return { kind: 'canceled', by, remote: 'running' };
    }
  }
}
