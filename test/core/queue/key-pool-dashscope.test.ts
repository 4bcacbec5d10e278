import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keyPool, poolUploadHost } from '../../../src/adapters/dashscope/key-pool.ts';
import { CliDeliverySink } from '../../../src/adapters/files/cli-sink.ts';
import { systemClock } from '../../../src/core/clock.ts';
import type { Requester } from '../../../src/core/job.ts';
import { InProcessLane } from '../../../src/core/queue/lane.ts';
import { RestyleService } from '../../../src/core/queue/service.ts';
import { silentLogger } from '../../../src/logger.ts';
import { accountOf, type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { makeClip, tempDir } from '../../helpers/media.ts';
import { serviceDeps } from '../../helpers/service.ts';

const KEYS = ['sk-pool-one', 'sk-pool-two', 'sk-pool-three'];
const users: Requester[] = ['alice', 'bob', 'carol'].map((name) => ({ key: `test:${name}` }));

let fake: FakeDashScope;
let dir: string;
let clip: string;
const services: RestyleService[] = [];

beforeAll(async () => {
  fake = await startFakeDashScope({ apiKeys: KEYS, pendingMs: 50, runningMs: 400, render: false });
  dir = await tempDir('restyle-pool-');
  clip = await makeClip({ container: 'mp4', durationSec: 0.5 });
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
  fake.options.apiKeys = [...KEYS];
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

/** A service over the three keys of the fake, each its own lane with DashScope's real spacing. */
async function poolService(setAsideMs = 60_000): Promise<RestyleService> {
  const pool = keyPool(KEYS, { baseUrl: fake.baseUrl, logger: silentLogger });
  const lanes = pool.map(
    (key) =>
      new InProcessLane({
        id: key.laneId,
        backend: key.backend,
        clock: systemClock,
        logger: silentLogger,
        taskTimeoutMs: 60_000,
        setAside: { firstMs: setAsideMs, longestMs: setAsideMs },
      }),
  );
  const service = new RestyleService(
    serviceDeps({
      baseUrl: fake.baseUrl,
      dir,
      backend: pool[0]!.backend,
      host: poolUploadHost(pool),
      lanes,
      sinks: new Map([['test', new CliDeliverySink()]]),
      queueLimits: { maxWaitingPerUser: 10, maxWaitingTotal: 50 },
    }),
  );
  services.push(service);
  await service.start();
  return service;
}

let requests = 0;

/** Restyles the clip in a style and frame rate not asked before, so no result comes from the cache. */
async function restyle(service: RestyleService, requester: Requester): Promise<string> {
  const n = requests++;
  const outcome = await service.request({
    requester,
    delivery: { platform: 'test', outPath: join(dir, 'out', `${randomUUID()}.mp4`) },
    inputPath: clip,
    styleId: n % 8,
    fps: 15 + (Math.floor(n / 8) % 11),
    fit: false,
  });
  if (outcome.kind !== 'queued') throw new Error(`expected queued, got ${outcome.kind}`);
  return outcome.job.id;
}

describe('a pool of three DashScope keys against the fake', () => {
  it('spreads a burst over every key within each key’s limits, and moves off a key that turns invalid', async () => {
    const service = await poolService();
    const first = await Promise.all(users.map((user) => restyle(service, user)));
    expect((await Promise.all(first.map((id) => service.settled(id)))).map((job) => job.state.kind)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
    const accepted = () => fake.submits().filter((entry) => entry.status === 200);
    expect(new Set(accepted().map((entry) => entry.account))).toEqual(new Set(KEYS.map(accountOf)));

    // The second key is revoked mid-run: the next burst finishes on the two others.
    fake.options.apiKeys = KEYS.filter((key) => key !== KEYS[1]);
    const burst: string[] = [];
    for (let i = 0; i < 6; i++) burst.push(await restyle(service, users[i % 3]!));
    const ended = await Promise.all(burst.map((id) => service.settled(id)));
    expect(ended.map((job) => job.state.kind)).toEqual(Array(6).fill('delivered'));

    const byKey = new Map<string, number[]>();
    for (const entry of accepted()) {
      const key = entry.account!;
      byKey.set(key, [...(byKey.get(key) ?? []), entry.at]);
    }
    expect(byKey.get(accountOf(KEYS[1]!))).toHaveLength(1);
    expect(accepted()).toHaveLength(9);
    // One task at a time and one submit a second per key: never a 429 from the fake.
    expect(fake.submits().filter((entry) => entry.status === 429)).toHaveLength(0);
    for (const times of byKey.values()) {
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1_000);
    }
    // Every task was followed with the key that submitted it.
    const statusQueries = fake.requests.filter(
      (entry) => entry.method === 'GET' && entry.path.startsWith('/api/v1/tasks/'),
    );
    expect(statusQueries.length).toBeGreaterThan(0);
    for (const query of statusQueries) {
      const taskId = query.path.slice('/api/v1/tasks/'.length);
      expect(query.account).toBe(accountOf(fake.tasks.get(taskId)!.apiKey));
    }
  }, 60_000);

  it('keeps a running task with its key while that key is refused, and finishes it once the key is back', async () => {
    const service = await poolService(300);
    const before = fake.submits().filter((entry) => entry.status === 200).length;
    fake.options.faults.stuck = true;
    const id = await restyle(service, users[0]!);
    let state = service.job(id)?.state;
    for (let i = 0; i < 500 && state?.kind !== 'submitted'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      state = service.job(id)?.state;
    }
    if (state?.kind !== 'submitted') throw new Error('the job was never submitted');
    const owner = fake.tasks.get(state.taskId)!.apiKey;
    fake.options.apiKeys = KEYS.filter((key) => key !== owner);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(service.job(id)!.state).toMatchObject({ kind: 'submitted', taskId: state.taskId });
    fake.options.apiKeys = [...KEYS];
    fake.options.faults.stuck = false;
    const ended = await service.settled(id);
    expect(ended.state).toMatchObject({ kind: 'delivered', taskId: state.taskId });
    // One submit for the clip, on the key that still follows it.
    expect(fake.submits().filter((entry) => entry.status === 200)).toHaveLength(before + 1);
  }, 30_000);
});
