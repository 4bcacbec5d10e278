import type { JobStore } from '../../core/ports.ts';

/** Milliseconds until the next midnight UTC, when daily quotas reset. */
export function msUntilUtcMidnight(nowMs: number): number {
  const next = new Date(nowMs);
  next.setUTCHours(24, 0, 0, 0);
  return next.getTime() - nowMs;
}

/** Restyles per person per UTC day, counted in the store so restarts do not reset them. */
export class DailyQuota {
  constructor(
    private readonly store: JobStore,
    /** Restyles a day; 0 means no limit. */
    readonly perDay: number,
    /** Prefix of the records, e.g. `telegram:quota`. */
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Restyles left today; `undefined` when there is no limit. */
  async left(personId: string | number): Promise<number | undefined> {
    if (this.perDay <= 0) return undefined;
    const used = (await this.store.getRecord<number>(this.key(personId))) ?? 0;
    return Math.max(0, this.perDay - used);
  }

  /** Counts one restyle. */
  async spend(personId: string | number): Promise<void> {
    if (this.perDay <= 0) return;
    const key = this.key(personId);
    const used = (await this.store.getRecord<number>(key)) ?? 0;
    await this.store.setRecord(key, used + 1, 48 * 3_600_000);
  }

  /** Until the quota resets. */
  resetInMs(): number {
    return msUntilUtcMidnight(this.now());
  }

  private key(personId: string | number): string {
    return `${this.prefix}:${personId}:${new Date(this.now()).toISOString().slice(0, 10)}`;
  }
}
