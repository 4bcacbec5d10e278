import { sleep } from './clock.ts';
import { isAbort } from './errors.ts';

/** Tuning of retries with exponential backoff and full jitter. */
export interface RetryOptions {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
} as const satisfies RetryOptions;

/**
 * Delay before retry number `attempt` (1-based): a uniform draw in [0, min(max, base·2^(attempt-1))],
 * never below the server's `retryAfterMs` when it sent one.
 */
export function backoffDelayMs(
  attempt: number,
  options: RetryOptions = DEFAULT_RETRY,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const ceilingMs = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(random() * ceilingMs);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

/** Runs `operation` until it succeeds, a non-retryable error occurs, or attempts run out. */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: {
    isRetryable: (error: unknown) => boolean;
    retryAfterMs?: (error: unknown) => number | undefined;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
    retry?: RetryOptions;
    signal?: AbortSignal;
    sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
    random?: () => number;
  },
): Promise<T> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (isAbort(error) || options.signal?.aborted) throw error;
      if (attempt >= retry.maxAttempts || !options.isRetryable(error)) throw error;
      const delayMs = backoffDelayMs(attempt, retry, options.random, options.retryAfterMs?.(error));
      options.onRetry?.(error, attempt, delayMs);
      await wait(delayMs, options.signal);
    }
  }
}

/** Serialises callers so that consecutive passes are at least `intervalMs` apart. */
export class MinIntervalGate {
  private lastPassMs = Number.NEGATIVE_INFINITY;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void> = sleep,
  ) {}

  /** Resolves when the caller may proceed; rejects if aborted while waiting its turn. */
  pass(signal?: AbortSignal): Promise<void> {
    const turn = this.tail.then(async () => {
      const waitMs = this.lastPassMs + this.intervalMs - this.now();
      if (waitMs > 0) await this.wait(waitMs, signal);
      this.lastPassMs = this.now();
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
