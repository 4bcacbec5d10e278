import type { RestyleJob } from '../../src/core/job.ts';
import type { JobStore } from '../../src/core/ports.ts';

/** An in-memory JobStore for core tests; values are copied through JSON like a real store. */
export class MemoryJobStore implements JobStore {
  readonly jobs = new Map<string, string>();
  readonly records = new Map<string, { json: string; expiresAtMs: number | undefined }>();
  saves = 0;

  async save(job: RestyleJob): Promise<void> {
    this.saves += 1;
    this.jobs.set(job.id, JSON.stringify(job));
  }

  async get(id: string): Promise<RestyleJob | undefined> {
    const json = this.jobs.get(id);
    return json === undefined ? undefined : (JSON.parse(json) as RestyleJob);
  }

  async list(): Promise<RestyleJob[]> {
    return [...this.jobs.values()].map((json) => JSON.parse(json) as RestyleJob);
  }

  async delete(id: string): Promise<void> {
    this.jobs.delete(id);
  }

  async getRecord<T>(key: string): Promise<T | undefined> {
    const record = this.records.get(key);
    if (!record || (record.expiresAtMs !== undefined && record.expiresAtMs <= Date.now())) return undefined;
    return JSON.parse(record.json) as T;
  }

  async setRecord<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    this.records.set(key, {
      json: JSON.stringify(value),
      expiresAtMs: ttlMs === undefined ? undefined : Date.now() + ttlMs,
    });
  }

  async deleteRecord(key: string): Promise<void> {
    this.records.delete(key);
  }

  async listRecords(prefix: string): Promise<Array<{ key: string; value: unknown }>> {
    const now = Date.now();
    return [...this.records]
      .filter(([key, r]) => key.startsWith(prefix) && (r.expiresAtMs === undefined || r.expiresAtMs > now))
      .map(([key, r]) => ({ key, value: JSON.parse(r.json) as unknown }));
  }

  async close(): Promise<void> {}
}
