import { isAbort, RemoteError } from './errors.ts';
import { nextPollDelayMs, type PollScheduleOptions } from './poll.ts';
import type { Clock, Logger, RestyleBackend, TaskSnapshot } from './ports.ts';

/** What polling a task needs. */
export interface TaskDeps {
  readonly backend: RestyleBackend;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly poll?: PollScheduleOptions | undefined;
  /** A task not terminal after this long is given up on. */
  readonly taskTimeoutMs: number;
}

/** Steps of a restyle, in order. */
export type Phase = 'probing' | 'queued' | 'submitting' | 'pending' | 'running' | 'fetching' | 'done';

/** A progress report; `etaMs` is the estimated time left until the result is local. */
export interface ProgressEvent {
  readonly phase: Phase;
  /** Since the run started. */
  readonly elapsedMs: number;
  readonly etaMs?: number | undefined;
  /** 1-based place in the queue, while queued. */
  readonly position?: number | undefined;
  /** Estimated fraction of the remote work done, while pending or running. */
  readonly fraction?: number | undefined;
  readonly taskId?: string | undefined;
  /** While queued: nothing can start now because every key is set aside. */
  readonly held?: 'keys-out' | undefined;
}

/** Estimated fraction of the remote work done after `elapsedMs`, never reaching 1 before the end. */
export function estimateFraction(elapsedMs: number, expectedMs: number): number {
  if (expectedMs <= 0) return 0;
  const linear = elapsedMs / expectedMs;
  // Past the estimate, approach 99 % asymptotically instead of sitting at 100 %.
  return linear < 0.9 ? linear : Math.min(0.99, 0.9 + 0.09 * (1 - Math.exp(-(linear - 0.9) * 3)));
}

/** Options of `awaitTask`. */
export interface AwaitTaskOptions {
  /** When the task was submitted (clock ms). */
  readonly submittedAtMs: number;
  readonly expectedMs: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called after each successful status query. */
  readonly onStatus?: (snapshot: TaskSnapshot) => void;
}

/**
 * Polls the task until it is terminal: resolves with the SUCCEEDED snapshot (which carries the
 * output URL), or rejects with a RemoteError (FAILED, canceled, gone, timed out) or when aborted.
 * Transient query failures do not end the wait.
 */
export async function awaitTask(
  deps: TaskDeps,
  taskId: string,
  options: AwaitTaskOptions,
): Promise<TaskSnapshot & { outputUrl: string }> {
  const { clock, backend, logger } = deps;
  let unknownStreak = 0;
  for (;;) {
    const elapsedMs = clock.now() - options.submittedAtMs;
    if (elapsedMs > deps.taskTimeoutMs) {
      throw new RemoteError({
        kind: 'timeout',
        code: 'TaskTimeout',
        message: `The task did not finish within ${Math.round(deps.taskTimeoutMs / 1000)} s`,
        taskId,
      });
    }
    await clock.sleep(nextPollDelayMs(elapsedMs, options.expectedMs, deps.poll), options.signal);
    let snapshot: TaskSnapshot;
    try {
      snapshot = await backend.check(taskId, options.signal);
    } catch (error) {
      if (isAbort(error) || options.signal?.aborted) throw error;
      if (error instanceof RemoteError && error.retryable) {
        logger.warn('status query failed; polling on', {
          taskId,
          code: error.code,
          requestId: error.requestId,
        });
        continue;
      }
      throw error;
    }
    unknownStreak = snapshot.status === 'unknown' ? unknownStreak + 1 : 0;
    switch (snapshot.status) {
      case 'succeeded':
        if (!snapshot.outputUrl) {
          throw new RemoteError({
            kind: 'task-failed',
            code: 'NoOutput',
            message: 'The task succeeded without an output video URL',
            taskId,
            requestId: snapshot.requestId,
          });
        }
        return { ...snapshot, outputUrl: snapshot.outputUrl };
      case 'failed':
        throw new RemoteError({
          kind: 'task-failed',
          code: snapshot.failure?.code ?? 'UnknownError',
          message: snapshot.failure?.message ?? 'The task failed',
          taskId,
          requestId: snapshot.requestId,
        });
      case 'canceled':
        throw new RemoteError({
          kind: 'task-failed',
          code: 'Canceled',
          message: 'The task was canceled',
          taskId,
        });
      case 'unknown':
        // A task seen once as UNKNOWN right after submit may be a replica lagging; twice is gone.
        if (unknownStreak >= 2) {
          throw new RemoteError({
            kind: 'task-lost',
            code: 'UNKNOWN',
            message: 'DashScope no longer knows the task (expired or never created)',
            taskId,
            requestId: snapshot.requestId,
          });
        }
        break;
      case 'pending':
      case 'running':
      case 'suspended':
        options.onStatus?.(snapshot);
        break;
    }
  }
}
