import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { systemClock } from '../../core/clock.ts';
import type { PollScheduleOptions } from '../../core/poll.ts';
import type { LaneOrder, LaneOutcome, LaneRunHooks, Logger, RestyleBackend } from '../../core/ports.ts';
import { InProcessLane } from '../../core/queue/lane.ts';
import { DEFAULT_SET_ASIDE, isKeyFailure, type SetAsideTimes } from '../../core/queue/set-aside.ts';
import {
  connectionOf,
  laneKeys,
  laneQueueName,
  type SharedLaneOptions,
  type SharedRunData,
  type SharedRunProgress,
} from './lane-keys.ts';
import { writeSharedAside } from './redis-lane.ts';

/** One key a worker process serves. */
export interface WorkerKey {
  readonly laneId: string;
  readonly backend: RestyleBackend;
}

/** Options of the workers of one process. */
export interface LaneWorkersOptions extends SharedLaneOptions {
  readonly keys: readonly WorkerKey[];
  readonly logger: Logger;
  readonly taskTimeoutMs: number;
  readonly poll?: PollScheduleOptions;
  readonly setAside?: SetAsideTimes;
  /** Least time between two submits of one key, across every worker (DashScope: 1 s; default 1.1 s). */
  readonly submitSpacingMs?: number;
  /** A worker that stops renewing its hold on a run for this long is presumed dead and replaced. */
  readonly lockMs?: number;
  /** How often stalled runs are looked for. */
  readonly stalledCheckMs?: number;
}

/** Thrown when the worker stops mid-run, so the run goes back to the queue for another worker. */
class WorkerStopping extends Error {
  override readonly name = 'WorkerStopping';
}

/**
 * The worker side of shared lanes: one BullMQ worker per key, in any number of processes. Each
 * lane's queue runs one order at a time across all of them (global concurrency 1); submits of a key
 * stay a second apart through a time kept in Redis; a run whose worker died is taken over by
 * another, which follows the task the dead one recorded instead of submitting again.
 */
export class LaneWorkers {
  private readonly workers: Worker<SharedRunData, LaneOutcome>[] = [];
  private readonly redis: Redis;
  private readonly stopping = new AbortController();

  constructor(private readonly options: LaneWorkersOptions) {
    this.redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  }

  /** Starts a worker per key; resolves once each is connected and its queue runs one order at a time. */
  async start(): Promise<void> {
    const connection = connectionOf(this.options.redisUrl);
    for (const key of this.options.keys) {
      const name = laneQueueName(key.laneId);
      const queue = new Queue(name, { connection, prefix: this.options.prefix });
      await queue.setGlobalConcurrency(1);
      await queue.close();
      const lane = new InProcessLane({
        id: key.laneId,
        backend: key.backend,
        clock: systemClock,
        logger: this.options.logger,
        taskTimeoutMs: this.options.taskTimeoutMs,
        ...(this.options.poll ? { poll: this.options.poll } : {}),
        // The shared record in Redis decides when a refused key is tried again, not this copy.
        setAside: { firstMs: 0, longestMs: 0 },
        minSubmitSpacingMs: 0,
      });
      const worker = new Worker<SharedRunData, LaneOutcome>(name, (job) => this.process(key, lane, job), {
        connection,
        prefix: this.options.prefix,
        concurrency: 1,
        lockDuration: this.options.lockMs ?? 30_000,
        stalledInterval: this.options.stalledCheckMs ?? 15_000,
        maxStalledCount: 100,
      });
      worker.on('error', (error) => {
        this.options.logger.warn('lane worker error', { laneId: key.laneId, error: error.message });
      });
      await worker.waitUntilReady();
      this.workers.push(worker);
    }
  }

  /** Stops taking orders; a run in progress goes back to the queue for another worker. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.workers.map((worker) => worker.close()));
    this.redis.disconnect();
  }

  /** Runs one order with the key; a run taken over from a dead worker resumes from what it recorded. */
  private async process(
    key: WorkerKey,
    lane: InProcessLane,
    job: Job<SharedRunData, LaneOutcome>,
  ): Promise<LaneOutcome> {
    const keys = laneKeys(this.options.prefix, key.laneId);
    const order = await this.resumable(key, lane, job, keys.tasks);
    if (!order)
      return {
        kind: 'failed',
        failure: { kind: 'internal', code: 'InternalError', message: 'the run has no order' },
      };
    const canceledBy = await this.redis.get(keys.cancel(order.jobId));
    if (canceledBy && order.kind === 'submit' && !job.data.submittingAtMs) {
      return { kind: 'canceled', by: canceledBy, remote: 'none' };
    }
    const slot = await lane.acquire(this.stopping.signal);
    const run = slot.run(order, this.hooks(job, keys), this.stopping.signal);
    const watch = setInterval(() => {
      void this.redis.get(keys.cancel(order.jobId)).then((by) => {
        if (by) run.cancel(by);
      });
    }, 250);
    try {
      const outcome = await run.outcome;
      if (outcome.kind === 'interrupted') throw new WorkerStopping('the worker is stopping');
      if (outcome.kind === 'key-refused' && isKeyFailure(outcome.failure)) {
        await writeSharedAside(
          this.redis,
          keys.aside,
          outcome.failure.code,
          this.options.setAside ?? DEFAULT_SET_ASIDE,
          Date.now(),
        );
      } else if (outcome.kind === 'succeeded') {
        await this.redis.del(keys.aside);
      }
      if (outcome.kind !== 'key-refused') await this.redis.del(keys.cancel(order.jobId));
      return outcome;
    } finally {
      clearInterval(watch);
    }
  }

  /**
   * The order to run now: a submit the worker before this one began becomes a follow of the task
   * it recorded, or of the task the key created since (a reply lost with the worker); else as sent.
   */
  private async resumable(
    key: WorkerKey,
    lane: InProcessLane,
    job: Job<SharedRunData, LaneOutcome>,
    tasksKey: string,
  ): Promise<LaneOrder | undefined> {
    const { order, taskId, submittedAtMs, submittingAtMs } = job.data;
    if (!order || order.kind === 'follow') return order;
    if (taskId && submittedAtMs !== undefined) {
      this.options.logger.info('a taken-over run follows the task its worker recorded', {
        laneId: key.laneId,
        jobId: order.jobId,
        taskId,
      });
      return {
        kind: 'follow',
        jobId: order.jobId,
        taskId,
        submittedAtMs,
        remote: 'pending',
        expectedMs: order.expectedMs,
      };
    }
    if (submittingAtMs === undefined) return order;
    const known = new Set(await this.redis.smembers(tasksKey));
    const found = await lane.lostSubmit(order.jobId, submittingAtMs, known, this.stopping.signal);
    if (!found || found.status === 'failed' || found.status === 'canceled' || found.status === 'unknown') {
      this.options.logger.info('a taken-over run had not submitted; submitting', {
        laneId: key.laneId,
        jobId: order.jobId,
      });
      return order;
    }
    this.options.logger.info('a taken-over run adopts the task its worker created', {
      laneId: key.laneId,
      jobId: order.jobId,
      taskId: found.taskId,
    });
    await this.redis.sadd(tasksKey, found.taskId);
    await job.updateData({ ...job.data, taskId: found.taskId, submittedAtMs: submittingAtMs });
    return {
      kind: 'follow',
      jobId: order.jobId,
      taskId: found.taskId,
      submittedAtMs: submittingAtMs,
      remote: found.status === 'running' ? 'running' : 'pending',
      expectedMs: order.expectedMs,
    };
  }

  /** What the run records in its BullMQ job (durable for a takeover) and reports to the owner. */
  private hooks(job: Job<SharedRunData, LaneOutcome>, keys: ReturnType<typeof laneKeys>): LaneRunHooks {
    const spacingMs = this.options.submitSpacingMs ?? 1_100;
    const report = (progress: SharedRunProgress) => job.updateProgress(progress as object);
    return {
      submitting: async () => {
        // One submit a second per key across every worker: wait out the last one, wherever it was.
        for (;;) {
          const last = Number((await this.redis.get(keys.lastSubmit)) ?? 0);
          const waitMs = last + spacingMs - Date.now();
          if (waitMs <= 0) break;
          await new Promise((resolve) => setTimeout(resolve, waitMs));
        }
        const now = Date.now();
        await this.redis.set(keys.lastSubmit, String(now), 'PX', 60_000);
        await job.updateData({ ...job.data, submittingAtMs: now });
      },
      submitted: async (task) => {
        await this.redis.sadd(keys.tasks, task.taskId);
        await job.updateData({ ...job.data, taskId: task.taskId, submittedAtMs: task.submittedAtMs });
        await report({ phase: 'submitted', ...task });
      },
      status: (remote) => {
        void report({ phase: 'status', remote }).catch(() => undefined);
      },
    };
  }
}
