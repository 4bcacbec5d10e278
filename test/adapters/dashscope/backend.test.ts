import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DashScopeBackend } from '../../../src/adapters/dashscope/backend.ts';
import { DashScopeError } from '../../../src/adapters/dashscope/errors.ts';
import { DashScopeTempUpload } from '../../../src/adapters/dashscope/upload.ts';
import { systemClock } from '../../../src/core/clock.ts';
import { RemoteError } from '../../../src/core/errors.ts';
import { awaitTask } from '../../../src/core/task.ts';
import { silentLogger } from '../../../src/logger.ts';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { makeClip } from '../../helpers/media.ts';

const KEY = 'sk-test-key';
const FAST_RETRY = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 400 };
let fake: FakeDashScope;
let clip: string;

function backend(overrides: Partial<ConstructorParameters<typeof DashScopeBackend>[0]> = {}) {
  return new DashScopeBackend({ apiKey: KEY, baseUrl: fake.baseUrl, retry: FAST_RETRY, ...overrides });
}

const pollDeps = (b: DashScopeBackend, taskTimeoutMs = 30_000) => ({
  backend: b,
  clock: systemClock,
  logger: silentLogger,
  taskTimeoutMs,
});

beforeAll(async () => {
  fake = await startFakeDashScope({ pendingMs: 100, runningMs: 300, render: false });
  clip = await makeClip({ container: 'mp4', durationSec: 1, width: 320, height: 256 });
});
afterAll(() => fake.close());
beforeEach(async () => {
  fake.options.faults = { serverErrorRate: 0, throttleRate: 0, stuck: false, loseOutput: false, seed: 1 };
  // Let the previous test's task end and the submit window pass.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
});

async function hosted(b: DashScopeBackend) {
  return new DashScopeTempUpload(b.client).upload(clip);
}

describe('DashScopeBackend against the fake', () => {
  it('submits asynchronously with the documented body and headers, then sees the task succeed', async () => {
    const b = backend({ workspace: 'ws-1' });
    const media = await hosted(b);
    expect(media.url).toMatch(/^oss:\/\//);
    const task = await b.submit({ media, styleId: 3, fps: 20 });
    expect(task.status).toBe('pending');
    expect(task.requestId).toBeTruthy();
    const [submit] = fake.submits().slice(-1);
    expect(submit?.headers).toMatchObject({ async: 'enable', ossResolve: 'enable', workspace: 'ws-1' });
    expect(fake.tasks.get(task.taskId)).toMatchObject({ style: 3, fps: 20 });
    const done = await awaitTask(pollDeps(b), task.taskId, { submittedAtMs: Date.now(), expectedMs: 500 });
    expect(done.status).toBe('succeeded');
    expect(done.outputUrl).toContain(fake.baseUrl);
  });

  it('fails at once with InvalidApiKey for a wrong key, without retrying', async () => {
    const b = backend({ apiKey: 'sk-wrong' });
    const before = fake.requests.length;
    const error = await b
      .submit({ media: { url: 'https://example.com/a.mp4', ossResolve: false }, styleId: 0, fps: 15 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DashScopeError);
    expect(error).toMatchObject({ kind: 'auth', code: 'InvalidApiKey', status: 401, retryable: false });
    expect((error as DashScopeError).requestId).toBeTruthy();
    expect(fake.requests.length - before).toBe(1);
    expect(String((error as Error).message)).not.toContain('sk-wrong');
  });

  it('does not retry a parameter error', async () => {
    const b = backend();
    const before = fake.submits().length;
    const error = await b
      .submit({ media: { url: 'https://example.com/a.mp4', ossResolve: false }, styleId: 9, fps: 15 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'parameter', code: 'InvalidParameter', status: 400 });
    expect(fake.submits().length - before).toBe(1);
  });

  it('keeps two back-to-back submits a second apart and never trips the rate limit', async () => {
    const a = backend();
    const b = backend();
    const media = await hosted(a);
    const first = await a.submit({ media, styleId: 0, fps: 15 });
    await awaitTask(pollDeps(a), first.taskId, { submittedAtMs: Date.now(), expectedMs: 500 });
    const second = await b.submit({ media, styleId: 1, fps: 15 });
    const [x, y] = [fake.tasks.get(first.taskId)!, fake.tasks.get(second.taskId)!];
    expect(y.submittedAt - x.submittedAt).toBeGreaterThanOrEqual(990);
    expect(fake.submits().filter((r) => r.status === 429)).toHaveLength(0);
  });

  it('retries a submit refused for concurrency until the running task ends', async () => {
    fake.options.runningMs = 2_500;
    const b = backend();
    const media = await hosted(b);
    const first = await b.submit({ media, styleId: 0, fps: 15 });
    const second = await b.submit({ media, styleId: 2, fps: 15 }).finally(() => {
      fake.options.runningMs = 300;
    });
    expect(second.taskId).not.toBe(first.taskId);
    expect(fake.submits().some((r) => r.status === 429 && r.code === 'Throttling.RateQuota')).toBe(true);
    await awaitTask(pollDeps(b), second.taskId, { submittedAtMs: Date.now(), expectedMs: 500 });
  });

  it('rides out injected 5xx and 429 replies', async () => {
    fake.options.faults = {
      serverErrorRate: 0.3,
      throttleRate: 0.3,
      stuck: false,
      loseOutput: false,
      seed: 7,
    };
    const b = backend({ retry: { maxAttempts: 12, baseDelayMs: 20, maxDelayMs: 100 } });
    const media = await hosted(b);
    const task = await b.submit({ media, styleId: 4, fps: 15 });
    const done = await awaitTask(pollDeps(b), task.taskId, { submittedAtMs: Date.now(), expectedMs: 500 });
    expect(done.status).toBe('succeeded');
    expect(fake.requests.some((r) => r.status === 500)).toBe(true);
  });

  it('reports a FAILED task with its DashScope code', async () => {
    fake.options.faults = {
      serverErrorRate: 0,
      throttleRate: 0,
      stuck: false,
      loseOutput: false,
      seed: 1,
      failTasksWith: { code: 'InternalError.Algo', message: 'algorithm process error' },
    };
    const b = backend();
    const task = await b.submit({ media: await hosted(b), styleId: 0, fps: 15 });
    const error = await awaitTask(pollDeps(b), task.taskId, {
      submittedAtMs: Date.now(),
      expectedMs: 500,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'task-failed', code: 'InternalError.Algo', taskId: task.taskId });
  });

  it('gives up on a stuck task at the task timeout', async () => {
    fake.options.faults = { serverErrorRate: 0, throttleRate: 0, stuck: true, loseOutput: false, seed: 1 };
    const b = backend();
    const task = await b.submit({ media: await hosted(b), styleId: 0, fps: 15 });
    const error = await awaitTask(pollDeps(b, 1_500), task.taskId, {
      submittedAtMs: Date.now(),
      expectedMs: 500,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'timeout', code: 'TaskTimeout' });
    fake.options.faults.stuck = false;
    for (const t of fake.tasks.values()) if (t.status === 'RUNNING') t.status = 'FAILED';
  });

  it('treats an unknown task id as lost', async () => {
    const b = backend();
    expect((await b.check('no-such-task')).status).toBe('unknown');
    const error = await awaitTask(pollDeps(b), 'no-such-task', {
      submittedAtMs: Date.now(),
      expectedMs: 100,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'task-lost', code: 'UNKNOWN' });
  });

  it('cancels a PENDING task and is refused once it runs', async () => {
    fake.options.pendingMs = 2_000;
    try {
      const b = backend();
      const task = await b.submit({ media: await hosted(b), styleId: 0, fps: 15 });
      await b.cancel(task.taskId);
      expect((await b.check(task.taskId)).status).toBe('canceled');
    } finally {
      fake.options.pendingMs = 100;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    fake.options.runningMs = 3_000;
    try {
      const b = backend();
      const task = await b.submit({ media: await hosted(b), styleId: 0, fps: 15 });
      await new Promise((resolve) => setTimeout(resolve, 400));
      const error = await b.cancel(task.taskId).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DashScopeError);
      expect((error as DashScopeError).retryable).toBe(false);
      await awaitTask(pollDeps(b), task.taskId, { submittedAtMs: Date.now(), expectedMs: 3_000 });
    } finally {
      fake.options.runningMs = 300;
    }
  });
});

describe('transport failures', () => {
  let silent: Server;
  let silentUrl: string;
  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => silent.close(() => resolve())));

  it('retries a refused connection and then reports a network error', async () => {
    const b = new DashScopeBackend({
      apiKey: KEY,
      baseUrl: 'http://127.0.0.1:9',
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
    });
    const error = await b.check('x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ kind: 'network', retryable: true });
  });

  it('reports a timeout when the server never answers', async () => {
    const b = new DashScopeBackend({
      apiKey: KEY,
      baseUrl: silentUrl,
      requestTimeoutMs: 200,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
    });
    const error = await b.check('x').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'timeout', code: 'RequestTimeOut' });
  });
});
