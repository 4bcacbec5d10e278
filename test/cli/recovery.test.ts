// Crash recovery with real processes: `restyle video` is killed with SIGKILL in each phase of a
// job, then `restyle resume` in the same folder must finish every job without submitting any of
// them twice. The phase is read from outside: the fake's tasks and requests, and the data folder.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobRow } from '../../src/cli/jobs.ts';
import { type FakeDashScope, type LoggedRequest, startFakeDashScope } from '../fakes/dashscope/server.ts';
import { makeClip, probeVideoStream, tempDir } from '../helpers/media.ts';

const KEY = 'sk-test-key';
const BIN = resolve('bin/restyle.js');
const _execFileAsync = promisify(execFile);
/** Quick tasks, restored after every test. */
const PENDING_MS = 100;
const RUNNING_MS = 300;

let fake: FakeDashScope;

interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Launched {
  readonly child: ChildProcess;
  /** Settles when the process has exited and its output is closed. */
  readonly done: Promise<CliRun>;
  /** Output so far, for messages when a phase is never reached. */
  output(): string;
}

/** Starts `restyle` as a real process in `cwd` against the fake (its store: `cwd/data/restyle.sqlite`). */
function launch(cwd: string, args: readonly string[], env: Record<string, string> = {}): Launched {
  // The defaults (relative to the working folder) are what is under test: nothing inherited.
  const { STORE_URL: _store, RESTYLE_DATA_DIR: _data, RESTYLE_WORK_DIR: _work, ...inherited } = process.env;
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      ...inherited,
      DASHSCOPE_BASE_URL: fake.baseUrl,
      DASHSCOPE_API_KEY: KEY,
      DASHSCOPE_SEC_PER_VIDEO_SEC: '0.1',
      DASHSCOPE_TASK_OVERHEAD_SEC: '0.5',
      LANG: 'en_US.UTF-8',
      // A killed process cannot remove its work folder: keep it where the test cleans up.
      RESTYLE_WORK_DIR: join(cwd, 'work'),
      ...env,
    },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const done = new Promise<CliRun>((settle, fail) => {
    child.on('error', fail);
    child.on('close', (code, signal) => settle({ code, signal, stdout, stderr }));
  });
  return { child, done, output: () => `stdout:\n${stdout}\nstderr:\n${stderr}` };
}

function restyle(cwd: string, args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return launch(cwd, args, env).done;
}

/** Resolves once `condition` holds; fails early if the process exits first, or after `timeoutMs`. */
async function until(
  launched: Launched,
  what: string,
  condition: () => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (launched.child.exitCode !== null || launched.child.signalCode !== null) {
      throw new Error(`restyle exited before ${what}\n${launched.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${launched.output()}`);
    await new Promise((wake) => setTimeout(wake, 20));
  }
}

/** Accepted (HTTP 200) submits since `from`, an index into `fake.submits()`. */
function acceptedSince(from: number): LoggedRequest[] {
  return fake
    .submits()
    .slice(from)
    .filter((entry) => entry.status === 200);
}

/** True once the CLI has queried the task's status: it saved the task id before polling. */
function polled(taskId: string, after = 0): boolean {
  return fake.requests.some(
    (entry) => entry.method === 'GET' && entry.path === `/api/v1/tasks/${taskId}` && entry.at >= after,
  );
}

/** Files in the data folder's results (`<job id>.mp4`, or `.part` while downloading). */
function results(cwd: string): string[] {
  const dir = join(cwd, 'data', 'results');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Where `restyle video … --style 3d --out-dir outDir` writes an input's result. */
function outputOf(outDir: string, input: string): string {
  return join(outDir, basename(input).replace(/\.mp4$/, '.3d-cartoon.mp4'));
}

interface Crash {
  /** Distinct clips, so neither the result cache nor the fake can confuse them. */
  readonly inputs: readonly string[];
  /** Distinct per test, like the clips. */
  readonly fps: number;
  readonly env?: Record<string, string>;
  /** Resolves once the phase under test is reached; the process is killed right after. */
  reach(run: { launched: Launched; cwd: string; submitsBefore: number }): Promise<void>;
  /** The stored states right after the kill, as `restyle jobs` shows them, oldest first. */
  readonly killedIn: readonly (string | RegExp)[];
  /** Runs after the kill, before `restyle resume` (e.g. to undo a fault). */
  afterKill?(): void;
}

/** Starts `restyle video`, kills it with SIGKILL in a phase, resumes, and checks nothing was paid twice. */
async function crashAndResume(crash: Crash): Promise<void> {
  const cwd = await tempDir('restyle-recovery-');
  const outDir = join(cwd, 'out');
  const outputs = crash.inputs.map((input) => outputOf(outDir, input));
  const submitsBefore = fake.submits().length;
  const launched = launch(
    cwd,
    ['video', ...crash.inputs, '--style', '3d', '--fps', String(crash.fps), '--out-dir', outDir],
    crash.env,
  );
  try {
    await crash.reach({ launched, cwd, submitsBefore });
  } finally {
    launched.child.kill('SIGKILL');
  }
  const killed = await launched.done;
  expect(killed.signal, launched.output()).toBe('SIGKILL');
  // The crash interrupted real work: at least one result was not written yet.
  expect(outputs.some((path) => !existsSync(path))).toBe(true);
  // Quick tasks again for the resumed run (a task already submitted keeps its timing).
  fake.options.pendingMs = PENDING_MS;
  fake.options.runningMs = RUNNING_MS;
  crash.afterKill?.();
  // The phase as the store kept it, read by another process.
  const stored = await restyle(cwd, ['jobs', '--json']);
  expect(stored.code, stored.stderr).toBe(0);
  const states = (JSON.parse(stored.stdout) as JobRow[]).map((row) => row.state);
  expect(states).toHaveLength(crash.killedIn.length);
  crash.killedIn.forEach((state, index) => {
    if (typeof state === 'string') expect(states[index]).toBe(state);
    else expect(states[index]).toMatch(state);
  });

  const resumed = await restyle(cwd, ['resume']);
  expect(resumed.code, resumed.stderr).toBe(0);
  const n = crash.inputs.length;
  expect(resumed.stderr).toContain(`Resuming ${n} job${n === 1 ? '' : 's'}.`);
  expect(resumed.stdout.trim().split('\n').sort()).toEqual([...outputs].sort());
  for (const path of outputs) {
    expect(existsSync(path), `${path} is missing\n${resumed.stderr}`).toBe(true);
    expect(statSync(path).size).toBeGreaterThan(1000);
    expect(await probeVideoStream(path)).toMatchObject({ codec: 'h264', width: 384, height: 288 });
  }
  const accepted = acceptedSince(submitsBefore);
  // One billed task per input, across the killed process and the resumed one.
  expect(accepted).toHaveLength(crash.inputs.length);

  const submitsAfterResume = fake.submits().length;
  const [listed, again] = await Promise.all([
    restyle(cwd, ['jobs', '--all', '--json']),
    restyle(cwd, ['resume']),
  ]);
  expect(listed.code, listed.stderr).toBe(0);
  const rows = JSON.parse(listed.stdout) as JobRow[];
  expect(rows.map((row) => row.state)).toEqual(crash.inputs.map(() => 'delivered'));
  expect(new Set(rows.map((row) => row.taskId))).toEqual(new Set(accepted.map((entry) => entry.taskId)));
  expect(again.code, again.stderr).toBe(0);
  expect(again.stderr).toContain('Nothing to resume');
  expect(fake.submits().length).toBe(submitsAfterResume);
  await rm(cwd, { recursive: true, force: true });
}

/** Clips keyed by their frame rate: each test restyles its own. */
const clips = new Map<number, string>();
function clip(fps: number): string {
  const path = clips.get(fps);
  if (!path) throw new Error(`no clip at ${fps} fps`);
  return path;
}

beforeAll(async () => {
  fake = await startFakeDashScope({ pendingMs: PENDING_MS, runningMs: RUNNING_MS, render: false });
  const rates = [5, 6, 7, 8, 9, 10, 11, 12, 13];
  const made = await Promise.all(rates.map((fps) => makeClip({ container: 'mp4', durationSec: 1, fps })));
  for (const [index, fps] of rates.entries()) clips.set(fps, made[index]!);
});
afterEach(() => {
  fake.options.pendingMs = PENDING_MS;
  fake.options.runningMs = RUNNING_MS;
  delete fake.options.syntheticOutputBytes;
});
afterAll(async () => {
  await fake.close();
});

describe('restyle resume after restyle video was killed with SIGKILL', () => {
  it('while a job waits behind one whose task is PENDING', async () => {
    fake.options.pendingMs = 4_000;
    const uploadsBefore = fake.uploads.size;
    await crashAndResume({
      inputs: [clip(5), clip(6)],
      fps: 15,
      killedIn: ['submitted (pending)', 'waiting'],
      async reach({ launched, submitsBefore }) {
        // The first job holds the lane (its task saved and polled); the second was prepared ahead
        // (uploaded) and waits: nothing of it reached the synthesis endpoint.
        await until(launched, 'the first task to be polled and the second clip uploaded', () => {
          const accepted = acceptedSince(submitsBefore);
          return (
            accepted.length === 1 && polled(accepted[0]!.taskId!) && fake.uploads.size >= uploadsBefore + 2
          );
        });
        expect(acceptedSince(submitsBefore)).toHaveLength(1);
        expect(fake.tasks.get(acceptedSince(submitsBefore)[0]!.taskId!)?.status).toBe('PENDING');
        // Let the second job's media be saved with it (it is saved right after the upload).
        await new Promise((wake) => setTimeout(wake, 200));
      },
    });
  });

  it('while the task is PENDING at DashScope (submitted)', async () => {
    fake.options.pendingMs = 3_000;
    await crashAndResume({
      inputs: [clip(7)],
      fps: 16,
      killedIn: ['submitted (pending)'],
      async reach({ launched, submitsBefore }) {
        await until(launched, 'the submitted task to be polled', () => {
          const accepted = acceptedSince(submitsBefore);
          return accepted.length === 1 && polled(accepted[0]!.taskId!);
        });
        expect(fake.tasks.get(acceptedSince(submitsBefore)[0]!.taskId!)?.status).toBe('PENDING');
      },
    });
  });

  it('while the task is RUNNING', async () => {
    fake.options.runningMs = 3_000;
    await crashAndResume({
      inputs: [clip(8)],
      fps: 17,
      // The remote status is saved without holding up polling: a kill may come before it lands.
      killedIn: [/^submitted \((running|pending)\)$/],
      async reach({ launched, submitsBefore }) {
        await until(launched, 'the task to be seen RUNNING', () => {
          const taskId = acceptedSince(submitsBefore)[0]?.taskId;
          const task = taskId === undefined ? undefined : fake.tasks.get(taskId);
          return task?.status === 'RUNNING' && polled(task.id, task.scheduledAt);
        });
      },
    });
  });

  it('while the result is being fetched', async () => {
    // A huge synthetic result keeps the download going; the resumed fetch gets the real one.
    fake.options.syntheticOutputBytes = 3_000_000_000;
    await crashAndResume({
      inputs: [clip(9)],
      fps: 18,
      killedIn: ['fetching'],
      env: { RESTYLE_MAX_RESULT_BYTES: String(4_000_000_000) },
      async reach({ launched, cwd }) {
        await until(launched, 'a partial result in data/results', () =>
          results(cwd).some((name) => name.endsWith('.part')),
        );
      },
      afterKill() {
        delete fake.options.syntheticOutputBytes;
      },
    });
  });

  it('after the result was fetched, before it was delivered', async () => {
    await crashAndResume({
      inputs: [clip(10)],
      fps: 19,
      killedIn: ['fetched'],
      env: { RESTYLE_CLI_DELIVERY_DELAY_MS: '5000' },
      async reach({ launched, cwd }) {
        // Renamed into place once complete; the state is saved right after, then delivery waits 5 s.
        await until(launched, 'a fetched result in data/results', () =>
          results(cwd).some((name) => name.endsWith('.mp4')),
        );
        await new Promise((wake) => setTimeout(wake, 1_000));
      },
    });
  });
});

describe('restyle video with several inputs', () => {
  it('queues three clips through the one lane: no 429, every output, positions shown', async () => {
    const cwd = await tempDir('restyle-recovery-');
    const outDir = join(cwd, 'out');
    const inputs = [clip(11), clip(12), clip(13)];
    const submitsBefore = fake.submits().length;
    // Each task holds the lane long enough for the third clip to be queued behind the second, even
    // when the checks of the clips (two ffprobe runs each) are slow on a busy machine.
    fake.options.pendingMs = 2_000;
    const run = await restyle(cwd, ['video', ...inputs, '--style', '3d', '--fps', '20', '--out-dir', outDir]);
    expect(run.code, run.stderr).toBe(0);
    const submits = fake.submits().slice(submitsBefore);
    expect(submits.map((entry) => entry.status)).toEqual([200, 200, 200]);
    expect(run.stdout.trim().split('\n')).toEqual(inputs.map((input) => outputOf(outDir, input)));
    for (const input of inputs) expect(statSync(outputOf(outDir, input)).size).toBeGreaterThan(1000);
    // Each job's line says where it waits, and positions move up as the lane frees.
    expect(run.stderr).toMatch(/: queued {2}#2 in line/);
    expect(run.stderr).toMatch(/: queued {2}#1 in line/);
    await rm(cwd, { recursive: true, force: true });
  });
});
