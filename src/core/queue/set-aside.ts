import type { JobFailure } from '../job.ts';
import type { Clock, LaneHealth } from '../ports.ts';

/** Failures that say the key itself cannot be used (revoked, out of money, no access), not the job. */
export function isKeyFailure(failure: Pick<JobFailure, 'kind'>): boolean {
  return failure.kind === 'auth' || failure.kind === 'billing';
}

/** How long a refused key is left alone: the first pause, doubled at each refusal up to the longest. */
export interface SetAsideTimes {
  readonly firstMs: number;
  readonly longestMs: number;
}

export const DEFAULT_SET_ASIDE: SetAsideTimes = { firstMs: 5 * 60_000, longestMs: 60 * 60_000 };

/**
 * Whether one key may be used now. A refusal sets it aside until a retry time that doubles with
 * each refusal in a row; the first accepted call after it clears the record.
 */
export class SetAside {
  private out: { code: string; sinceMs: number; retryAtMs: number; pauseMs: number } | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly times: SetAsideTimes = DEFAULT_SET_ASIDE,
  ) {}

  /** Ready, or out until `retryAtMs` (once that has passed the key is ready for a trial). */
  health(): LaneHealth {
    const out = this.out;
    if (!out || this.clock.now() >= out.retryAtMs) return { state: 'ready' };
    return { state: 'out', code: out.code, sinceMs: out.sinceMs, retryAtMs: out.retryAtMs };
  }

  /** Records a refusal; returns how long the key is left alone. */
  refuse(code: string): number {
    const now = this.clock.now();
    const pauseMs = this.out
      ? Math.min(this.times.longestMs, this.out.pauseMs * 2)
      : Math.min(this.times.longestMs, this.times.firstMs);
    this.out = { code, sinceMs: this.out?.sinceMs ?? now, retryAtMs: now + pauseMs, pauseMs };
    return pauseMs;
  }

  /** The key was accepted again. */
  accept(): void {
    this.out = undefined;
  }

  /** Resolves once the key may be tried again; rejects when `signal` aborts. */
  async usable(signal: AbortSignal): Promise<void> {
    for (;;) {
      const health = this.health();
      if (health.state === 'ready') return;
      await this.clock.sleep(health.retryAtMs - this.clock.now(), signal);
    }
  }
}
