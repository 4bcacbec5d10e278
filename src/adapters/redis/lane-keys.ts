import type { ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { LaneOrder, LaneOutcome } from '../../core/ports.ts';

/** Where the lanes of every instance meet: one Redis, one prefix. */
export interface SharedLaneOptions {
  /** `redis://` or `rediss://` URL of the Redis every instance uses. */
  readonly redisUrl: string;
  /** Keys and queues start with it, so several deployments can share a Redis. */
  readonly prefix: string;
}

/** What a run on a shared lane carries: the order, and what the worker has recorded so far. */
export interface SharedRunData {
  readonly order: LaneOrder;
  /** Set by the worker just before its submit: a takeover must look for a task before submitting. */
  readonly submittingAtMs?: number;
  /** Set by the worker once the task exists: a takeover follows it and never submits again. */
  readonly taskId?: string;
  readonly submittedAtMs?: number;
}

/** Progress a worker reports while it runs an order; the owner turns it into its run hooks. */
export type SharedRunProgress =
  | {
      readonly phase: 'submitted';
      readonly taskId: string;
      readonly submittedAtMs: number;
      readonly remote: 'pending' | 'running';
      readonly requestId: string | undefined;
    }
  | { readonly phase: 'status'; readonly remote: 'pending' | 'running' };

/** How a shared run ended: a lane outcome, as the worker returns it. */
export type SharedRunResult = LaneOutcome;

/** The BullMQ queue of one lane (one key). */
export function laneQueueName(laneId: string): string {
  return `restyle-lane-${laneId}`;
}

/** The Redis keys of one lane beside its queue. */
export function laneKeys(prefix: string, laneId: string) {
  const base = `${prefix}:lane:${laneId}`;
  return {
    /** Which owner holds the lane (a token, with a time to live it keeps renewing). */
    lease: `${base}:lease`,
    /** The key is set aside: JSON `{ code, sinceMs, retryAtMs, pauseMs }`, expiring when it may be tried again. */
    aside: `${base}:aside`,
    /** When the lane last sent a submit (ms), shared so submits stay a second apart across workers. */
    lastSubmit: `${base}:last-submit`,
    /** Every task id the lane's key created, so a takeover can tell its own lost submit apart. */
    tasks: `${base}:tasks`,
    /** A cancel request for a job's run: the requester key. */
    cancel: (jobId: string) => `${base}:cancel:${jobId}`,
  };
}

/** The id of a run's BullMQ job: stable for one submit (or follow), so a restarted owner finds it. */
export function runJobId(order: LaneOrder, startedAtMs: number | undefined): string {
  return order.kind === 'follow' ? `${order.jobId}.f.${order.taskId}` : `${order.jobId}.s.${startedAtMs}`;
}

/** ioredis options for BullMQ from a URL (workers need `maxRetriesPerRequest: null`). */
export function connectionOf(redisUrl: string): ConnectionOptions {
  const url = new URL(redisUrl);
  const db = Number(url.pathname.slice(1) || '0');
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/**
 * Resolves once the Redis of the shared lanes answers; rejects within `timeoutMs` with a message
 * naming the server (password hidden), so a service never waits silently for a Redis that is down.
 */
export async function checkLaneRedis(redisUrl: string, where: string, timeoutMs = 5_000): Promise<void> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot reach the Redis of the shared lanes at ${where} (REDIS_URL): ${reason}`);
  } finally {
    redis.disconnect();
  }
}
