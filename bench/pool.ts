// `npm run bench:pool` (also part of `npm run bench`): a pool of DashScope keys against the fake,
// one account per key with DashScope's limits (one task at a time, one submit a second). The same
// burst of clips from four requesters goes through RestyleService with 1 key and with 4 keys:
// throughput, how busy each key was, the gaps between a key's tasks, and 429s (there must be none).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { keyPool, poolUploadHost } from '../src/adapters/dashscope/key-pool.ts';
import { systemClock } from '../src/core/clock.ts';
import type { DeliverySink } from '../src/core/ports.ts';
import { InProcessLane } from '../src/core/queue/lane.ts';
import { RestyleService } from '../src/core/queue/service.ts';
import { SpeedModel } from '../src/core/speed.ts';
import { silentLogger } from '../src/logger.ts';
import { type FakeTask, startFakeDashScope } from '../test/fakes/dashscope/server.ts';
import { cleanupMedia, makeClip } from '../test/helpers/media.ts';
import { serviceDeps } from '../test/helpers/service.ts';

const quick = process.argv.includes('--quick');
const PENDING_MS = 200;
const TASK_MS = 3_000;
const REQUESTERS = 4;

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const noDelivery: DeliverySink = { deliver: async () => undefined };

/** One run: `keys` keys, the clips sent at once; returns the table row. */
async function poolRun(keys: number, clips: readonly string[]): Promise<Record<string, string | number>> {
  const apiKeys = Array.from({ length: keys }, (_, i) => `sk-bench-pool-${i}`);
  const fake = await startFakeDashScope({
    apiKeys,
    pendingMs: PENDING_MS,
    runningMs: TASK_MS - PENDING_MS,
    render: false,
  });
  const dir = await mkdtemp(join(tmpdir(), 'restyle-bench-pool-'));
  const pool = keyPool(apiKeys, { baseUrl: fake.baseUrl, logger: silentLogger });
  const lanes = pool.map(
    (key) =>
      new InProcessLane({
        id: key.laneId,
        backend: key.backend,
        clock: systemClock,
        logger: silentLogger,
        taskTimeoutMs: 120_000,
      }),
  );
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
  try {
    await service.start();
    const startedAt = Date.now();
    const ids: string[] = [];
    for (const [index, clip] of clips.entries()) {
      const outcome = await service.request({
        requester: { key: `bench:user${index % REQUESTERS}` },
        delivery: { platform: 'bench' },
        inputPath: clip,
        styleId: index % 8,
        fps: 15,
        fit: false,
      });
      if (outcome.kind !== 'queued') throw new Error(`pool benchmark: clip ${index} was ${outcome.kind}`);
      ids.push(outcome.job.id);
    }
    const jobs = await Promise.all(ids.map((id) => service.settled(id)));
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
    return {
      keys,
      clips: clips.length,
      wallS: round(wallMs / 1000),
      clipsPerMin: round((clips.length * 60_000) / wallMs),
      tasksPerKey: perKey.join('/'),
      keyBusyPct: `${round(100 * Math.min(...busy))}–${round(100 * Math.max(...busy))}`,
      meanGapMs: Math.round(gaps.reduce((sum, gap) => sum + gap, 0) / Math.max(1, gaps.length)),
      accepted: submits.filter((entry) => entry.status === 200).length,
      answered429: fake.requests.filter((entry) => entry.status === 429).length,
      accounts: new Set(submits.map((entry) => entry.account)).size,
    };
  } finally {
    await service.stop();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** 1 key, then 4 keys, on the same clips. */
export async function poolBenchmark(): Promise<void> {
  const count = quick ? 8 : 24;
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
  const rows = [];
  for (const keys of [1, 4]) rows.push(await poolRun(keys, clips));
  console.log(
    `\nKey pool: ${count} clips from ${REQUESTERS} requesters, tasks of ${TASK_MS / 1000} s, one fake account per key (1 task, 1 submit/s each):`,
  );
  console.table(rows);
  const [one, four] = rows as [Record<string, number>, Record<string, number>];
  console.log(`4 keys vs 1: ${round(four.clipsPerMin! / one.clipsPerMin!, 2)}× the clips per minute.`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    await poolBenchmark();
  } finally {
    await cleanupMedia();
  }
}
