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
  save(job: RestyleJob): Promise<void> {
    const ttlMs = isTerminal(job.state) && this.#terminalJobTtlMs > 0 ? this.#terminalJobTtlMs : undefined;
    return this.#inOrder(`job:${job.id}`, `save job ${job.id}`, async () => {
      // Keyv only reports `false` when the adapter swallowed an error; treat it as one.
      if (!(await this.#jobs.set(job.id, job, ttlMs))) throw new Error('the adapter refused the write');
    });
  }

  /** The job, or `undefined` when absent or expired. */
  get(id: string): Promise<RestyleJob | undefined> {
    return this.#attempt(`read job ${id}`, async () => (await this.#jobs.get(id)) as RestyleJob | undefined);
  }

  /** Every stored job that has not expired, read by iterating the jobs namespace. */
  list(): Promise<RestyleJob[]> {
    return this.#attempt('list jobs', async () => {
      const byKey = new Map<string, RestyleJob>();
      // Redis SCAN may return a key twice; the map keeps one copy.
      for await (const [key, job] of this.#iterate(this.#jobs)) byKey.set(key, job as RestyleJob);
      return [...byKey.values()];
    });
  }

  /** Removes the job; resolves also when it did not exist. */
  delete(id: string): Promise<void> {
    return this.#inOrder(`job:${id}`, `delete job ${id}`, async () => {
      await this.#jobs.delete(id);
    });
  }

  /** The record, or `undefined` when absent or expired. */
  getRecord<T>(key: string): Promise<T | undefined> {
    return this.#attempt(`read record ${key}`, async () => (await this.#records.get(key)) as T | undefined);
  }

  /** Writes the record; with `ttlMs` it expires after that long (0 or less removes it at once). */
  setRecord<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    if (Number.isNaN(ttlMs)) return Promise.reject(new RangeError('ttlMs must be a number'));
    return this.#inOrder(`record:${key}`, `save record ${key}`, async () => {
      // Keyv reads a TTL of 0 as "forever"; a record meant to expire at once must not be kept.
      if (ttlMs !== undefined && ttlMs <= 0) {
        await this.#records.delete(key);
        return;
      }
      const wholeTtlMs =
        ttlMs === undefined || ttlMs === Number.POSITIVE_INFINITY ? undefined : Math.ceil(ttlMs);
      if (!(await this.#records.set(key, value, wholeTtlMs))) {
        throw new Error('the adapter refused the write');
      }
    });
  }

  /** Removes the record; resolves also when it did not exist. */
  deleteRecord(key: string): Promise<void> {
    return this.#inOrder(`record:${key}`, `delete record ${key}`, async () => {
      await this.#records.delete(key);
    });
  }

  /** Every live record whose key starts with `prefix`, read by iterating the records namespace. */
  listRecords(prefix: string): Promise<Array<{ key: string; value: unknown }>> {
    return this.#attempt(`list records ${prefix}*`, async () => {
      const byKey = new Map<string, unknown>();
      for await (const [key, value] of this.#iterate(this.#records)) {
        if (key.startsWith(prefix)) byKey.set(key, value);
      }
      return [...byKey].map(([key, value]) => ({ key, value }));
    });
  }

  /**
   * Resolves once expired jobs and records are removed. Redis expires keys by itself; SQLite only
   * drops an expired row when it is read, so this is what keeps its file from growing forever.
   */
  sweepExpired(): Promise<void> {
    return this.#attempt('remove expired entries', async () => {
      for (const keyv of [this.#jobs, this.#records]) {
        // Keyv's iterator deletes each expired entry it meets: reading everything is the sweep.
        for await (const _ of this.#iterate(keyv));
      }
    });
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

  /** Runs `write` after the previous write of `key`, so writes of one key land in call order. */
  #inOrder(key: string, what: string, write: () => Promise<void>): Promise<void> {
    // Checked now, not when its turn comes: close() lets writes made before it finish.
    if (this.#closed) return Promise.reject(closedError(what));
    const previous = this.#writes.get(key);
    const run = () => explained(what, write);
    const result = previous ? previous.then(run) : run();
    const settled = result.catch(() => undefined);
    this.#writes.set(key, settled);
    void settled.then(() => {
      if (this.#writes.get(key) === settled) this.#writes.delete(key);
    });
    return result;
  }

  #attempt<T>(what: string, action: () => Promise<T>): Promise<T> {
    return this.#closed ? Promise.reject(closedError(what)) : explained(what, action);
  }
}

/** Runs `action`, giving its failure the context of `what` was attempted. */
async function explained<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new StoreError('store-failed', `Cannot ${what}: ${reasonOf(error)}`, { cause: error });
  }
}

function closedError(what: string): StoreError {
  return new StoreError('store-closed', `Cannot ${what}: the job store is closed`);
}

/** Why a job store failed: a URL it does not accept, a backend it cannot reach, a failed operation. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: 'store-url' | 'store-unreachable' | 'store-failed' | 'store-closed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A short reason for `error`, e.g. `connect ECONNREFUSED 127.0.0.1:6379`. */
export function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reasonOf(error.errors[0]);
  // node-redis' TimeoutError has neither message nor name of its own.
  if (error instanceof Error) return error.message || error.constructor.name;
  return String(error);
}
