// In-memory ports for the queue's tests: a backend whose tasks the test moves along, a probe that
// answers from a table, files that exist only as names, a sink that records what it was handed,
// and a manual clock. Core runs on them as on the real adapters, without a network or ffmpeg.
import { AbortedError, RemoteError } from '../../src/core/errors.ts';
import type { FitPlan } from '../../src/core/fit.ts';
import type { RestyleJob } from '../../src/core/job.ts';
import { DEFAULT_LIMITS, type ProbeResult, type VideoFacts } from '../../src/core/limits.ts';
import type { HostedMedia } from '../../src/core/media.ts';
import type { PollScheduleOptions } from '../../src/core/poll.ts';
import type {
  Clock,
  DeliveryReceipt,
  DeliverySink,
  Downloader,
  MediaHost,
  RestyleBackend,
  RestyleRequest,
  ServiceFiles,
  TaskSnapshot,
  TaskStatus,
  Transcoder,
  VideoProbe,
} from '../../src/core/ports.ts';
import { InProcessLane } from '../../src/core/queue/lane.ts';
import type { ServiceDeps } from '../../src/core/queue/service.ts';
import { SpeedModel } from '../../src/core/speed.ts';
import { silentLogger } from '../../src/logger.ts';
import { compliantFacts } from '../helpers/facts.ts';
import { MemoryJobStore } from './memory-store.ts';

/** Lets pending promise chains run (one macrotask turn, a few times); no wall-clock wait. */
export async function settle(turns = 5): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** Resolves once `condition` holds, letting the event loop turn in between; fails after `maxTurns`. */
export async function until(
  condition: () => boolean,
  what = 'the condition',
  maxTurns = 5_000,
): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn >= maxTurns) throw new Error(`${what} never came true`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Polls every 2 ms of clock time, whatever the estimate. */
export const QUICK_POLL = {
  denseIntervalMs: 2,
  denseFraction: 0,
  minDenseIntervalMs: 2,
  maxIntervalMs: 2,
  minSparseIntervalMs: 2,
  windowStartFraction: 0,
  windowEndFraction: 1,
  overrunGrowthMsPerSec: 0,
} as const satisfies PollScheduleOptions;

/** A clock that moves only when told; sleepers wake in order as it passes their time. */
export class ManualClock implements Clock {
  private readonly sleepers: { atMs: number; wake: () => void }[] = [];

  constructor(public nowMs = 1_000_000) {}

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new AbortedError());
        return;
      }
      const sleeper = {
        atMs: this.nowMs + Math.max(0, ms),
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
        reject(new AbortedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Moves time forward by `ms`, waking each sleeper at its time and letting it run before the next. */
  async advance(ms: number): Promise<void> {
    const targetMs = this.nowMs + ms;
    for (;;) {
      await settle();
      this.sleepers.sort((a, b) => a.atMs - b.atMs);
      const next = this.sleepers[0];
      if (!next || next.atMs > targetMs) break;
      this.sleepers.shift();
      this.nowMs = Math.max(this.nowMs, next.atMs);
      next.wake();
    }
    this.nowMs = targetMs;
    await settle();
  }
}

interface FakeTask {
  readonly taskId: string;
  readonly request: RestyleRequest;
  readonly createdAtMs: number;
  status: TaskStatus;
  checks: number;
}

/**
 * A restyle backend in memory. Tasks start PENDING and, unless held, succeed at their
 * `checksToFinish`-th status query (RUNNING before); a held task stays where the test puts it.
 */
export class FakeBackend implements RestyleBackend {
  readonly tasks = new Map<string, FakeTask>();
  /** Submits in order, with the clock time each arrived. */
  readonly submits: { taskId: string; atMs: number; request: RestyleRequest }[] = [];
  readonly canceled: string[] = [];
  /** New tasks stay PENDING (or where the test moves them) until released. */
  hold = false;
  checksToFinish = 2;
  /** A submit that must fail, once. */
  failNextSubmit: RemoteError | undefined;
  /** While set, every call fails with it (a revoked key, an account in arrears). */
  refuseWith: RemoteError | undefined;
  private next = 1;

  constructor(
    private readonly clock: Clock,
    readonly name = 'fake',
  ) {}

  async submit(request: RestyleRequest): Promise<TaskSnapshot> {
    if (this.refuseWith) throw this.refuseWith;
    if (this.failNextSubmit) {
      const error = this.failNextSubmit;
      this.failNextSubmit = undefined;
      throw error;
    }
    const taskId = `${this.name}-task-${this.next++}`;
    const task: FakeTask = { taskId, request, createdAtMs: this.clock.now(), status: 'pending', checks: 0 };
    this.tasks.set(taskId, task);
    this.submits.push({ taskId, atMs: this.clock.now(), request });
    return this.snapshot(task);
  }

  async check(taskId: string): Promise<TaskSnapshot> {
    if (this.refuseWith) throw this.refuseWith;
    const task = this.tasks.get(taskId);
    if (!task) return { taskId, status: 'unknown', requestId: 'req-check' };
    task.checks += 1;
    if (!this.hold && (task.status === 'pending' || task.status === 'running')) {
      task.status = task.checks >= this.checksToFinish ? 'succeeded' : 'running';
    }
    return this.snapshot(task);
  }

  async cancel(taskId: string): Promise<void> {
    const task = this.tasks.get(taskId);
    if (task?.status !== 'pending') {
      throw new RemoteError({ kind: 'parameter', code: 'UnsupportedOperation', message: 'not pending' });
    }
    task.status = 'canceled';
    this.canceled.push(taskId);
  }

  async tasksCreatedSince(sinceMs: number): Promise<readonly TaskSnapshot[]> {
    if (this.refuseWith) throw this.refuseWith;
    return [...this.tasks.values()]
      .filter((task) => task.createdAtMs >= sinceMs)
      .map((task) => this.snapshot(task));
  }

  /** Moves a task to a status (the next query sees it). */
  set(taskId: string, status: TaskStatus): void {
    this.tasks.get(taskId)!.status = status;
  }

  /** The latest task. */
  get last(): FakeTask | undefined {
    return [...this.tasks.values()].at(-1);
  }

  private snapshot(task: FakeTask): TaskSnapshot {
    return {
      taskId: task.taskId,
      status: task.status,
      requestId: `req-${task.taskId}`,
      ...(task.status === 'succeeded'
        ? { outputUrl: `https://results.test/${task.taskId}.mp4`, billedSec: 2 }
        : {}),
      ...(task.status === 'failed'
        ? { failure: { code: 'InternalError.Algo', message: 'the model failed' } }
        : {}),
    };
  }
}

/** A probe answering from a table (a compliant 2 s clip for unknown paths); it can be made to wait. */
export class FakeProbe implements VideoProbe {
  readonly results = new Map<string, ProbeResult>();
  readonly calls: string[] = [];
  /** While set, every probe waits for it. */
  gate: Promise<void> | undefined;

  async probe(path: string): Promise<ProbeResult> {
    this.calls.push(path);
    if (this.gate) await this.gate;
    return this.results.get(path) ?? { kind: 'video', facts: compliantFacts({ durationSec: 2 }) };
  }

  /** Makes `path` probe as a video with these facts. */
  facts(path: string, overrides: Partial<VideoFacts>): void {
    this.results.set(path, { kind: 'video', facts: compliantFacts(overrides) });
  }
}

/** Files that exist as names only; inputs hash to their path unless given the same content. */
export class FakeFiles implements ServiceFiles {
  readonly present = new Set<string>();
  readonly removed: string[] = [];
  /** Paths whose bytes are the same as another path's. */
  readonly sameBytes = new Map<string, string>();

  async hash(path: string): Promise<string> {
    return `sha256:${this.sameBytes.get(path) ?? path}`;
  }

  resultPath(jobId: string): string {
    return `/results/${jobId}.mp4`;
  }

  async remove(path: string): Promise<void> {
    this.present.delete(path);
    this.removed.push(path);
  }

  async exists(path: string): Promise<boolean> {
    return this.present.has(path);
  }
}

/** Downloads that "write" the destination in `files`; URLs in `gone` fail like an expired result. */
export class FakeDownloader implements Downloader {
  readonly calls: string[] = [];
  readonly gone = new Set<string>();

  constructor(private readonly files: FakeFiles) {}

  async download(url: string, destPath: string): Promise<{ bytes: number }> {
    this.calls.push(url);
    if (this.gone.has(url)) {
      throw new RemoteError({
        kind: 'result',
        code: 'ResultGone',
        message: 'the result expired',
        status: 403,
      });
    }
    this.files.present.add(destPath);
    return { bytes: 1_000 };
  }
}

/** Hosts a file at a made-up URL, counting uploads. */
export class FakeHost implements MediaHost {
  readonly hosted: string[] = [];
  /** Lanes asked for, in order, when the host is per lane. */
  readonly lanes: (string | undefined)[] = [];

  /** `perLane`: media is bound to the lane it was hosted for, like DashScope's temporary upload. */
  constructor(readonly perLane = false) {}

  async host(path: string, options: { laneId?: string } = {}): Promise<HostedMedia> {
    this.hosted.push(path);
    this.lanes.push(options.laneId);
    const media = { url: `oss://media.test${path}`, ossResolve: true };
    return this.perLane ? { ...media, laneId: options.laneId } : media;
  }
}

/** Records the fit plans it was asked to apply. */
export class FakeTranscoder implements Transcoder {
  readonly fits: { inputPath: string; outputPath: string; plan: FitPlan }[] = [];

  async fit(inputPath: string, outputPath: string, plan: FitPlan): Promise<void> {
    this.fits.push({ inputPath, outputPath, plan });
  }
}

/** A sink that records every hand-over and answers with a message id. */
export class RecordingSink implements DeliverySink {
  readonly delivered: { jobId: string; resultPath: string }[] = [];
  /** When set, `deliver` rejects with it. */
  failWith: Error | undefined;

  async deliver(job: RestyleJob, resultPath: string): Promise<DeliveryReceipt> {
    if (this.failWith) throw this.failWith;
    this.delivered.push({ jobId: job.id, resultPath });
    return { messageId: 100 + this.delivered.length };
  }
}

/** The in-memory ports of one service, to inspect and steer. */
export interface Fakes {
  readonly clock: Clock;
  readonly backend: FakeBackend;
  readonly probe: FakeProbe;
  readonly files: FakeFiles;
  readonly downloader: FakeDownloader;
  readonly host: FakeHost;
  readonly transcoder: FakeTranscoder;
  readonly sink: RecordingSink;
  readonly store: MemoryJobStore;
}

/** Fresh fakes; `clock` defaults to the real one (polls are 2 ms apart either way). */
export function makeFakes(options: { clock?: Clock; store?: MemoryJobStore } = {}): Fakes {
  const clock = options.clock ?? { now: () => Date.now(), sleep: (ms, signal) => realSleep(ms, signal) };
  const files = new FakeFiles();
  return {
    clock,
    backend: new FakeBackend(clock),
    probe: new FakeProbe(),
    files,
    downloader: new FakeDownloader(files),
    host: new FakeHost(),
    transcoder: new FakeTranscoder(),
    sink: new RecordingSink(),
    store: options.store ?? new MemoryJobStore(),
  };
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

let ids = 0;

/**
 * Service dependencies on the fakes: one lane without submit spacing (the lane's own tests cover
 * it), quick polls, platform `test` delivered by the recording sink. Anything can be overridden.
 */
export function fakeDeps(fakes: Fakes, overrides: Partial<ServiceDeps> = {}): ServiceDeps {
  const taskDeps = {
    backend: fakes.backend,
    clock: fakes.clock,
    logger: silentLogger,
    poll: QUICK_POLL,
    taskTimeoutMs: 3_600_000,
  };
  return {
    ...taskDeps,
    probe: fakes.probe,
    transcoder: fakes.transcoder,
    host: fakes.host,
    downloader: fakes.downloader,
    limits: DEFAULT_LIMITS,
    maxResultBytes: 100_000_000,
    tempPath: (suffix) => `/tmp/fit-${++ids}${suffix}`,
    store: fakes.store,
    files: fakes.files,
    sinks: new Map([['test', fakes.sink]]),
    speed: new SpeedModel({ secPerVideoSec: 2, overheadSec: 4 }),
    queueLimits: { maxWaitingPerUser: 5, maxWaitingTotal: 50 },
    newId: () => `job-${++ids}`,
    lanes: [new InProcessLane({ ...taskDeps, minSubmitSpacingMs: 0 })],
    ...overrides,
  };
}
