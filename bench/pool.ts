// `npm run bench:pool` (also part of `npm run bench`): a pool of DashScope keys against the fake,
// one account per key with DashScope's limits (one task at a time, one submit a second). The same
// burst of clips from four requesters goes through RestyleService with 1 key, with 4 keys, and with
// 4 keys over 2 instances sharing their lanes on Redis (BullMQ; skipped without a Redis at
// 127.0.0.1:6379): throughput, how busy each key was, the gaps between a key's tasks, and 429s.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { keyPool, poolUploadHost } from '../src/adapters/dashscope/key-pool.ts';
import { LaneWorkers } from '../src/adapters/redis/lane-workers.ts';
import { RedisLane } from '../src/adapters/redis/redis-lane.ts';
import { systemClock } from '../src/core/clock.ts';
import type { DeliverySink, Lane } from '../src/core/ports.ts';
import { InProcessLane } from '../src/core/queue/lane.ts';
import { RestyleService } from '../src/core/queue/service.ts';
import { SpeedModel } from '../src/core/speed.ts';
import { silentLogger } from '../src/logger.ts';
import { type FakeTask, startFakeDashScope } from '../test/fakes/dashscope/server.ts';
import { cleanupMedia, makeClip } from '../test/helpers/media.ts';
import { LOCAL_REDIS_URL, redisReachable } from '../test/helpers/redis.ts';
import { serviceDeps } from '../test/helpers/service.ts';

const quick = process.argv.includes('--quick');
const PENDING_MS = 200;
const TASK_MS = 3_000;
const REQUESTERS = 4;

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const noDelivery: DeliverySink = { deliver: async () => undefined };

const REDIS_URL = LOCAL_REDIS_URL;

/** One run: `keys` keys over `instances` instances (2: shared lanes on Redis), the clips sent at once. */
async function poolRun(
  keys: number,
  instances: 1 | 2,
  clips: readonly string[],
): Promise<Record<string, string | number>> {
  const apiKeys = Array.from({ length: keys }, (_, i) => `sk-bench-pool-${i}`);
  const fake = await startFakeDashScope({
    apiKeys,
    pendingMs: PENDING_MS,
    runningMs: TASK_MS - PENDING_MS,
    render: false,
  });
  const dir = await mkdtemp(join(tmpdir(), 'restyle-bench-pool-'));
  const prefix = `restyle-bench-${randomUUID().slice(0, 8)}`;
  const closers: (() => Promise<void>)[] = [];
  /** One instance: its own service and store; with 2 instances, shared lanes and its own workers. */
  const instance = async (): Promise<RestyleService> => {
    const pool = keyPool(apiKeys, { baseUrl: fake.baseUrl, logger: silentLogger });
    let lanes: Lane[];
    if (instances === 1) {
      lanes = pool.map(
        (key) =>
          new InProcessLane({
            id: key.laneId,
            backend: key.backend,
            clock: systemClock,
            logger: silentLogger,
            taskTimeoutMs: 120_000,
          }),
      );
    } else {
      const shared = pool.map(
        (key) =>
          new RedisLane({
            redisUrl: REDIS_URL,
            prefix,
            id: key.laneId,
            backend: key.backend,
            clock: systemClock,
            logger: silentLogger,
          }),
      );
      await Promise.all(shared.map((lane) => lane.ready()));
      const workers = new LaneWorkers({
        redisUrl: REDIS_URL,
        prefix,
        keys: pool.map((key) => ({ laneId: key.laneId, backend: key.backend })),
        logger: silentLogger,
        taskTimeoutMs: 120_000,
      });
      await workers.start();
      closers.push(async () => {
        await workers.stop();
        await Promise.all(shared.map((lane) => lane.close()));
      });
      lanes = shared;
    }
    const service = new RestyleService(
      serviceDeps({
        baseUrl: fake.baseUrl,
        dir,
        backend: pool[0]!.backend,
        host: poolUploadHost(pool),
        lanes,
        taskTimeoutMs: 120_000,
        sinks: new Map([['bench', noDelivery]]),
        speed: new SpeedModel({ secPerVideoSec: 0, overheadSec: TASK_MS / 1000 }),
        queueLimits: { maxWaitingPerUser: clips.length, maxWaitingTotal: clips.length },
      }),
    );
    closers.unshift(() => service.stop());
    await service.start();
    return service;
  };
  try {
    const services = [await instance(), ...(instances === 2 ? [await instance()] : [])];
    const startedAt = Date.now();
    // The burst arrives at once, as from several people: requests are checked side by side.
    const asked = await Promise.all(
      clips.map(async (clip, index) => {
        const service = services[index % services.length]!;
        const outcome = await service.request({
          requester: { key: `bench:user${index % REQUESTERS}` },
          delivery: { platform: 'bench' },
          inputPath: clip,
          styleId: index % 8,
          fps: 15 + Math.floor(index / 8),
          fit: false,
        });
        if (outcome.kind !== 'queued') throw new Error(`pool benchmark: clip ${index} was ${outcome.kind}`);
        return { service, id: outcome.job.id };
      }),
    );
    const jobs = await Promise.all(asked.map(({ service, id }) => service.settled(id)));
    const wallMs = Date.now() - startedAt;
    if (jobs.some((job) => job.state.kind !== 'delivered'))
      throw new Error('pool benchmark: a job did not deliver');
    const tasks = [...fake.tasks.values()];
    const byKey = new Map<string, FakeTask[]>();
    for (const task of tasks) byKey.set(task.apiKey, [...(byKey.get(task.apiKey) ?? []), task]);
    const busy: number[] = [];
    const gaps: number[] = [];
    for (const own of byKey.values()) {
      own.sort((a, b) => a.submittedAt - b.submittedAt);
      const span = own.at(-1)!.endedAt! - own[0]!.submittedAt;
      busy.push(own.reduce((sum, task) => sum + (task.endedAt! - task.submittedAt), 0) / span);
      for (let i = 1; i < own.length; i++) gaps.push(own[i]!.submittedAt - own[i - 1]!.endedAt!);
    }
    const perKey = apiKeys.map((key) => byKey.get(key)?.length ?? 0);
    const submits = fake.submits();
    const spanMs =
      Math.max(...tasks.map((task) => task.endedAt!)) - Math.min(...tasks.map((task) => task.submittedAt));
    return {
      keys,
      instances,
      clips: clips.length,
      wallS: round(wallMs / 1000),
      taskSpanS: round(spanMs / 1000),
      clipsPerMin: round((clips.length * 60_000) / spanMs),
      tasksPerKey: perKey.join('/'),
      keyBusyPct: `${round(100 * Math.min(...busy))}–${round(100 * Math.max(...busy))}`,
      meanGapMs: Math.round(gaps.reduce((sum, gap) => sum + gap, 0) / Math.max(1, gaps.length)),
      accepted: submits.filter((entry) => entry.status === 200).length,
      answered429: fake.requests.filter((entry) => entry.status === 429).length,
      accounts: new Set(submits.map((entry) => entry.account)).size,
    };
  } finally {
    for (const close of closers) await close();
    if (instances === 2) await removeKeys(`${prefix}:*`);
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Removes what a run left on Redis (its queues and lane keys). */
async function removeKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(pattern);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

/** 1 key, 4 keys, and 4 keys over 2 instances, on the same clips. */
export async function poolBenchmark(): Promise<void> {
  const count = quick ? 8 : 40;
  const clips = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      makeClip({
        container: 'mp4',
        durationSec: 0.5,
        width: 320 + 16 * (index % 8),
        height: 256,
        fps: 10 + (index % 5),
      }),
    ),
  );
  const rows = [await poolRun(1, 1, clips), await poolRun(4, 1, clips)];
  if (await redisReachable()) rows.push(await poolRun(4, 2, clips));
  else console.warn(`Redis at ${REDIS_URL} unreachable: skipping 4 keys over 2 instances`);
  console.log(
    `\nKey pool: ${count} clips from ${REQUESTERS} requesters, tasks of ${TASK_MS / 1000} s, one fake account per key (1 task, 1 submit/s each):`,
  );
  console.table(rows);
  const [one, ...more] = rows as Record<string, number>[];
  for (const row of more) {
    console.log(
      `${row.keys} keys over ${row.instances} instance(s) vs 1 key: ${round(row.clipsPerMin! / one!.clipsPerMin!, 2)}× the clips per minute.`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    await poolBenchmark();
  } finally {
    await cleanupMedia();
  }
}
