// `npm run bench`: figures of the pipeline against the fake DashScope on loopback.
//  1. completion detection: latency between a task's end and the client noticing, and status
//     queries per task, for 10 s and 60 s tasks, with an exact, a low, a high and no estimate;
//  2. peak RSS of a process fetching a 100 MB result;
//  3. the queue (bench/queue.ts): DashScope utilisation through RestyleService, and scale; the
//     key pool (bench/pool.ts): 1 key vs 4 keys on the same burst;
//  4. the Telegram bot (bench/telegram.ts): reply and tap latency, status edits, flood control;
//  5. the Discord bot (bench/discord.ts): acknowledgement latency, status edits, delivery;
//  6. the check step (bench/probe.ts): ffprobe time per clip, and what the packet scan adds.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DashScopeBackend } from '../src/adapters/dashscope/backend.ts';
import { DashScopeTempUpload } from '../src/adapters/dashscope/upload.ts';
import { systemClock } from '../src/core/clock.ts';
import { DEFAULT_POLL_SCHEDULE, nextPollDelayMs } from '../src/core/poll.ts';
import { awaitTask } from '../src/core/task.ts';
import { silentLogger } from '../src/logger.ts';
import { startFakeDashScope } from '../test/fakes/dashscope/server.ts';
import { cleanupMedia, makeClip } from '../test/helpers/media.ts';
import { discordBenchmark } from './discord.ts';
import { poolBenchmark } from './pool.ts';
import { probeBenchmark } from './probe.ts';
import { queueBenchmark } from './queue.ts';
import { telegramBenchmark } from './telegram.ts';

const execFileAsync = promisify(execFile);
const quick = process.argv.includes('--quick');

interface Scenario {
  readonly name: string;
  /** Fraction of the real task time the client expects; undefined: no estimate. */
  readonly estimate: number | undefined;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'estimate exact', estimate: 1 },
  { name: 'estimate 30 % low', estimate: 0.7 },
  { name: 'estimate 30 % high', estimate: 1.3 },
  { name: 'no estimate', estimate: undefined },
];

/** The official SDKs' fixed schedule (1, 1, 2, 2, 2, 4, 4, 4, 5, 5, … s). */
function sdkDelayMs(queriesSoFar: number): number {
  return ([1, 1, 2, 2, 2, 4, 4, 4][queriesSoFar] ?? 5) * 1000;
}

/**
 * Simulates polling a task that ends at `taskMs`, averaged over end times spread across 5 s so a
 * schedule is not flattered by a lucky alignment. Returns mean latency and queries.
 */
function simulate(taskMs: number, delayMs: (elapsedMs: number, queries: number) => number) {
  let latency = 0;
  let queries = 0;
  const offsets = 50;
  for (let step = 0; step < offsets; step++) {
    const endMs = taskMs + (step * 5_000) / offsets;
    let now = 0;
    let count = 0;
    while (now < endMs) {
      now += delayMs(now, count);
      count += 1;
    }
    latency += now - endMs;
    queries += count;
  }
  return {
    meanLatencyMs: Math.round(latency / offsets),
    queriesPerTask: Math.round((queries / offsets) * 10) / 10,
  };
}

async function detection(taskMs: number, repeats: number) {
  const pendingMs = 200;
  const keys = SCENARIOS.map((_, index) => `sk-bench-${index}`);
  const fake = await startFakeDashScope({
    apiKeys: keys,
    pendingMs,
    runningMs: taskMs - pendingMs,
    render: false,
  });
  const clip = await makeClip({ container: 'mp4', durationSec: 1 });
  try {
    const rows = await Promise.all(
      SCENARIOS.map(async (scenario, index) => {
        const backend = new DashScopeBackend({ apiKey: keys[index]!, baseUrl: fake.baseUrl });
        const media = await new DashScopeTempUpload(backend.client).upload(clip);
        const latencies: number[] = [];
        const queries: number[] = [];
        for (let run = 0; run < repeats; run++) {
          const task = await backend.submit({ media, styleId: 0, fps: 15 });
          const submittedAtMs = Date.now();
          await awaitTask(
            { backend, clock: systemClock, logger: silentLogger, taskTimeoutMs: 10 * taskMs },
            task.taskId,
            {
              submittedAtMs,
              expectedMs: scenario.estimate === undefined ? undefined : taskMs * scenario.estimate,
            },
          );
          const seenAtMs = Date.now();
          const record = fake.tasks.get(task.taskId)!;
          latencies.push(seenAtMs - record.endedAt!);
          queries.push(record.statusQueries);
        }
        const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
        return {
          scenario: scenario.name,
          meanLatencyMs: Math.round(mean(latencies)),
          maxLatencyMs: Math.max(...latencies),
          queriesPerTask: Math.round(mean(queries) * 10) / 10,
          queriesPerSec: Math.round((mean(queries) / (taskMs / 1000)) * 100) / 100,
        };
      }),
    );
    return rows;
  } finally {
    await fake.close();
  }
}

async function peakRss(bytes: number) {
  const fake = await startFakeDashScope({
    pendingMs: 50,
    runningMs: 100,
    render: false,
    syntheticOutputBytes: bytes,
  });
  try {
    const backend = new DashScopeBackend({ apiKey: 'sk-test-key', baseUrl: fake.baseUrl });
    const clip = await makeClip({ container: 'mp4', durationSec: 1 });
    const media = await new DashScopeTempUpload(backend.client).upload(clip);
    const task = await backend.submit({ media, styleId: 0, fps: 15 });
    const done = await awaitTask(
      { backend, clock: systemClock, logger: silentLogger, taskTimeoutMs: 60_000 },
      task.taskId,
      { submittedAtMs: Date.now(), expectedMs: 150 },
    );
    const child = async (...args: string[]) => {
      const { stdout } = await execFileAsync(process.execPath, [
        '--import',
        'tsx',
        'bench/fetch-child.ts',
        ...args,
      ]);
      return JSON.parse(stdout) as { bytes: number; elapsedMs: number; maxRssBytes: number };
    };
    const baseline = await child('', '--baseline');
    const fetched = await child(done.outputUrl);
    return {
      resultMB: Math.round(fetched.bytes / 1e6),
      baselinePeakRssMB: Math.round(baseline.maxRssBytes / 1e6),
      fetchPeakRssMB: Math.round(fetched.maxRssBytes / 1e6),
      addedByFetchMB: Math.round((fetched.maxRssBytes - baseline.maxRssBytes) / 1e6),
      throughputMBps: Math.round(fetched.bytes / 1e6 / (fetched.elapsedMs / 1000)),
    };
  } finally {
    await fake.close();
  }
}

console.log(
  `Poll schedule: dense ${DEFAULT_POLL_SCHEDULE.denseIntervalMs} ms around the expected end, at most ${DEFAULT_POLL_SCHEDULE.maxIntervalMs} ms apart.\n`,
);
for (const taskSec of [10, 60]) {
  const taskMs = taskSec * 1000;
  console.log(`Simulated, ${taskSec} s task (mean over end times spread across 5 s):`);
  console.table([
    ...SCENARIOS.map((scenario) => ({
      scenario: scenario.name,
      ...simulate(taskMs, (elapsed) =>
        nextPollDelayMs(elapsed, scenario.estimate === undefined ? undefined : taskMs * scenario.estimate),
      ),
    })),
    { scenario: 'official SDK schedule', ...simulate(taskMs, (_elapsed, queries) => sdkDelayMs(queries)) },
  ]);
}
for (const taskSec of quick ? [10] : [10, 60]) {
  console.log(`\nMeasured against the fake, ${taskSec} s tasks (${taskSec === 10 ? 3 : 1} per scenario):`);
  console.table(await detection(taskSec * 1000, taskSec === 10 ? 3 : 1));
}
console.log('\nFetching a result (separate process, streamed to disk); peak RSS does not grow with size:');
console.table([await peakRss(100_000_000), await peakRss(400_000_000)]);
await queueBenchmark();
await poolBenchmark();
await telegramBenchmark();
await discordBenchmark();
await probeBenchmark();
await cleanupMedia();
