import { z } from 'zod';
import type { RecordStore } from '../../core/ports.ts';
import { defineScope, openScope, type RecordScope } from '../../core/records.ts';

/** Milliseconds until the next midnight UTC, when daily quotas reset. */
export function msUntilUtcMidnight(nowMs: number): number {
  const next = new Date(nowMs);
  next.setUTCHours(24, 0, 0, 0);
  return next.getTime() - nowMs;
}

/** Restyles one person started on one UTC day; kept two days so a day's count outlives its end. */
const QUOTA_SCOPE = defineScope({
  name: 'chat.quota',
  schema: z.number().int().nonnegative(),
  ttlMs: 48 * 3_600_000,
});

/** Restyles per person per UTC day, counted in the store so restarts do not reset them. */
export class DailyQuota {
  private readonly used: RecordScope<number>;

  constructor(
    store: RecordStore,
    /** Restyles a day; 0 means no limit. */
    readonly perDay: number,
    private readonly now: () => number = Date.now,
  ) {
    this.used = openScope(store, QUOTA_SCOPE);
  }

  /** Restyles left today for a requester key (`telegram:42`); `undefined` when there is no limit. */
  async left(requesterKey: string): Promise<number | undefined> {
    if (this.perDay <= 0) return undefined;
    const used = (await this.used.get(this.id(requesterKey))) ?? 0;
    return Math.max(0, this.perDay - used);
  }

  /** Counts one restyle. */
  async spend(requesterKey: string): Promise<void> {
    if (this.perDay <= 0) return;
    const id = this.id(requesterKey);
    await this.used.set(id, ((await this.used.get(id)) ?? 0) + 1);
  }

  /** Until the quota resets. */
  resetInMs(): number {
    return msUntilUtcMidnight(this.now());
  }

  private id(requesterKey: string): string {
    return `${requesterKey}:${new Date(this.now()).toISOString().slice(0, 10)}`;
  }
}
