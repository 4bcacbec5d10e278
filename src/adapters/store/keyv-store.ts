import type { Keyv } from 'keyv';
import { isTerminal, type RestyleJob } from '../../core/job.ts';
import type { JobStore } from '../../core/ports.ts';

/** Defaults of {@link KeyvJobStore}. */
export const KEYV_JOB_STORE_DEFAULTS = {
  /** A week: long enough to look back at a finished job, short enough that the store stays small. */
  terminalJobTtlMs: 7 * 24 * 3_600_000,
} as const satisfies { terminalJobTtlMs: number };

/** What a {@link KeyvJobStore} is built from. */
export interface KeyvJobStoreOptions {
  /** Holds one entry per job, keyed by job id; nothing else may live in its namespace. */
  readonly jobs: Keyv;
  /** Holds the small records (speed model, result cache). */
  readonly records: Keyv;
  /** How long a terminal job is kept after its last save; 0 keeps it forever. */
  readonly terminalJobTtlMs?: number;
}

/** A JobStore over two Keyv namespaces (jobs and records), for any iterable Keyv adapter. */
export class KeyvJobStore implements JobStore {
  readonly #jobs: Keyv;
  readonly #records: Keyv;
  readonly #terminalJobTtlMs: number;
  /** The last write of each key, so writes of one key land in the order they were made. */
  readonly #writes = new Map<string, Promise<void>>();
  #closed = false;

  constructor(options: KeyvJobStoreOptions) {
    this.#jobs = options.jobs;
    this.#records = options.records;
    this.#terminalJobTtlMs = options.terminalJobTtlMs ?? KEYV_JOB_STORE_DEFAULTS.terminalJobTtlMs;
    if (!(this.#terminalJobTtlMs >= 0)) throw new RangeError('terminalJobTtlMs must be 0 or more');
    if (!this.#jobs.iterator) throw new Error('KeyvJobStore needs a Keyv adapter that can iterate its keys');
  }

  /** Resolves once the store acknowledged the write; a terminal job expires after `terminalJobTtlMs`. */
  async save(job: RestyleJob): Promise<void> {
    this.#assertOpen();
    const ttlMs = isTerminal(job.state) && this.#terminalJobTtlMs > 0 ? this.#terminalJobTtlMs : undefined;
    return this.#inOrder(`job:${job.id}`, async () => {
      // Keyv only reports `false` when the adapter swallowed an error; treat it as one.
      if (!(await this.#jobs.set(job.id, job, ttlMs))) throw new Error(`Could not save job ${job.id}`);
    });
  }

  /** The job, or `undefined` when absent or expired. */
  async get(id: string): Promise<RestyleJob | undefined> {
    this.#assertOpen();
    return (await this.#jobs.get(id)) as RestyleJob | undefined;
  }

  /** Every stored job that has not expired, read by iterating the jobs namespace. */
  async list(): Promise<RestyleJob[]> {
    this.#assertOpen();
    const byKey = new Map<string, RestyleJob>();
    // Redis SCAN may return a key twice; the map keeps one copy.
    for await (const [key, job] of this.#iterate(this.#jobs)) byKey.set(key, job as RestyleJob);
    return [...byKey.values()];
  }

  /** Removes the job; resolves also when it did not exist. */
  async delete(id: string): Promise<void> {
    this.#assertOpen();
    return this.#inOrder(`job:${id}`, async () => {
      await this.#jobs.delete(id);
    });
  }

  /** The record, or `undefined` when absent or expired. */
  async getRecord<T>(key: string): Promise<T | undefined> {
    this.#assertOpen();
    return (await this.#records.get(key)) as T | undefined;
  }

  /** Writes the record; with `ttlMs` it expires after that long (0 or less removes it at once). */
  async setRecord<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    this.#assertOpen();
    if (Number.isNaN(ttlMs)) throw new RangeError('ttlMs must be a number');
    return this.#inOrder(`record:${key}`, async () => {
      // Keyv reads a TTL of 0 as "forever"; a record meant to expire at once must not be kept.
      if (ttlMs !== undefined && ttlMs <= 0) {
        await this.#records.delete(key);
        return;
      }
      const wholeTtlMs =
        ttlMs === undefined || ttlMs === Number.POSITIVE_INFINITY ? undefined : Math.ceil(ttlMs);
      if (!(await this.#records.set(key, value, wholeTtlMs))) throw new Error(`Could not save record ${key}`);
    });
  }

  /**
   * Resolves once expired jobs and records are removed. Redis expires keys by itself; SQLite only
   * drops an expired row when it is read, so this is what keeps its file from growing forever.
   */
  async sweepExpired(): Promise<void> {
    this.#assertOpen();
    for (const keyv of [this.#jobs, this.#records]) {
      // Keyv's iterator deletes each expired entry it meets: reading everything is the sweep.
      for await (const _ of this.#iterate(keyv));
    }
  }

  /** Waits for pending writes, then releases connections and file handles; later calls do nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#writes.values()]);
    // One after the other: the two may share a connection, which only the first really closes.
    try {
      await this.#jobs.disconnect();
    } finally {
      await this.#records.disconnect();
    }
  }

  #iterate(keyv: Keyv): AsyncGenerator<[string, unknown], void> {
    // Checked in the constructor for jobs; records share the adapter kind.
    const iterator = keyv.iterator;
    if (!iterator) throw new Error('This Keyv adapter cannot iterate its keys');
    return iterator(undefined) as AsyncGenerator<[string, unknown], void>;
  }

  #inOrder(key: string, write: () => Promise<void>): Promise<void> {
    const previous = this.#writes.get(key);
    const result = previous ? previous.then(write) : write();
    const settled = result.catch(() => undefined);
    this.#writes.set(key, settled);
    void settled.then(() => {
      if (this.#writes.get(key) === settled) this.#writes.delete(key);
    });
    return result;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('The job store is closed');
  }
}
