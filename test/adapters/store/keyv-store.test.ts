import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { type CreateJobStoreOptions, createJobStore } from '../../../src/adapters/store/create-store.ts';
import type { KeyvJobStore } from '../../../src/adapters/store/keyv-store.ts';
import type { JobState, RestyleJob } from '../../../src/core/job.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const WEEK_MS = 7 * 24 * 3_600_000;
/** Unique to this run, so parallel runs and leftovers never meet. */
const RUN = `t${process.pid}-${Date.now().toString(36)}`;

async function redisReachable(): Promise<boolean> {
  const client = createClient({
    url: REDIS_URL,
    socket: { connectTimeout: 1_000, reconnectStrategy: false },
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

const redisUp = await redisReachable();
if (!redisUp)
  console.warn(`Redis at ${REDIS_URL.slice('redis://'.length)} unreachable: skipping Redis store tests`);

/** Where one test's store lives: a fresh place each time. */
interface Place {
  readonly url: string;
  readonly keyPrefix: string;
}

/** What differs between the backends the shared suite runs against. */
interface Backend {
  fresh(): Place;
  /** Remaining life of the job's stored entry in ms, `undefined` when it never expires. */
  jobTtlMs(place: Place, id: string): Promise<number | undefined>;
  /** Stored entries (jobs and records) under the place's prefix, expired ones included. */
  countEntries(place: Place): Promise<number>;
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'restyle-store-'));
let sqliteFiles = 0;

/** Runs `query` on the SQLite file of `place` through a connection of its own. */
async function rawSqlite<T>(place: Place, query: (adapter: KeyvSqlite) => Promise<T>): Promise<T> {
  const adapter = new KeyvSqlite({ uri: place.url });
  try {
    return await query(adapter);
  } finally {
    await adapter.disconnect();
  }
}

const sqliteBackend: Backend = {
  fresh: () => {
    sqliteFiles += 1;
    return { url: `sqlite://${join(sqliteDir, `store-${sqliteFiles}.sqlite`)}`, keyPrefix: 'restyle' };
  },
  jobTtlMs: (place, id) =>
    rawSqlite(place, async (adapter) => {
      const rows = await adapter.query(
        'SELECT value FROM keyv WHERE key = ?',
        `${place.keyPrefix}-jobs:${id}`,
      );
      const expires = (JSON.parse(rows[0].value) as { expires?: number }).expires;
      return expires === undefined ? undefined : expires - Date.now();
    }),
  countEntries: (place) =>
    rawSqlite(place, async (adapter) => {
      const rows = await adapter.query(
        'SELECT COUNT(*) AS n FROM keyv WHERE key LIKE ?',
        `${place.keyPrefix}-%`,
      );
      return rows[0].n as number;
    }),
};

let redisPlaces = 0;

const newRedisClient = () => createClient({ url: REDIS_URL });
type RedisClient = ReturnType<typeof newRedisClient>;

async function withRedis<T>(use: (client: RedisClient) => Promise<T>): Promise<T> {
  const client = newRedisClient();
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

async function redisKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: 1_000 })) keys.push(...batch);
  return keys;
}

const redisBackend: Backend = {
  fresh: () => {
    redisPlaces += 1;
    return { url: REDIS_URL, keyPrefix: `${RUN}-${redisPlaces}` };
  },
  jobTtlMs: (place, id) =>
    withRedis(async (client) => {
      const ttlMs = await client.pTTL(`${place.keyPrefix}-jobs:${id}`);
      if (ttlMs === -2) throw new Error(`no key for job ${id}`);
      return ttlMs === -1 ? undefined : ttlMs;
    }),
  countEntries: (place) =>
    withRedis(async (client) => new Set(await redisKeys(client, `${place.keyPrefix}-*`)).size),
};

afterAll(async () => {
  rmSync(sqliteDir, { recursive: true, force: true });
  if (!redisUp) return;
  await withRedis(async (client) => {
    const keys = await redisKeys(client, `${RUN}-*`);
    for (let start = 0; start < keys.length; start += 1_000)
      await client.unlink(keys.slice(start, start + 1_000));
  });
});

let seq = 0;

/** A job with every field set; nested arrays, fractions and a `:`-led string test the serializer. */
function job(id: string, state: JobState = { kind: 'waiting' }): RestyleJob {
  seq += 1;
  return {
    id,
    seq,
    requester: { key: 'telegram:12345', name: 'Ann', operator: false },
    delivery: { platform: 'telegram', chatId: -100123, messageId: 42, silent: true, thread: null },
    inputPath: ':data/inputs/clip one.mp4',
    inputHash: 'a1b2'.repeat(16),
    styleId: 3,
    fps: 15,
    durationSec: 4.25,
    changes: [
      { kind: 'trim', fromSec: 31.5, toSec: 30 },
      { kind: 'scale', from: { width: 3840, height: 2160 }, to: { width: 1280, height: 720 } },
    ],
    createdAtMs: 1_760_000_000_000,
    updatedAtMs: 1_760_000_000_123,
    state,
  };
}

const media = { url: 'oss://bucket/key.mp4', ossResolve: true };

/** One state of every kind, optional fields both present and `undefined`. */
const EVERY_STATE: readonly JobState[] = [
  { kind: 'waiting' },
  { kind: 'waiting', media: undefined },
  { kind: 'waiting', media },
  { kind: 'submitting', media, startedAtMs: 1_760_000_000_500 },
  { kind: 'submitted', taskId: 'task-1', submittedAtMs: 1_760_000_001_000, remote: 'running' },
  { kind: 'fetching', taskId: 'task-1', outputUrl: 'https://example.test/out.mp4?sig=x', billedSec: 4 },
  { kind: 'fetching', taskId: 'task-1', outputUrl: 'https://example.test/out.mp4' },
  { kind: 'fetched', taskId: 'task-1', resultPath: '/data/results/x.mp4', cached: false },
  { kind: 'delivered', taskId: 'task-1', cached: true, atMs: 1_760_000_002_000 },
  {
    kind: 'failed',
    failure: {
      kind: 'remote',
      code: 'InvalidParameter',
      message: 'bad "fps"',
      requestId: undefined,
      taskId: 't',
    },
  },
  { kind: 'canceled', by: 'cli:alice', remote: 'none' },
  {
    kind: 'rejected',
    violations: [
      { code: 'duration-too-long', durationSec: 31.5, maxDurationSec: 30 },
      { code: 'container-unsupported', container: 'avi', allowed: ['mp4', 'mov'] },
    ],
  },
];

function storeSuite(name: string, backend: Backend): void {
  describe(name, () => {
    const open: KeyvJobStore[] = [];
    afterAll(async () => {
      await Promise.allSettled(open.map((store) => store.close()));
    });

    async function openStore(place: Place, options: CreateJobStoreOptions = {}): Promise<KeyvJobStore> {
      const store = await createJobStore(place.url, { keyPrefix: place.keyPrefix, ...options });
      open.push(store);
      return store;
    }

    it('round-trips a full job in every state kind', async () => {
      const store = await openStore(backend.fresh());
      const jobs = EVERY_STATE.map((state, index) => job(`job-${index}`, state));
      for (const saved of jobs) await store.save(saved);
      for (const saved of jobs) expect(await store.get(saved.id)).toEqual(saved);
      const listed = await store.list();
      expect(listed.sort((a, b) => a.seq - b.seq)).toEqual(jobs);
      // Stored values are JSON: an `undefined` field comes back absent, not as null.
      const failed = listed.find((one) => one.state.kind === 'failed')!;
      expect(failed.state).not.toHaveProperty('failure.requestId');
    });

    it('answers undefined for a job that was never saved', async () => {
      const store = await openStore(backend.fresh());
      expect(await store.get('nope')).toBeUndefined();
      expect(await store.list()).toEqual([]);
    });

    it('overwrites a job saved again', async () => {
      const store = await openStore(backend.fresh());
      const first = job('a');
      const second = { ...first, updatedAtMs: first.updatedAtMs + 1, state: EVERY_STATE[4]! };
      await store.save(first);
      await store.save(second);
      expect(await store.get('a')).toEqual(second);
      expect(await store.list()).toEqual([second]);
    });

    it('keeps the last of several saves of one job made without waiting', async () => {
      const store = await openStore(backend.fresh());
      const saves: Promise<void>[] = [];
      for (let n = 0; n < 50; n += 1) {
        for (const state of EVERY_STATE.slice(0, 5)) saves.push(store.save(job(`job-${n}`, state)));
      }
      await Promise.all(saves);
      const states = (await store.list()).map((one) => one.state);
      expect(states).toHaveLength(50);
      for (const state of states) expect(state).toEqual(EVERY_STATE[4]);
    });

    it('lists every job and nothing from records or other prefixes', async () => {
      const place = backend.fresh();
      const store = await openStore(place);
      const other = await openStore({ url: place.url, keyPrefix: `${place.keyPrefix}-other` });
      for (const id of ['a', 'b', 'c']) await store.save(job(id));
      await store.setRecord('speed', { secPerVideoSec: 2.2, samples: [1, 2.5] });
      await store.setRecord('a', 'a record named like a job');
      await other.save(job('d'));
      expect((await store.list()).map((one) => one.id).sort()).toEqual(['a', 'b', 'c']);
      expect((await other.list()).map((one) => one.id)).toEqual(['d']);
    });

    it('keeps two prefixes apart on the same storage', async () => {
      const place = backend.fresh();
      const one = await openStore(place);
      const two = await openStore({ url: place.url, keyPrefix: `${place.keyPrefix}-two` });
      await one.save(job('same', EVERY_STATE[0]));
      await two.save(job('same', EVERY_STATE[4]));
      await one.setRecord('speed', 1);
      await two.setRecord('speed', 2);
      expect((await one.get('same'))?.state).toEqual(EVERY_STATE[0]);
      expect((await two.get('same'))?.state).toEqual(EVERY_STATE[4]);
      expect(await one.getRecord('speed')).toBe(1);
      expect(await two.getRecord('speed')).toBe(2);
      await one.delete('same');
      expect(await two.get('same')).toBeDefined();
    });

    it('deletes a job, and resolves when there is nothing to delete', async () => {
      const store = await openStore(backend.fresh());
      await store.save(job('a'));
      await store.save(job('b'));
      await store.delete('a');
      await store.delete('never-saved');
      expect(await store.get('a')).toBeUndefined();
      expect((await store.list()).map((one) => one.id)).toEqual(['b']);
    });

    it('round-trips records of any JSON shape', async () => {
      const store = await openStore(backend.fresh());
      const record = {
        outputUrl: 'https://x.test/o.mp4',
        taskId: 't',
        nested: [[1, 2], { deep: [null, 0.5] }],
      };
      await store.setRecord('result:abc:3:15', record);
      await store.setRecord('count', 0);
      await store.setRecord('label', ':colon first');
      expect(await store.getRecord('result:abc:3:15')).toEqual(record);
      expect(await store.getRecord('count')).toBe(0);
      expect(await store.getRecord('label')).toBe(':colon first');
      expect(await store.getRecord('absent')).toBeUndefined();
    });

    it('lists records by key prefix and deletes them', async () => {
      const store = await openStore(backend.fresh());
      await store.setRecord('chat.intake:a', { n: 1 });
      await store.setRecord('chat.intake:b', { n: 2 });
      await store.setRecord('chat.intakes:c', { n: 3 });
      await store.setRecord('gone:d', { n: 4 }, 1);
      await new Promise((done) => setTimeout(done, 20));
      const listed = await store.listRecords('chat.intake:');
      expect(listed.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
        { key: 'chat.intake:a', value: { n: 1 } },
        { key: 'chat.intake:b', value: { n: 2 } },
      ]);
      expect(await store.listRecords('gone:')).toEqual([]);
      await store.deleteRecord('chat.intake:a');
      await store.deleteRecord('never-written');
      expect((await store.listRecords('chat.intake:')).map((r) => r.key)).toEqual(['chat.intake:b']);
    });

    it('expires records after their TTL, and keeps those without one', async () => {
      const store = await openStore(backend.fresh());
      await store.setRecord('short', { v: 1 }, 300);
      await store.setRecord('kept', { v: 2 });
      await store.setRecord('kept-too', { v: 3 }, 60_000);
      expect(await store.getRecord('short')).toEqual({ v: 1 });
      await new Promise((done) => setTimeout(done, 450));
      expect(await store.getRecord('short')).toBeUndefined();
      expect(await store.getRecord('kept')).toEqual({ v: 2 });
      expect(await store.getRecord('kept-too')).toEqual({ v: 3 });
    });

    it('removes a record written with a TTL of 0 instead of keeping it forever', async () => {
      const store = await openStore(backend.fresh());
      await store.setRecord('cache', 'old');
      await store.setRecord('cache', 'new', 0);
      expect(await store.getRecord('cache')).toBeUndefined();
    });

    it('gives terminal jobs a 7-day TTL and live jobs none', async () => {
      const place = backend.fresh();
      const store = await openStore(place);
      for (const [index, state] of EVERY_STATE.entries()) await store.save(job(`job-${index}`, state));
      for (const [index, state] of EVERY_STATE.entries()) {
        const ttlMs = await backend.jobTtlMs(place, `job-${index}`);
        if (['delivered', 'failed', 'canceled', 'rejected'].includes(state.kind)) {
          expect(ttlMs, state.kind).toBeGreaterThan(WEEK_MS - 60_000);
          expect(ttlMs, state.kind).toBeLessThanOrEqual(WEEK_MS);
        } else {
          expect(ttlMs, state.kind).toBeUndefined();
        }
      }
    });

    it('forgets terminal jobs once their TTL has passed', async () => {
      const store = await openStore(backend.fresh(), { terminalJobTtlMs: 300 });
      await store.save(job('live', EVERY_STATE[4]));
      await store.save(job('done', EVERY_STATE[8]));
      expect((await store.list()).map((one) => one.id).sort()).toEqual(['done', 'live']);
      await new Promise((done) => setTimeout(done, 450));
      expect(await store.get('done')).toBeUndefined();
      expect((await store.list()).map((one) => one.id)).toEqual(['live']);
    });

    it('finishes the writes made before close, and rejects those after', async () => {
      const place = backend.fresh();
      const store = await openStore(place);
      const saves = [store.save(job('a', EVERY_STATE[0])), store.save(job('a', EVERY_STATE[4]))];
      await store.close();
      await Promise.all(saves);
      const reopened = await openStore(place);
      expect((await reopened.get('a'))?.state).toEqual(EVERY_STATE[4]);
    });

    it('rejects use after close', async () => {
      const store = await openStore(backend.fresh());
      await store.save(job('a'));
      await store.close();
      await expect(store.get('a')).rejects.toThrow('closed');
      await expect(store.save(job('b'))).rejects.toThrow('closed');
      await store.close();
    });

    it('saves and lists 10,000 jobs', async () => {
      const place = backend.fresh();
      const store = await openStore(place);
      const count = 10_000;
      const jobs = Array.from({ length: count }, (_, index) => job(`bulk-${index}`, EVERY_STATE[index % 9]!));
      let next = 0;
      const startedMs = performance.now();
      // Sixteen writers: a service saves from several jobs at once, never thousands.
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < count) await store.save(jobs[next++]!);
        }),
      );
      const savedMs = performance.now();
      const listed = await store.list();
      const listedMs = performance.now();
      console.info(
        `${name}: saved ${count} jobs in ${Math.round(savedMs - startedMs)} ms, listed in ${Math.round(listedMs - savedMs)} ms`,
      );
      expect(listed).toHaveLength(count);
      expect(new Set(listed.map((one) => one.id)).size).toBe(count);
      expect(await backend.countEntries(place)).toBe(count);
    });
  });
}

storeSuite('KeyvJobStore on SQLite', sqliteBackend);

describe.skipIf(!redisUp)('on real Redis', () => {
  storeSuite('KeyvJobStore on Redis', redisBackend);
});

describe('KeyvJobStore on SQLite, across restarts', () => {
  it('finds jobs and records again after closing and reopening the file', async () => {
    const place = sqliteBackend.fresh();
    const first = await createJobStore(place.url);
    const saved = job('kept', EVERY_STATE[4]);
    await first.save(saved);
    await first.setRecord('speed', { secPerVideoSec: 2.5 });
    await first.close();
    const second = await createJobStore(place.url);
    try {
      expect(await second.get('kept')).toEqual(saved);
      expect(await second.list()).toEqual([saved]);
      expect(await second.getRecord('speed')).toEqual({ secPerVideoSec: 2.5 });
    } finally {
      await second.close();
    }
  });

  it('keeps a save that resolved before the process was killed', async () => {
    const place = sqliteBackend.fresh();
    const createStore = fileURLToPath(
      new URL('../../../src/adapters/store/create-store.ts', import.meta.url),
    );
    // The child saves, says so, and then waits to be killed without closing anything.
    const script = `
      const { createJobStore } = await import(${JSON.stringify(createStore)});
      const store = await createJobStore(${JSON.stringify(place.url)});
      await store.save(${JSON.stringify(job('survivor', EVERY_STATE[4]))});
      process.stdout.write('saved\\n');
      setInterval(() => {}, 1_000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        if (data.toString().includes('saved')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited with ${code} before saving`)));
    });
    child.kill('SIGKILL');
    await new Promise((done) => child.once('close', done));
    const store = await createJobStore(place.url);
    try {
      expect((await store.get('survivor'))?.state).toEqual(EVERY_STATE[4]);
    } finally {
      await store.close();
    }
  });

  it('removes expired jobs and records when the file is opened', async () => {
    const place = sqliteBackend.fresh();
    const first = await createJobStore(place.url, { terminalJobTtlMs: 100 });
    await first.save(job('done', EVERY_STATE[8]));
    await first.save(job('live', EVERY_STATE[0]));
    await first.setRecord('cache', 'x', 100);
    await first.close();
    expect(await sqliteBackend.countEntries(place)).toBe(3);
    await new Promise((done) => setTimeout(done, 200));
    const second = await createJobStore(place.url);
    await second.close();
    expect(await sqliteBackend.countEntries(place)).toBe(1);
  });
});
