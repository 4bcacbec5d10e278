import { z } from 'zod';
import type { RecordStore, UpdateClaim, UpdateClaims } from '../../core/ports.ts';
import { defineScope, openScope, type RecordScope } from '../../core/records.ts';

/** Updates handled, by id; Telegram keeps unconfirmed updates for 24 hours. */
const HANDLED_UPDATES = defineScope({
  name: 'telegram.update',
  schema: z.literal(true),
  ttlMs: 24 * 3_600_000,
});

/**
 * Update claims for one process (the embedded default): handled updates in the store, so one
 * delivered again after a restart is recognised; updates being handled in memory.
 */
export class StoreUpdateClaims implements UpdateClaims {
  private readonly handled: RecordScope<true>;
  private readonly holding = new Set<string>();

  constructor(store: RecordStore) {
    this.handled = openScope(store, HANDLED_UPDATES);
  }

  async claim(id: string): Promise<UpdateClaim> {
    if (this.holding.has(id)) return 'busy';
    this.holding.add(id);
    if (await this.handled.get(id)) {
      this.holding.delete(id);
      return 'done';
    }
    return 'mine';
  }

  async done(id: string): Promise<void> {
    try {
      await this.handled.set(id, true);
    } finally {
      this.holding.delete(id);
    }
  }
}
