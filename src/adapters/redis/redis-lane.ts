import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { AbortedError } from '../../core/errors.ts';
import { failureOf, type JobFailure } from '../../core/job.ts';
import type {
  Clock,
  Lane,
  LaneHealth,
  LaneOrder,
  LaneOutcome,
  LaneRun,
  LaneRunHooks,
  LaneSlot,
  Logger,
  RestyleBackend,
  TaskSnapshot,
} from '../../core/ports.ts';
import { type MutableRunRecord, startLaneRun } from '../../core/queue/lane.ts';
import { DEFAULT_SET_ASIDE, type SetAsideTimes } from '../../core/queue/set-aside.ts';
import {
  connectionOf,
  laneKeys,
  laneQueueName,
  runJobId,
  type SharedLaneOptions,
  type SharedRunData,
  type SharedRunProgress,
} from './lane-keys.ts';

/** Options of a lane shared through Redis. */
export interface RedisLaneOptions extends SharedLaneOptions {
  readonly id: string;
  /** The lane key's backend, for checking a task a lost submit may have created. */
  readonly backend: RestyleBackend;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly setAside?: SetAsideTimes;
  /** How long the lease on the lane lives without renewal (an owner that dies frees it after this). */
  readonly leaseMs?: number;
  /** How often a waiting owner looks at the lease again. */
  readonly leasePollMs?: number;
}

const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * A lane whose key is shared by every instance on one Redis. The instance that holds the lane's
 * lease (one at a time) puts its order in the lane's BullMQ queue; a worker in any instance runs
 * it with the key (`LaneWorkers`) — one at a time, submits a second apart, and a worker that dies
 * mid-run is replaced without a second submit. The owner keeps its job's state from the worker's
 * progress and gets the outcome as a value.
 */
export class RedisLane implements Lane {
  readonly id: string;
  private readonly redis: Redis;
  private readonly queue: Queue<SharedRunData>;
  private readonly events: QueueEvents;
  private readonly keys: ReturnType<typeof laneKeys>;
  private readonly owner = randomUUID();
  private readonly progress = new Map<string, (progress: SharedRunProgress) => void>();
  private cachedHealth: LaneHealth = { state: 'ready' };
  private readonly healthTimer: NodeJS.Timeout;

  constructor(private readonly options: RedisLaneOptions) {
    this.id = options.id;
    this.redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3, lazyConnect: false });
    const connection = connectionOf(options.redisUrl);
    this.queue = new Queue(laneQueueName(options.id), { connection, prefix: options.prefix });
    this.events = new QueueEvents(laneQueueName(options.id), { connection, prefix: options.prefix });
    this.keys = laneKeys(options.prefix, options.id);
    this.events.on('progress', ({ jobId, data }) => {
      this.progress.get(jobId)?.(data as SharedRunProgress);
    });
    this.healthTimer = setInterval(() => void this.refreshHealth(), 1_000);
    this.healthTimer.unref();
    void this.refreshHealth();
  }

  /** Resolves once the queue's event stream is read, so no outcome of a run added after is missed. */
  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  health(): LaneHealth {
    const health = this.cachedHealth;
    if (health.state === 'out' && this.options.clock.now() >= health.retryAtMs) return { state: 'ready' };
    return health;
  }

  setAside(failure: JobFailure): void {
    void this.writeAside(failure.code).catch((error: unknown) => {
      this.options.logger.warn('could not record a refused key in Redis', {
        laneId: this.id,
        error: String(error),
      });
    });
  }

  /** Resolves with the lane's lease once no other owner holds it and its key is not set aside. */
  async acquire(signal: AbortSignal): Promise<LaneSlot> {
    const { clock } = this.options;
    const leaseMs = this.options.leaseMs ?? 30_000;
    const token = `${this.owner}:${randomUUID()}`;
    for (;;) {
      signal.throwIfAborted();
      const health = await this.refreshHealth();
      if (health.state === 'out') {
        await clock.sleep(Math.max(50, health.retryAtMs - clock.now()), signal);
        continue;
      }
      if ((await this.redis.set(this.keys.lease, token, 'PX', leaseMs, 'NX')) === 'OK') break;
      await clock.sleep(this.options.leasePollMs ?? 25, signal);
    }
    const renew = setInterval(() => {
      void this.redis.eval(RENEW, 1, this.keys.lease, token, String(leaseMs)).catch(() => undefined);
    }, leaseMs / 3);
    renew.unref();
    let used = false;
    const free = async () => {
      clearInterval(renew);
      await this.redis.eval(RELEASE, 1, this.keys.lease, token).catch(() => undefined);
    };
    return {
      run: (order, hooks, shutdown) => {
        if (used) throw new Error(`lane ${this.id}: a slot runs one job`);
        used = true;
        return this.start(order, hooks, shutdown, free);
      },
      release: () => {
        if (used) return;
        used = true;
        void free();
      },
    };
  }

  /**
   * The task of an interrupted submit: its run's BullMQ job says whether the worker created one.
   * A run still waiting in the queue is taken out (the submit never happened); one being worked on
   * is waited for until its task id is known.
   */
  async lostSubmit(
    jobId: string,
    sinceMs: number,
    _knownTaskIds: ReadonlySet<string>,
    signal: AbortSignal,
  ): Promise<TaskSnapshot | undefined> {
    const runId = `${jobId}.s.${sinceMs}`;
    for (;;) {
      const run = await this.queue.getJob(runId);
      if (!run) return undefined;
      if (run.data.taskId) return this.options.backend.check(run.data.taskId, signal);
      const state = await run.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
        await run.remove().catch(() => undefined);
        if (!(await this.queue.getJob(runId))) return undefined;
        continue;
      }
      if (state === 'completed' || state === 'failed' || state === 'unknown') return undefined;
      await this.options.clock.sleep(200, signal);
    }
  }

  /** Closes the lane's connections. */
  async close(): Promise<void> {
    clearInterval(this.healthTimer);
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.redis.disconnect();
  }

  private start(
    order: LaneOrder,
    hooks: LaneRunHooks,
    shutdown: AbortSignal,
    free: () => Promise<void>,
  ): LaneRun {
    // The lease is given back before the outcome is told, so this owner's next acquire finds it free.
    return startLaneRun(
      this.id,
      order,
      (record, canceled) => this.execute(order, hooks, record, canceled, shutdown),
      free,
    );
  }

  private async execute(
    order: LaneOrder,
    hooks: LaneRunHooks,
    record: MutableRunRecord,
    canceled: AbortSignal,
    shutdown: AbortSignal,
  ): Promise<LaneOutcome> {
    let startedAtMs: number | undefined;
    try {
      if (order.kind === 'submit') {
        if (canceled.aborted) return { kind: 'canceled', by: record.canceledBy ?? 'unknown', remote: 'none' };
        startedAtMs = this.options.clock.now();
        // On record before the order leaves this process: a restart looks for its run, never submits blindly.
        await hooks.submitting(startedAtMs);
      }
      const runId = runJobId(order, startedAtMs);
      this.progress.set(runId, (progress) => {
        if (progress.phase === 'submitted') {
          record.taskId = progress.taskId;
          record.submittedAtMs = progress.submittedAtMs;
          record.remote = progress.remote;
          void hooks
            .submitted({
              taskId: progress.taskId,
              submittedAtMs: progress.submittedAtMs,
              remote: progress.remote,
              requestId: progress.requestId,
            })
            .catch((error: unknown) => {
              this.options.logger.warn('could not save a submitted task', {
                jobId: order.jobId,
                error: String(error),
              });
            });
        } else {
          record.remote = progress.remote;
          hooks.status(progress.remote);
        }
      });
      const job = await this.queue.add(
        'run',
        { order },
        {
          jobId: runId,
          attempts: 100,
          removeOnComplete: { age: 3_600 },
          removeOnFail: { age: 86_400 },
        },
      );
      const finished = job.waitUntilFinished(this.events) as Promise<LaneOutcome>;
      const onCancel = () => {
        void this.redis.set(this.keys.cancel(order.jobId), record.canceledBy ?? 'unknown', 'PX', 3_600_000);
      };
      canceled.addEventListener('abort', onCancel, { once: true });
      try {
        const outcome = await raceAbort(finished, shutdown);
        if (outcome.kind === 'key-refused') await this.refreshHealth();
        return outcome;
      } finally {
        canceled.removeEventListener('abort', onCancel);
        this.progress.delete(runId);
      }
    } catch (error) {
      if (shutdown.aborted) return { kind: 'interrupted' };
      return { kind: 'failed', failure: failureOf(error) };
    }
  }

  /** Reads the shared set-aside record into the cache. */
  private async refreshHealth(): Promise<LaneHealth> {
    try {
      const raw = await this.redis.get(this.keys.aside);
      const aside = raw
        ? (JSON.parse(raw) as { code: string; sinceMs: number; retryAtMs: number })
        : undefined;
      this.cachedHealth = aside
        ? { state: 'out', code: aside.code, sinceMs: aside.sinceMs, retryAtMs: aside.retryAtMs }
        : { state: 'ready' };
    } catch {
      // Redis unreachable: keep the last known health; acquiring the lease fails on its own.
    }
    return this.health();
  }

  private async writeAside(code: string): Promise<void> {
    await writeSharedAside(
      this.redis,
      this.keys.aside,
      code,
      this.options.setAside ?? DEFAULT_SET_ASIDE,
      this.options.clock.now(),
    );
    this.options.logger.error('DashScope refused this key: it is set aside and tried again later', {
      laneId: this.id,
      code,
    });
    await this.refreshHealth();
  }
}

/** Records a refused key for every instance: the pause doubles while the key keeps being refused. */
export async function writeSharedAside(
  redis: Redis,
  key: string,
  code: string,
  times: SetAsideTimes,
  nowMs: number,
): Promise<number> {
  const raw = await redis.get(key);
  const previous = raw ? (JSON.parse(raw) as { sinceMs: number; pauseMs: number }) : undefined;
  const pauseMs = Math.max(1, Math.min(times.longestMs, previous ? previous.pauseMs * 2 : times.firstMs));
  const value = { code, sinceMs: previous?.sinceMs ?? nowMs, retryAtMs: nowMs + pauseMs, pauseMs };
  // Kept past its retry time so a second refusal in a row doubles the pause.
  await redis.set(key, JSON.stringify(value), 'PX', pauseMs + times.longestMs);
  return pauseMs;
}

/** The promise's value, or an AbortedError once `signal` fires. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortedError());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new AbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
