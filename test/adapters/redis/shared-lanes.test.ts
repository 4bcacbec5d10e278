import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPool, poolUploadHost } from '../../../src/adapters/dashscope/key-pool.ts';
import { CliDeliverySink } from '../../../src/adapters/files/cli-sink.ts';
import { RedisLane } from '../../../src/adapters/redis/redis-lane.ts';
import { createJobStore } from '../../../src/adapters/store/create-store.ts';
import { systemClock } from '../../../src/core/clock.ts';
import type { Requester } from '../../../src/core/job.ts';
import type { JobStore } from '../../../src/core/ports.ts';
import { RestyleService } from '../../../src/core/queue/service.ts';
import { silentLogger } from '../../../src/logger.ts';
import { accountOf, type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { makeClip, tempDir } from '../../helpers/media.ts';
import { LOCAL_REDIS_URL, redisReachable } from '../../helpers/redis.ts';
import { serviceDeps } from '../../helpers/service.ts';

const REDIS_URL = LOCAL_REDIS_URL;
/** Unique to this file's run: its queues and keys never meet another's. */
const PREFIX = `restyle-test-${process.pid}-${randomUUID().slice(0, 8)}`;
const KEYS = ['sk-shared-one', 'sk-shared-two', 'sk-shared-three'];
const BIN = fileURLToPath(new URL('../../../bin/restyle.js', import.meta.url));

const redisUp = await redisReachable();
if (!redisUp) console.warn(`Redis at ${REDIS_URL} unreachable: skipping the shared-lane tests`);

let fake: FakeDashScope;
let dir: string;
const clips: string[] = [];
const workers: ChildProcess[] = [];
/** What each worker wrote to its log (stderr). */
const logs: string[] = [];
const owners: { service: RestyleService; lanes: RedisLane[] }[] = [];

/** A `restyle run --role worker` process for the three keys, on this file's prefix. */
function startWorker(): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'run', '--role', 'worker'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DASHSCOPE_API_KEYS: KEYS.join(','),
      DASHSCOPE_BASE_URL: fake.baseUrl,
      REDIS_URL,
      REDIS_PREFIX: PREFIX,
      REDIS_LANE_LOCK_SEC: '2',
      LOG_LEVEL: 'info',
      RESTYLE_DATA_DIR: join(dir, 'worker-data'),
      STORE_URL: `sqlite://${join(dir, `worker-${workers.length}.sqlite`)}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const index = workers.length;
  logs[index] = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    logs[index] += chunk.toString();
  });
  child.on('exit', (code, signal) => {
    if (code && code !== 0 && signal !== 'SIGKILL')
      console.error(`lane worker exited ${code}: ${logs[index]}`);
  });
  workers.push(child);
  return child;
}

/** An instance of the chat side: its own store, the shared lanes, no workers of its own. */
async function startOwner(store?: JobStore): Promise<RestyleService> {
  const pool = keyPool(KEYS, { baseUrl: fake.baseUrl, logger: silentLogger });
  const lanes = pool.map(
    (key) =>
      new RedisLane({
        redisUrl: REDIS_URL,
        prefix: PREFIX,
        id: key.laneId,
        backend: key.backend,
        clock: systemClock,
        logger: silentLogger,
      }),
  );
  await Promise.all(lanes.map((lane) => lane.ready()));
  const service = new RestyleService(
    serviceDeps({
      baseUrl: fake.baseUrl,
      dir,
      backend: pool[0]!.backend,
      host: poolUploadHost(pool),
      lanes,
      taskTimeoutMs: 60_000,
      sinks: new Map([['test', new CliDeliverySink()]]),
      queueLimits: { maxWaitingPerUser: 10, maxWaitingTotal: 50 },
      ...(store ? { store } : {}),
    }),
  );
  await service.start();
  owners.push({ service, lanes });
  return service;
}

beforeAll(async () => {
  if (!redisUp) return;
  fake = await startFakeDashScope({ apiKeys: KEYS, pendingMs: 100, runningMs: 1_500, render: false });
  dir = await tempDir('restyle-shared-lanes-');
  for (let i = 0; i < 9; i++) {
    clips.push(await makeClip({ container: 'mp4', durationSec: 0.5, width: 320 + 16 * i, height: 256 }));
  }
});

afterAll(async () => {
  for (const child of workers) child.kill('SIGKILL');
  for (const owner of owners) {
    await owner.service.stop();
    await Promise.all(owner.lanes.map((lane) => lane.close()));
  }
  if (!redisUp) return;
  await fake.close();
  await rm(dir, { recursive: true, force: true });
  const redis = new Redis(REDIS_URL);
  const leftovers = await redis.keys(`${PREFIX}:*`);
  if (leftovers.length > 0) await redis.del(...leftovers);
  redis.disconnect();
});

describe.skipIf(!redisUp)('lanes shared by instances on Redis (BullMQ)', () => {
  it('runs a burst from two instances on three keys; its worker killed mid-task is replaced without a second submit', async () => {
    startWorker();
    const a = await startOwner();
    const b = await startOwner();
    const users: Requester[] = ['alice', 'bob', 'carol'].map((name) => ({ key: `test:${name}` }));
    const asked: { service: RestyleService; id: string; outPath: string }[] = [];
    for (const [i, clip] of clips.entries()) {
      const service = i % 2 === 0 ? a : b;
      const outPath = join(dir, 'out', `${i}.mp4`);
      const outcome = await service.request({
        requester: users[i % 3]!,
        delivery: { platform: 'test', outPath },
        inputPath: clip,
        styleId: i % 8,
        fps: 15,
        fit: false,
      });
      if (outcome.kind !== 'queued') throw new Error(`clip ${i}: ${outcome.kind}`);
      asked.push({ service, id: outcome.job.id, outPath });
    }
    // Once tasks run, the only worker dies without a word; a new one takes its runs over.
    const running = () => [...fake.tasks.values()].filter((task) => task.status === 'RUNNING').length;
    for (let i = 0; i < 400 && running() < 2; i++) await delay(25);
    const runningAtKill = running();
    workers[0]!.kill('SIGKILL');
    startWorker();

    const ended = await Promise.all(asked.map(({ service, id }) => service.settled(id)));
    expect(ended.map((job) => job.state.kind)).toEqual(Array(9).fill('delivered'));
    for (const { outPath } of asked) expect(existsSync(outPath)).toBe(true);

    expect(runningAtKill).toBeGreaterThanOrEqual(2);
    expect(logs[1]).toMatch(/taken-over run (follows|adopts)/);
    const accepted = fake.submits().filter((entry) => entry.status === 200);
    // One accepted submit per clip, whoever ran it, and never a 429: one task and one submit a
    // second per key held across both instances and both workers.
    expect(accepted).toHaveLength(9);
    expect(fake.requests.filter((entry) => entry.status === 429)).toHaveLength(0);
    const byKey = new Map<string, number[]>();
    for (const entry of accepted) byKey.set(entry.account!, [...(byKey.get(entry.account!) ?? []), entry.at]);
    expect(byKey.size).toBe(3);
    for (const times of byKey.values()) {
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1_000);
    }
    // Each delivered job names the task of its one submit, and each task's status was read with its own key.
    const taskIds = ended.map((job) => (job.state.kind === 'delivered' ? job.state.taskId : ''));
    expect(new Set(taskIds).size).toBe(9);
    for (const query of fake.requests.filter(
      (entry) => entry.method === 'GET' && entry.path.startsWith('/api/v1/tasks/'),
    )) {
      const task = fake.tasks.get(query.path.slice('/api/v1/tasks/'.length));
      if (task) expect(query.account).toBe(accountOf(task.apiKey));
    }
  }, 120_000);

  it('lets a restarted instance find the run its predecessor sent, and never submits it twice', async () => {
    startWorker();
    const store = await createJobStore(`sqlite://${join(dir, 'owner.sqlite')}`);
    try {
      const before = fake.submits().filter((entry) => entry.status === 200).length;
      const first = await startOwner(store);
      const outPath = join(dir, 'out', 'restarted.mp4');
      const outcome = await first.request({
        requester: { key: 'test:dave' },
        delivery: { platform: 'test', outPath },
        inputPath: clips[0]!,
        styleId: 7,
        fps: 25,
        fit: false,
      });
      if (outcome.kind !== 'queued') throw new Error(outcome.kind);
      const id = outcome.job.id;
      for (let i = 0; i < 400 && first.job(id)?.state.kind === 'waiting'; i++) await delay(5);
      // Gone the moment its order left: the store says "submitting", the run is on Redis.
      expect(first.job(id)?.state.kind).toMatch(/^submitt(ing|ed)$/);
      await first.stop();
      const second = await startOwner(store);
      const ended = await second.settled(id);
      expect(ended.state.kind).toBe('delivered');
      expect(existsSync(outPath)).toBe(true);
      expect(fake.submits().filter((entry) => entry.status === 200)).toHaveLength(before + 1);
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe('a worker whose Redis is down', () => {
  it('says which Redis it cannot reach, password hidden, and exits 1 within seconds', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const startedAt = Date.now();
    const child = spawn(process.execPath, [BIN, 'run', '--role', 'worker'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DASHSCOPE_API_KEY: 'sk-unused-key',
        REDIS_URL: `redis://:hunter2-secret@127.0.0.1:${port}`,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(output).toContain(`Cannot reach the Redis of the shared lanes at redis://`);
    expect(output).toContain(`127.0.0.1:${port}`);
    expect(output).not.toContain('hunter2-secret');
  }, 30_000);
});
