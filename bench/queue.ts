// Figures of the durable fair queue (RestyleService), called at the end of `npm run bench`:
//  a. DashScope utilisation: real adapters against the fake on loopback, 20 clips from several
//     requesters, 3 s tasks; busy share of the lane, hand-over gaps, 429s, with the speed model
//     seeded right and learning from the default estimate;
//  b. scale: 10,000 waiting jobs from 1,000 users in a FairQueue and in the service (fake probe,
//     hash and backend): memory, enqueue and position costs, notifications per head move.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DashScopeBackend } from '../src/adapters/dashscope/backend.ts';
import { DashScopeTempUpload, TempUploadHost } from '../src/adapters/dashscope/upload.ts';
import { createJobStore } from '../src/adapters/store/create-store.ts';
import { systemClock } from '../src/core/clock.ts';
import { AbortedError } from '../src/core/errors.ts';
import { FairQueue } from '../src/core/fairness.ts';
import type { Requester } from '../src/core/job.ts';
import { DEFAULT_LIMITS, type VideoFacts } from '../src/core/limits.ts';
import {
  DEFAULT_PROCESSING_SPEED,
  type PollScheduleOptions,
  type ProcessingSpeed,
} from '../src/core/poll.ts';
import type {
  DeliverySink,
  JobStore,
  RestyleBackend,
  ServiceFiles,
  TaskSnapshot,
} from '../src/core/ports.ts';
import { RestyleService, type ServiceDeps } from '../src/core/queue/service.ts';
import { SpeedModel } from '../src/core/speed.ts';
import { silentLogger } from '../src/logger.ts';
import { startFakeDashScope } from '../test/fakes/dashscope/server.ts';
import { MemoryJobStore } from '../test/fakes/memory-store.ts';
import { makeClip } from '../test/helpers/media.ts';
import { serviceDeps } from '../test/helpers/service.ts';

const quick = process.argv.includes('--quick');
const execFileAsync = promisify(execFile);

/** A full collection, so memory figures are not blurred by garbage not yet collected. */
const gc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const mean = (values: readonly number[]) =>
  values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

/** Resolves once `condition` holds (checked every 5 ms), or rejects after `timeoutMs`. */
async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`queue benchmark: timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Memory in use after a full collection. */
function memory(): { rss: number; heap: number } {
  gc();
  gc();
  const usage = process.memoryUsage();
  return { rss: usage.rss, heap: usage.heapUsed };
}

const MB = 1e6;

// ---------------------------------------------------------------------------------------------
// a. Utilisation
// ---------------------------------------------------------------------------------------------

/** Fake timings: PENDING 200 ms, then RUNNING so a task takes 3 s from submit to its end. */
const PENDING_MS = 200;
const TASK_MS = 3_000;
/** An estimate that matches those tasks exactly, whatever the clip's length. */
const RIGHT_SPEED: ProcessingSpeed = { secPerVideoSec: 0, overheadSec: TASK_MS / 1000 };

const noDelivery: DeliverySink = { deliver: async () => undefined };

interface UtilisationRun {
  readonly label: string;
  readonly speed: ProcessingSpeed;
  readonly store: 'sqlite' | 'memory';
}

interface UtilisationResult {
  readonly row: Record<string, string | number>;
  /** Per task in submit order: estimate used, actual time, gap to the next submit. */
  readonly tasks: { estimateMs: number; taskMs: number; gapAfterMs: number | undefined }[];
}

async function utilisation(run: UtilisationRun, clips: readonly string[]): Promise<UtilisationResult> {
  const fake = await startFakeDashScope({
    pendingMs: PENDING_MS,
    runningMs: TASK_MS - PENDING_MS,
    render: false,
  });
  const dir = await mkdtemp(join(tmpdir(), 'restyle-bench-queue-'));
  const store: JobStore =
    run.store === 'sqlite'
      ? await createJobStore(`sqlite://${join(dir, 'jobs.sqlite')}`)
      : new MemoryJobStore();
  const backend = new DashScopeBackend({ apiKey: 'sk-test-key', baseUrl: fake.baseUrl });
  const speed = new SpeedModel(run.speed);
  // The estimate each task was followed with: the model as it stood when the task was submitted.
  const estimates: number[] = [speed.expectedMs(0.5)];
  const observe = speed.observe.bind(speed);
  speed.observe = (taskMs, videoSec) => {
    observe(taskMs, videoSec);
    estimates.push(speed.expectedMs(videoSec));
  };
  const service = new RestyleService(
    serviceDeps({
      baseUrl: fake.baseUrl,
      dir,
      backend,
      host: TempUploadHost.single(new DashScopeTempUpload(backend.client)),
      taskTimeoutMs: 120_000,
      store,
      sinks: new Map([['bench', noDelivery]]),
      speed,
      queueLimits: { maxWaitingPerUser: clips.length, maxWaitingTotal: clips.length },
    }),
  );

  try {
    await service.start();
    const requesters = 4;
    const ids: string[] = [];
    for (const [index, clip] of clips.entries()) {
      const outcome = await service.request({
        requester: { key: `bench:user${index % requesters}` },
        delivery: { platform: 'bench' },
        inputPath: clip,
        styleId: index % 8,
        fps: 15,
        fit: false,
      });
      if (outcome.kind !== 'queued') throw new Error(`queue benchmark: clip ${clip} was ${outcome.kind}`);
      ids.push(outcome.job.id);
    }
    const jobs = await Promise.all(ids.map((id) => service.settled(id)));
    const failed = jobs.filter((job) => job.state.kind !== 'delivered');
    if (failed.length > 0) throw new Error(`queue benchmark: ${failed.length} jobs did not deliver`);
    const tasks = [...fake.tasks.values()].sort((a, b) => a.submittedAt - b.submittedAt);
    const busyMs = tasks.reduce((sum, task) => sum + (task.endedAt! - task.submittedAt), 0);
    const spanMs = tasks.at(-1)!.endedAt! - tasks[0]!.submittedAt;
    const gaps = tasks.slice(1).map((task, index) => task.submittedAt - tasks[index]!.endedAt!);
    const statusQueries = tasks.map((task) => task.statusQueries);
    return {
      row: {
        run: run.label,
        store: run.store,
        tasks: tasks.length,
        utilisationPct: round((100 * busyMs) / spanMs),
        meanTaskMs: Math.round(busyMs / tasks.length),
        meanGapMs: Math.round(mean(gaps)),
        maxGapMs: Math.max(...gaps),
        gapsAfterTask5Ms: Math.round(mean(gaps.slice(4))),
        throttled429: fake.requests.filter((entry) => entry.status === 429).length,
        statusQueriesPerTask: round(mean(statusQueries)),
        wallS: round((Date.now() - tasks[0]!.submittedAt) / 1000),
      },
      tasks: tasks.map((task, index) => ({
        estimateMs: estimates[index] ?? Number.NaN,
        taskMs: task.endedAt! - task.submittedAt,
        gapAfterMs: gaps[index],
      })),
    };
  } finally {
    await service.stop();
    await store.close();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function utilisationBenchmark(): Promise<void> {
  const count = quick ? 6 : 20;
  // Distinct bytes (so no result is reused), 0.5 s each: sizes and frame rates differ.
  const sizes = [
    [320, 256],
    [384, 288],
    [448, 320],
    [512, 384],
  ] as const;
  const clips = await Promise.all(
    Array.from({ length: count }, (_, index) => {
      const [width, height] = sizes[index % sizes.length]!;
      return makeClip({ container: 'mp4', durationSec: 0.5, width, height, fps: 10 + Math.floor(index / 4) });
    }),
  );
  const runs: UtilisationRun[] = [
    { label: 'estimate seeded right (3 s)', speed: RIGHT_SPEED, store: 'sqlite' },
    {
      label: `default estimate (${DEFAULT_PROCESSING_SPEED.secPerVideoSec} s/s + ${DEFAULT_PROCESSING_SPEED.overheadSec} s), learning`,
      speed: DEFAULT_PROCESSING_SPEED,
      store: 'sqlite',
    },
    ...(quick
      ? []
      : [{ label: 'estimate seeded right (3 s)', speed: RIGHT_SPEED, store: 'memory' } as const]),
  ];
  const results: UtilisationResult[] = [];
  for (const run of runs) results.push(await utilisation(run, clips));
  console.log(
    `\nQueue a. DashScope utilisation: ${count} clips from 4 requesters, tasks of ${TASK_MS / 1000} s (PENDING ${PENDING_MS} ms), real adapters against the fake:`,
  );
  console.table(results.map((result) => result.row));
  const learning = results[1]!;
  console.log('How the speed model learns from the default estimate (first tasks of the learning run):');
  console.table(
    learning.tasks.slice(0, quick ? count : 8).map((task, index) => ({
      task: index + 1,
      estimateMs: task.estimateMs,
      actualMs: task.taskMs,
      gapToNextSubmitMs: task.gapAfterMs ?? '',
    })),
  );
}

// ---------------------------------------------------------------------------------------------
// b. Scale
// ---------------------------------------------------------------------------------------------

const USERS = 1_000;
const PER_USER = 10;
const WAITING = USERS * PER_USER;

/** The requester of the n-th request: users arrive interleaved, each with 10 clips. */
const userOf = (n: number) => `bench:user${n % USERS}`;

/** µs per `lookup` of random picks of `ids`: the median of three timed passes after two warm-ups. */
function lookupUs(ids: readonly string[], lookup: (id: string) => unknown): number {
  const count = quick ? 2_000 : 10_000;
  const picks = Array.from({ length: count }, () => ids[Math.floor(Math.random() * ids.length)]!);
  const passes: number[] = [];
  for (let pass = 0; pass < 5; pass++) {
    const startedAt = performance.now();
    for (const id of picks) lookup(id);
    if (pass >= 2) passes.push(((performance.now() - startedAt) * 1000) / count);
  }
  return passes.sort((a, b) => a - b)[1]!;
}

type Row = Record<string, string | number>;

/** A FairQueue alone: 10,000 items from 1,000 users, or from one operator (no per-user cap). */
function fairQueueRow(shape: 'users' | 'operator'): Row {
  const key = shape === 'users' ? userOf : () => 'bench:operator';
  const ids = Array.from({ length: WAITING }, (_, n) => `job-${n}`);
  const before = memory();
  const queue = new FairQueue<{ id: string; requesterKey: string }>();
  let startedAt = performance.now();
  for (const [n, id] of ids.entries()) queue.push({ id, requesterKey: key(n) });
  const pushUs = ((performance.now() - startedAt) * 1000) / WAITING;
  const after = memory();
  const positionUs = lookupUs(ids, (id) => queue.position(id));
  startedAt = performance.now();
  while (queue.shift());
  const shiftUs = ((performance.now() - startedAt) * 1000) / WAITING;
  return {
    what: `FairQueue, ${shape === 'users' ? `${USERS} users × ${PER_USER}` : `1 operator × ${WAITING}`}`,
    jobs: WAITING,
    rssGrowthMB: round((after.rss - before.rss) / MB),
    heapGrowthMB: round((after.heap - before.heap) / MB),
    enqueueUs: round(pushUs, 2),
    positionUs: round(positionUs, 2),
    shiftUs: round(shiftUs, 2),
  };
}

/** Facts of a clip that passes every limit: the probe answers at once, without ffprobe. */
const FACTS: VideoFacts = {
  container: 'mp4',
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  sizeBytes: 200_000,
  durationSec: 2,
  pictureSec: 2,
  codec: 'h264',
  width: 640,
  height: 360,
  rotationDeg: 0,
  displayWidth: 640,
  displayHeight: 360,
  frameRate: 25,
  hasAudio: false,
};

/**
 * A backend whose tasks stay PENDING until released: the lane is held by one job and every
 * other stays waiting. `release()` fails the held task, so the lane moves on to the next job.
 */
class HeldBackend implements RestyleBackend {
  submits = 0;
  private readonly held = new Set<() => void>();

  async submit(): Promise<TaskSnapshot> {
    this.submits += 1;
    return { taskId: `task-${this.submits}`, status: 'pending', requestId: undefined };
  }

  check(taskId: string, signal?: AbortSignal): Promise<TaskSnapshot> {
    return new Promise((resolve, reject) => {
      const release = () => {
        this.held.delete(release);
        resolve({
          taskId,
          status: 'failed',
          requestId: undefined,
          failure: { code: 'Bench', message: 'released by the benchmark' },
        });
      };
      this.held.add(release);
      signal?.addEventListener(
        'abort',
        () => {
          this.held.delete(release);
          reject(new AbortedError());
        },
        { once: true },
      );
    });
  }

  async cancel(): Promise<void> {}

  async tasksCreatedSince(): Promise<readonly TaskSnapshot[]> {
    return [];
  }

  /** True while a status query waits for release. */
  get holding(): boolean {
    return this.held.size > 0;
  }

  release(): void {
    for (const release of [...this.held]) release();
  }
}

/** Status queries at once (1 ms), so a held task's query is waiting as soon as it is submitted. */
const INSTANT_POLL: PollScheduleOptions = {
  denseIntervalMs: 1,
  denseFraction: 0,
  minDenseIntervalMs: 1,
  maxIntervalMs: 1,
  minSparseIntervalMs: 1,
  windowStartFraction: 0,
  windowEndFraction: 1,
  overrunGrowthMsPerSec: 0,
};

const benchFiles: ServiceFiles = {
  // The input path is unique per request: it stands for the clip's hash.
  hash: async (path) => path,
  resultPath: (jobId) => `/bench/results/${jobId}.mp4`,
  remove: async () => undefined,
  exists: async () => true,
};

function scaleService(store: JobStore, backend: HeldBackend): RestyleService {
  const deps: ServiceDeps = {
    probe: { probe: async () => ({ kind: 'video', facts: FACTS }) },
    transcoder: { fit: async () => undefined },
    host: {
      perLane: false,
      host: async (path) => ({ url: `https://bench.invalid${path}`, ossResolve: false }),
    },
    backend,
    downloader: { download: async () => ({ bytes: 0 }) },
    clock: systemClock,
    logger: silentLogger,
    poll: INSTANT_POLL,
    limits: DEFAULT_LIMITS,
    taskTimeoutMs: 3_600_000,
    maxResultBytes: 100_000_000,
    tempPath: (suffix) => `/bench/tmp/${randomUUID()}${suffix}`,
    store,
    files: benchFiles,
    sinks: new Map([['bench', noDelivery]]),
    speed: new SpeedModel(RIGHT_SPEED),
    queueLimits: { maxWaitingPerUser: PER_USER, maxWaitingTotal: WAITING },
    newId: () => randomUUID(),
  };
  return new RestyleService(deps);
}

const operator: Requester = { key: 'bench:admin', operator: true };

interface ServiceScale {
  readonly row: Row;
  readonly headMoves?: Row[];
}

/**
 * Queues `count` jobs behind a held head through `service.request`, then measures position
 * lookups and, when asked, what one head move costs in notifications and observer calls.
 */
async function serviceScale(
  storeKind: 'memory' | 'sqlite',
  count: number,
  headMoves: boolean,
): Promise<ServiceScale> {
  const dir = await mkdtemp(join(tmpdir(), 'restyle-bench-scale-'));
  const before = memory();
  const store: JobStore =
    storeKind === 'sqlite'
      ? await createJobStore(`sqlite://${join(dir, 'jobs.sqlite')}`)
      : new MemoryJobStore();
  const backend = new HeldBackend();
  const service = scaleService(store, backend);
  const calls = new Map<string, number>();
  const observer = (jobId: () => string) => () => {
    const id = jobId();
    calls.set(id, (calls.get(id) ?? 0) + 1);
  };
  const request = async (n: number, key: string) => {
    let id = '';
    const outcome = await service.request(
      {
        requester: { key },
        delivery: { platform: 'bench' },
        inputPath: `/bench/inputs/${n}.mp4`,
        styleId: n % 8,
        fps: 15,
        fit: false,
      },
      observer(() => id),
    );
    if (outcome.kind !== 'queued') throw new Error(`queue benchmark: request ${n} was ${outcome.kind}`);
    id = outcome.job.id;
    return id;
  };
  try {
    await service.start();
    // The head: submitted, its task held, so every later job waits.
    const head = await request(-1, 'bench:head');
    await until('the head to hold the lane', () => backend.holding);
    const startedAt = performance.now();
    const ids: string[] = [];
    for (let n = 0; n < count; n++) ids.push(await request(n, userOf(n)));
    const enqueueUs = ((performance.now() - startedAt) * 1000) / count;
    await sleep(20);
    const after = memory();
    if (service.waitingCount !== count) throw new Error(`queue benchmark: ${service.waitingCount} waiting`);
    const statusUs = lookupUs(ids, (id) => service.status(id));
    const row = {
      what: `RestyleService.request, ${storeKind === 'sqlite' ? 'SQLite' : 'MemoryJobStore'}`,
      jobs: count,
      rssGrowthMB: round((after.rss - before.rss) / MB),
      heapGrowthMB: round((after.heap - before.heap) / MB),
      enqueueUs: round(enqueueUs),
      positionUs: round(statusUs, 2),
    };
    if (!headMoves) return { row };

    const moves: Record<string, string | number>[] = [];
    let notifications = 0;
    const unsubscribe = service.onChange(() => {
      notifications += 1;
    });
    const at = (position: number) => ids.find((id) => service.status(id)?.position === position)!;
    const measure = async (move: string, act: (first: string) => Promise<string[]>) => {
      await sleep(20);
      const first = at(1);
      const lastBefore = service.waitingCount;
      const last = at(lastBefore);
      notifications = 0;
      calls.clear();
      const changedJobs = await act(first);
      await sleep(20);
      const others = [...calls].filter(([id]) => !changedJobs.includes(id));
      moves.push({
        headMove: move,
        onChangeNotifications: notifications,
        observerCallsOfChangedJobs: changedJobs.reduce((sum, id) => sum + (calls.get(id) ?? 0), 0),
        observerCallsOfOtherJobs: others.reduce((sum, [, n]) => sum + n, 0),
        lastPositionBeforeAfter: `${lastBefore} → ${service.status(last)!.position}`,
      });
    };
    // The head's requester cancels it: the job leaves, everyone behind moves up one place.
    await measure('cancel the first waiting job', async (first) => {
      await service.cancel(first, operator);
      return [first];
    });
    // The held task ends: the lane takes the next waiting job (at most one start per second).
    let running = head;
    for (let move = 0; move < (quick ? 2 : 4); move++) {
      await measure('held task ends, lane takes the next', async (first) => {
        const ended = running;
        backend.release();
        await until('the next job to be submitted', () => service.job(first)?.state.kind === 'submitted');
        await until('the next task to be held', () => backend.holding);
        running = first;
        return [ended, first];
      });
    }
    unsubscribe();
    return { row, headMoves: moves };
  } finally {
    await service.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** What a scale child measures; each runs in a fresh process so its memory figures are its own. */
type ScaleCase = 'queue:users' | 'queue:operator' | 'service:memory' | 'service:sqlite';
const SCALE_CHILD = '--queue-scale-child';

async function measureScale(which: ScaleCase): Promise<ServiceScale> {
  switch (which) {
    case 'queue:users':
      return { row: fairQueueRow('users') };
    case 'queue:operator':
      return { row: fairQueueRow('operator') };
    case 'service:memory':
      return serviceScale('memory', WAITING, true);
    case 'service:sqlite':
      // Each SQLite save is a durable commit (WAL, synchronous=FULL): fewer in the quick run.
      return serviceScale('sqlite', quick ? 2_000 : WAITING, false);
  }
}

async function inChild(which: ScaleCase): Promise<ServiceScale> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), SCALE_CHILD, which, ...(quick ? ['--quick'] : [])],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as ServiceScale;
}

async function scaleBenchmark(): Promise<void> {
  const cases: ScaleCase[] = ['queue:users', 'queue:operator', 'service:memory', 'service:sqlite'];
  const results: ServiceScale[] = [];
  for (const which of cases) results.push(await inChild(which));
  console.log(
    `\nQueue b. Scale: ${WAITING.toLocaleString('en')} waiting jobs from ${USERS.toLocaleString('en')} users (fake probe, hash and backend; each row in a fresh process):`,
  );
  console.table(results.map((result) => result.row));
  console.log('One head move, 10,000 waiting, every job followed by an observer (MemoryJobStore):');
  console.table(results.find((result) => result.headMoves)?.headMoves);
}

/** Both queue benchmarks; `--quick` runs fewer clips, lookups and SQLite saves. */
export async function queueBenchmark(): Promise<void> {
  await utilisationBenchmark();
  await scaleBenchmark();
}

// A scale child (see inChild): measures one case and prints it as JSON.
if (process.argv[2] === SCALE_CHILD) {
  const result = await measureScale(process.argv[3] as ScaleCase);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}
