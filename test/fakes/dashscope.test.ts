import { execFile } from 'node:child_process';
import { existsSync, openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from '../../src/adapters/ffmpeg/binaries.ts';
import { type MultipartEvent, multipartBoundary, parseMultipart } from './dashscope/multipart.ts';
import { renderArgs } from './dashscope/render.ts';
import { type FakeDashScope, type FakeOptions, startFakeDashScope } from './dashscope/server.ts';

const run = promisify(execFile);
const bins = resolveFfmpeg();
const env = { ...process.env, ...bins.env };
const SUBMIT = '/api/v1/services/aigc/video-generation/video-synthesis';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;

let dir: string;
let files: Server;
let filesUrl: string;
let fake: FakeDashScope;
let keyCount = 0;

interface TaskBody {
  request_id: string;
  output: Record<string, unknown> & { task_id: string; task_status: string };
  usage?: { duration: number };
}

async function ffmpeg(args: string[]): Promise<void> {
  await run(bins.ffmpeg, ['-nostdin', '-v', 'error', '-y', ...args], { env });
}

/** A fresh account, so rate limits of one test never leak into another. */
function newKey(): string {
  keyCount += 1;
  const key = `sk-test-${keyCount}`;
  fake.options.apiKeys.push(key);
  return key;
}

function call(
  path: string,
  init: { key?: string | null; method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? 'sk-test-key'}`;
  return fetch(`${fake.baseUrl}${path}`, { method: init.method ?? 'GET', headers, body: init.body });
}

function submit(key: string, body: unknown, headers: Record<string, string> = {}) {
  return call(SUBMIT, {
    key,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-dashscope-async': 'enable', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const job = (videoUrl: string, parameters?: Record<string, unknown>) => ({
  model: 'video-style-transform',
  input: { video_url: videoUrl },
  ...(parameters ? { parameters } : {}),
});

async function submitOk(key: string, body: unknown, headers: Record<string, string> = {}): Promise<string> {
  const res = await submit(key, body, headers);
  const json = (await res.json()) as TaskBody;
  expect(res.status, JSON.stringify(json)).toBe(200);
  expect(json.output.task_status).toBe('PENDING');
  return json.output.task_id;
}

async function taskStatus(key: string, taskId: string): Promise<TaskBody> {
  const res = await call(`/api/v1/tasks/${taskId}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as TaskBody;
}

/** Polls well under the 20 QPS limit until the task reaches one of `statuses`. */
async function waitFor(
  key: string,
  taskId: string,
  statuses: string[],
  timeoutMs = 20_000,
): Promise<TaskBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await taskStatus(key, taskId);
    if (statuses.includes(body.output.task_status)) return body;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${body.output.task_status}`);
    await new Promise((resolve) => setTimeout(resolve, 70));
  }
}

/** Runs `body` with some options changed, restoring them afterwards. */
async function withOptions<T>(changes: Partial<FakeOptions>, body: () => Promise<T>): Promise<T> {
  const saved = { ...fake.options, faults: { ...fake.options.faults } };
  Object.assign(fake.options, changes);
  try {
    return await body();
  } finally {
    Object.assign(fake.options, saved);
  }
}

/** One frame as raw RGB bytes. */
async function frameRgb(path: string, atSec: number): Promise<Buffer> {
  const { stdout } = await run(
    bins.ffmpeg,
    [
      '-v',
      'error',
      '-ss',
      String(atSec),
      '-i',
      path,
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

async function download(url: string, to: string): Promise<Response> {
  const res = await fetch(url);
  await writeFile(to, Buffer.from(await res.arrayBuffer()));
  return res;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fake-dashscope-test-'));
  const clip = (size: string, durationSec: number, rate: number, name: string) =>
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${size}:rate=${rate}:duration=${durationSec}`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      join(dir, name),
    ]);
  await Promise.all([
    clip('320x256', 1, 30, 'good.mp4'),
    clip('320x256', 0.4, 30, 'short.mp4'),
    clip('240x240', 0.5, 10, 'tiny.mp4'),
    clip('480x256', 0.5, 10, 'wide.mp4'),
    clip('256x256', 31, 2, 'long.mp4'),
    writeFile(join(dir, 'garbage.mp4'), 'this is not a video\n'.repeat(100)),
    writeFile(join(dir, 'big.bin'), Buffer.alloc(1_500_000, 7)),
  ]);
  files = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/files\//, '');
    readFile(join(dir, name)).then(
      (bytes) => res.writeHead(200, { 'content-type': 'video/mp4' }).end(bytes),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/files`;
  fake = await startFakeDashScope({ pendingMs: 40, runningMs: 60 });
});

afterAll(async () => {
  await fake?.close();
  await new Promise((resolve) => files?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('authentication and headers', () => {
  it.each([
    ['no Authorization header', null],
    ['an unknown key', 'sk-nope'],
  ])('answers %s with 401 InvalidApiKey', async (_label, key) => {
    const res = await call('/api/v1/tasks/any', { key });
    expect(res.status).toBe(401);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ code: 'InvalidApiKey', message: 'Invalid API-key provided.' });
    expect(body.request_id).toMatch(UUID);
  });

  it('refuses a submit without X-DashScope-Async with 403 AccessDenied', async () => {
    const res = await call(SUBMIT, {
      key: newKey(),
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(job(`${filesUrl}/good.mp4`)),
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      code: 'AccessDenied',
      message: 'current user api does not support synchronous calls',
    });
  });

  it('logs requests with the key masked and the DashScope headers', async () => {
    await call('/api/v1/tasks/logged', { headers: { 'x-dashscope-workspace': 'ws-42' } });
    const entry = fake.requests.at(-1)!;
    expect(entry).toMatchObject({
      method: 'GET',
      path: '/api/v1/tasks/logged',
      status: 200,
      taskId: 'logged',
      headers: { authorization: 'Bearer ***', workspace: 'ws-42' },
    });
    expect(JSON.stringify(fake.requests)).not.toContain('sk-test-key');
  });
});

describe('submit validation', () => {
  const url = () => `${filesUrl}/good.mp4`;
  it.each<[string, () => unknown, string, RegExp]>([
    ['a body that is not JSON', () => '{"model":', 'InvalidParameter.JsonPhrase', /input json error/],
    ['another model', () => ({ ...job(url()), model: 'wanx-v1' }), 'InvalidParameter', /^Model not exist\.$/],
    ['no video_url', () => ({ model: 'video-style-transform', input: {} }), 'InvalidParameter', /video_url/],
    ['a non-ASCII URL', () => job(`${filesUrl}/视频.mp4`), 'InvalidParameter', /video_url.*ASCII/],
    ['style 8', () => job(url(), { style: 8 }), 'InvalidParameter', /parameters\.style/],
    ['style -1', () => job(url(), { style: -1 }), 'InvalidParameter', /parameters\.style/],
    ['style 1.5', () => job(url(), { style: 1.5 }), 'InvalidParameter', /parameters\.style/],
    ['style "3"', () => job(url(), { style: '3' }), 'InvalidParameter', /parameters\.style/],
    ['video_fps 14', () => job(url(), { video_fps: 14 }), 'InvalidParameter', /parameters\.video_fps/],
    ['video_fps 26', () => job(url(), { video_fps: 26 }), 'InvalidParameter', /parameters\.video_fps/],
    ['video_fps "20"', () => job(url(), { video_fps: '20' }), 'InvalidParameter', /parameters\.video_fps/],
  ])('rejects %s with 400 %s', async (_label, body, code, message) => {
    const before = fake.tasks.size;
    const res = await submit(newKey(), body());
    expect(res.status).toBe(400);
    const json = (await res.json()) as Record<string, string>;
    expect(json.code).toBe(code);
    expect(json.message).toMatch(message);
    expect(json.request_id).toMatch(UUID);
    expect(fake.tasks.size).toBe(before);
  });
});

describe('rate limits', () => {
  it('answers a second submit within a second with 429 Throttling.RateQuota', async () => {
    const key = newKey();
    await submitOk(key, job(`${filesUrl}/good.mp4`));
    const res = await submit(key, job(`${filesUrl}/good.mp4`));
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({
      code: 'Throttling.RateQuota',
      message: 'Requests rate limit exceeded, please try again later.',
    });
    expect(fake.submits().at(-1)).toMatchObject({ status: 429, code: 'Throttling.RateQuota' });
  });

  it('answers a submit while the previous task is unfinished with 429, and accepts it after', async () => {
    await withOptions({ pendingMs: 10_000, submitIntervalMs: 50 }, async () => {
      const key = newKey();
      const first = await submitOk(key, job(`${filesUrl}/good.mp4`));
      await new Promise((resolve) => setTimeout(resolve, 80));
      const res = await submit(key, job(`${filesUrl}/good.mp4`));
      expect(res.status).toBe(429);
      expect(((await res.json()) as { code: string }).code).toBe('Throttling.RateQuota');
      expect((await call(`/api/v1/tasks/${first}/cancel`, { key, method: 'POST' })).status).toBe(200);
      await submitOk(key, job(`${filesUrl}/good.mp4`));
    });
  });

  it('limits status queries to maxStatusQps per key and counts them per task', async () => {
    await withOptions({ maxStatusQps: 5, pendingMs: 10_000 }, async () => {
      const key = newKey();
      const taskId = await submitOk(key, job(`${filesUrl}/good.mp4`));
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await call(`/api/v1/tasks/${taskId}`, { key })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      expect(fake.tasks.get(taskId)!.statusQueries).toBe(6);
      expect(fake.requests.at(-1)).toMatchObject({ status: 429, code: 'Throttling.RateQuota' });
      // Another account has its own budget.
      expect((await call(`/api/v1/tasks/${taskId}`, { key: newKey() })).status).toBe(200);
      await call(`/api/v1/tasks/${taskId}/cancel`, { key, method: 'POST' });
    });
  });
});

describe('task lifecycle', () => {
  it('goes PENDING → RUNNING → SUCCEEDED and renders an h264 mp4 at video_fps that looks restyled', async () => {
    const key = newKey();
    // Long enough to read PENDING even on a busy machine.
    fake.options.pendingMs = 1_000;
    const taskId = await submitOk(key, job(`${filesUrl}/good.mp4`, { style: 0, video_fps: 20 }));
    fake.options.pendingMs = 40;

    const pending = await taskStatus(key, taskId);
    expect(pending.output).toMatchObject({ task_id: taskId, task_status: 'PENDING' });
    expect(pending.output.submit_time).toMatch(TIME);
    expect(pending.output).not.toHaveProperty('scheduled_time');

    const running = await waitFor(key, taskId, ['RUNNING', 'SUCCEEDED']);
    if (running.output.task_status === 'RUNNING') {
      expect(running.output.task_metrics).toEqual({ TOTAL: 1, SUCCEEDED: 0, FAILED: 0 });
      expect(running.output.scheduled_time).toMatch(TIME);
    }

    const done = await waitFor(key, taskId, ['SUCCEEDED', 'FAILED']);
    expect(done.output.task_status, JSON.stringify(done)).toBe('SUCCEEDED');
    expect(done.output.end_time).toMatch(TIME);
    expect(done.usage).toEqual({ duration: 1 });
    const url = done.output.output_video_url as string;
    expect(url).toMatch(new RegExp(`^${fake.baseUrl}/__outputs/${taskId}\\.mp4\\?Expires=\\d+&`));

    const out = join(dir, `${taskId}.mp4`);
    const res = await download(url, out);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(Number(res.headers.get('content-length'))).toBe((await stat(out)).size);

    const { stdout } = await run(
      bins.ffprobe,
      [
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=codec_name,pix_fmt,width,height,r_frame_rate',
        '-of',
        'json',
        out,
      ],
      { env },
    );
    expect(JSON.parse(stdout).streams[0]).toEqual({
      codec_name: 'h264',
      pix_fmt: 'yuv420p',
      width: 320,
      height: 256,
      r_frame_rate: '20/1',
    });
    const bytes = await readFile(out);
    expect(bytes.indexOf('moov')).toBeLessThan(bytes.indexOf('mdat'));
    const diff = meanAbsDiff(await frameRgb(join(dir, 'good.mp4'), 0.5), await frameRgb(out, 0.5));
    expect(diff).toBeGreaterThan(25);

    const partial = await fetch(url, { headers: { range: 'bytes=0-99' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 0-99/${bytes.length}`);
    expect(Buffer.from(await partial.arrayBuffer())).toEqual(bytes.subarray(0, 100));
  });

  it('renders each of the eight styles visibly differently', async () => {
    const frames = await Promise.all(
      Array.from({ length: 8 }, async (_, style) => {
        const key = newKey();
        const taskId = await submitOk(key, job(`${filesUrl}/short.mp4`, { style }));
        const done = await waitFor(key, taskId, ['SUCCEEDED', 'FAILED']);
        expect(done.output.task_status, JSON.stringify(done)).toBe('SUCCEEDED');
        const out = join(dir, `style-${style}.mp4`);
        await download(done.output.output_video_url as string, out);
        return frameRgb(out, 0.2);
      }),
    );
    const input = await frameRgb(join(dir, 'short.mp4'), 0.2);
    for (const [style, frame] of frames.entries()) {
      expect(meanAbsDiff(input, frame), `style ${style} vs input`).toBeGreaterThan(20);
      for (let other = 0; other < style; other++) {
        expect(meanAbsDiff(frames[other]!, frame), `style ${style} vs ${other}`).toBeGreaterThan(10);
      }
    }
  });

  it('lists the tasks of the key with the documented paging fields', async () => {
    const key = newKey();
    const taskId = await submitOk(key, job(`${filesUrl}/good.mp4`));
    const res = await call('/api/v1/tasks?page_no=1&page_size=10&model_name=video-style-transform', { key });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Record<string, unknown>[] } & Record<string, unknown>;
    expect(body).toMatchObject({ total: 1, total_page: 1, page_no: 1, page_size: 10 });
    expect(body.data[0]).toMatchObject({
      task_id: taskId,
      model_name: 'video-style-transform',
      region: 'cn-beijing',
    });
    expect(typeof body.data[0]!.gmt_create).toBe('number');
  });
});

describe('failed tasks', () => {
  it.each<[string, string, string, RegExp]>([
    [
      'an input URL that answers 404',
      'missing.mp4',
      'InvalidParameter.FileDownload',
      /^download for input video error$/,
    ],
    ['an input that is not a video', 'garbage.mp4', 'InvalidParameter.VideoFormat', /^read video error$/],
    ['a side under 256 px', 'tiny.mp4', 'InvalidParameter', /240x240.*256/],
    ['a long/short ratio over 1.8', 'wide.mp4', 'InvalidParameter', /aspect ratio 1\.875/],
    ['a clip over 30 s', 'long.mp4', 'InvalidParameter', /duration 31\.\d+s exceeds the limit of 30s/],
  ])('ends FAILED for %s', async (_label, file, code, message) => {
    const key = newKey();
    const taskId = await submitOk(key, job(`${filesUrl}/${file}`));
    const done = await waitFor(key, taskId, ['SUCCEEDED', 'FAILED']);
    expect(done.output).toMatchObject({ task_status: 'FAILED', code });
    expect(done.output.message).toMatch(message);
    expect(done.output.end_time).toMatch(TIME);
    expect(done).not.toHaveProperty('usage');
  });

  it('answers UNKNOWN for ids it never issued and for tasks of another account', async () => {
    expect((await taskStatus('sk-test-key', 'no-such-task')).output).toEqual({
      task_id: 'no-such-task',
      task_status: 'UNKNOWN',
    });
    const key = newKey();
    const taskId = await submitOk(key, job(`${filesUrl}/good.mp4`));
    expect((await taskStatus(newKey(), taskId)).output.task_status).toBe('UNKNOWN');
  });

  it('cancels a PENDING task but answers 400 UnsupportedOperation for a RUNNING one', async () => {
    await withOptions({ pendingMs: 10_000 }, async () => {
      const key = newKey();
      const taskId = await submitOk(key, job(`${filesUrl}/good.mp4`));
      const res = await call(`/api/v1/tasks/${taskId}/cancel`, { key, method: 'POST' });
      expect(res.status).toBe(200);
      expect(Object.keys((await res.json()) as object)).toEqual(['request_id']);
      expect((await taskStatus(key, taskId)).output.task_status).toBe('CANCELED');
    });
    fake.options.faults.stuck = true;
    try {
      const key = newKey();
      const taskId = await submitOk(key, job(`${filesUrl}/good.mp4`));
      await waitFor(key, taskId, ['RUNNING']);
      const res = await call(`/api/v1/tasks/${taskId}/cancel`, { key, method: 'POST' });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'UnsupportedOperation' });
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect((await taskStatus(key, taskId)).output.task_status).toBe('RUNNING');
      fake.options.faults.stuck = false;
      expect((await waitFor(key, taskId, ['SUCCEEDED', 'FAILED'])).output.task_status).toBe('SUCCEEDED');
    } finally {
      fake.options.faults.stuck = false;
    }
  });
});

describe('temporary uploads', () => {
  interface Policy {
    policy: string;
    signature: string;
    upload_dir: string;
    upload_host: string;
    oss_access_key_id: string;
    x_oss_object_acl: string;
    x_oss_forbid_overwrite: string;
    expire_in_seconds: number;
    max_file_size_mb: number;
    capacity_limit_mb: number;
  }

  async function getPolicy(key: string): Promise<Policy> {
    const res = await call('/api/v1/uploads?action=getPolicy&model=video-style-transform', { key });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { request_id: string; data: Policy };
    expect(body.request_id).toMatch(UUID);
    return body.data;
  }

  /** Posts the form the official SDKs send, in their order, with `file` last unless told otherwise. */
  async function upload(
    policy: Policy,
    path: string,
    opts: { key?: string; signature?: string; omit?: string[]; fileFirst?: boolean } = {},
  ): Promise<{ status: number; text: string; key: string }> {
    const key = opts.key ?? `${policy.upload_dir}/${path.split('/').at(-1)}`;
    const fields: [string, string][] = [
      ['OSSAccessKeyId', policy.oss_access_key_id],
      ['Signature', opts.signature ?? policy.signature],
      ['policy', policy.policy],
      ['key', key],
      ['x-oss-object-acl', policy.x_oss_object_acl],
      ['x-oss-forbid-overwrite', policy.x_oss_forbid_overwrite],
      ['success_action_status', '200'],
      ['x-oss-content-type', 'video/mp4'],
    ];
    const form = new FormData();
    const file = await openAsBlob(path, { type: 'video/mp4' });
    if (opts.fileFirst) form.append('file', file, 'clip.mp4');
    for (const [name, value] of fields) if (!opts.omit?.includes(name)) form.append(name, value);
    if (!opts.fileFirst) form.append('file', file, 'clip.mp4');
    const res = await fetch(policy.upload_host, { method: 'POST', body: form });
    return { status: res.status, text: await res.text(), key };
  }

  it('hands out a signed policy for the fake OSS host', async () => {
    const policy = await getPolicy(newKey());
    expect(policy.upload_host).toBe(`${fake.baseUrl}/__oss`);
    expect(policy).toMatchObject({ x_oss_object_acl: 'private', x_oss_forbid_overwrite: 'true' });
    expect(policy.upload_dir).toMatch(/^dashscope-instant\//);
    const document = JSON.parse(Buffer.from(policy.policy, 'base64').toString('utf8'));
    expect(Date.parse(document.expiration)).toBeGreaterThan(Date.now());
    expect(document.conditions).toContainEqual(['starts-with', '$key', policy.upload_dir]);
    expect(policy.signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it('stores an upload, and resolves oss:// only for its account and with the resolve header', async () => {
    await withOptions({ submitIntervalMs: 0 }, async () => {
      const key = newKey();
      const policy = await getPolicy(key);
      const uploaded = await upload(policy, join(dir, 'good.mp4'));
      expect(uploaded).toMatchObject({ status: 200, text: '' });
      expect(fake.uploads.get(uploaded.key)).toMatchObject({
        bytes: (await stat(join(dir, 'good.mp4'))).size,
        contentType: 'video/mp4',
      });
      const ossUrl = `oss://${uploaded.key}`;
      const resolve = { 'x-dashscope-ossresourceresolve': 'enable' };

      const unresolved = await submitOk(key, job(ossUrl));
      expect((await waitFor(key, unresolved, ['SUCCEEDED', 'FAILED'])).output).toMatchObject({
        task_status: 'FAILED',
        code: 'InvalidParameter.FileDownload',
      });
      const stranger = newKey();
      const foreign = await submitOk(stranger, job(ossUrl), resolve);
      expect((await waitFor(stranger, foreign, ['SUCCEEDED', 'FAILED'])).output.task_status).toBe('FAILED');

      const resolved = await submitOk(key, job(ossUrl), resolve);
      expect((await waitFor(key, resolved, ['SUCCEEDED', 'FAILED'])).output.task_status).toBe('SUCCEEDED');
      expect(fake.submits().at(-1)!.headers.ossResolve).toBe('enable');
    });
  });

  it('refuses to overwrite an existing key with 409 FileAlreadyExists', async () => {
    const policy = await getPolicy(newKey());
    expect((await upload(policy, join(dir, 'good.mp4'))).status).toBe(200);
    const again = await upload(policy, join(dir, 'good.mp4'));
    expect(again.status).toBe(409);
    expect(again.text).toContain('<Code>FileAlreadyExists</Code>');
  });

  it.each<
    [string, Partial<{ key: string; signature: string; omit: string[]; fileFirst: boolean }>, number, string]
  >([
    ['a wrong signature', { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, 403, 'SignatureDoesNotMatch'],
    ['a key outside upload_dir', { key: 'elsewhere/clip.mp4' }, 403, 'AccessDenied'],
    ['fields after the file', { fileFirst: true }, 400, 'InvalidArgument'],
    ['no x-oss-forbid-overwrite', { omit: ['x-oss-forbid-overwrite'] }, 403, 'AccessDenied'],
  ])('rejects an upload with %s', async (_label, opts, status, code) => {
    const policy = await getPolicy(newKey());
    const res = await upload(policy, join(dir, 'good.mp4'), opts);
    expect(res.status).toBe(status);
    expect(res.text).toContain(`<Code>${code}</Code>`);
    expect(fake.uploads.has(res.key)).toBe(false);
  });

  it('rejects an expired policy with 403 and a file over max_file_size_mb with 400 EntityTooLarge', async () => {
    const expired = await withOptions({ policyExpireSec: 0 }, () => getPolicy(newKey()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const late = await upload(expired, join(dir, 'good.mp4'));
    expect(late.status).toBe(403);
    expect(late.text).toContain('Policy expired');

    const small = await withOptions({ uploadMaxFileSizeMb: 1 }, () => getPolicy(newKey()));
    expect(small.max_file_size_mb).toBe(1);
    const big = await upload(small, join(dir, 'big.bin'));
    expect(big.status).toBe(400);
    expect(big.text).toContain('<Code>EntityTooLarge</Code>');
    expect(fake.uploads.has(big.key)).toBe(false);
  });
});

describe('faults', () => {
  const listStatuses = async (key: string, n: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await call('/api/v1/tasks', { key })).status);
    return statuses;
  };

  it('answers 500 InternalError at serverErrorRate, the same way for the same seed', async () => {
    const key = newKey();
    const faults = fake.options.faults;
    try {
      Object.assign(faults, { serverErrorRate: 0.5, seed: 42 });
      const first = await listStatuses(key, 20);
      faults.seed = 43;
      await listStatuses(key, 3);
      faults.seed = 42;
      expect(await listStatuses(key, 20)).toEqual(first);
      expect(first).toContain(200);
      expect(first).toContain(500);
      faults.serverErrorRate = 1;
      const res = await call('/api/v1/tasks', { key });
      expect(await res.json()).toMatchObject({ code: 'InternalError' });
      Object.assign(faults, { serverErrorRate: 0, throttleRate: 1 });
      const throttled = await call('/api/v1/tasks', { key });
      expect(throttled.status).toBe(429);
      expect(await throttled.json()).toMatchObject({
        code: 'Throttling',
        message: 'Requests throttling triggered.',
      });
    } finally {
      Object.assign(faults, { serverErrorRate: 0, throttleRate: 0, seed: 1 });
    }
  });

  it('fails running tasks with failTasksWith', async () => {
    fake.options.faults.failTasksWith = { code: 'InternalError.Algo', message: 'algorithm process error' };
    try {
      const key = newKey();
      const taskId = await submitOk(key, job(`${filesUrl}/good.mp4`));
      expect((await waitFor(key, taskId, ['SUCCEEDED', 'FAILED'])).output).toMatchObject({
        task_status: 'FAILED',
        code: 'InternalError.Algo',
        message: 'algorithm process error',
      });
    } finally {
      delete fake.options.faults.failTasksWith;
    }
  });

  it('loses results with loseOutput and streams syntheticOutputBytes for download benchmarks', async () => {
    await withOptions({ render: false, syntheticOutputBytes: 3_000_001 }, async () => {
      const key = newKey();
      const taskId = await submitOk(key, job(`${filesUrl}/good.mp4`));
      const done = await waitFor(key, taskId, ['SUCCEEDED', 'FAILED']);
      const url = done.output.output_video_url as string;
      const res = await fetch(url);
      expect(res.headers.get('content-length')).toBe('3000001');
      let bytes = 0;
      for await (const chunk of res.body!) bytes += chunk.length;
      expect(bytes).toBe(3_000_001);

      fake.options.faults.loseOutput = true;
      try {
        const lost = await fetch(url);
        expect(lost.status).toBe(404);
        expect(await lost.text()).toContain('<Code>NoSuchKey</Code>');
      } finally {
        fake.options.faults.loseOutput = false;
      }
    });
  });
});

describe('style graphs', () => {
  const npmFfmpeg = (() => {
    try {
      const path = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
      return existsSync(path) ? path : undefined;
    } catch {
      return undefined;
    }
  })();

  it.skipIf(!npmFfmpeg)('run on the npm-shipped ffmpeg 4.1 as well as the system one', async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, style) =>
        run(npmFfmpeg!, renderArgs(join(dir, 'short.mp4'), join(dir, `old-${style}.mp4`), style, 25), {
          env,
        }),
      ),
    );
  });
});

describe('multipart parser', () => {
  async function collect(body: Buffer, boundary: string, chunkBytes: number) {
    async function* chunks() {
      for (let at = 0; at < body.length; at += chunkBytes) yield body.subarray(at, at + chunkBytes);
    }
    const events: MultipartEvent[] = [];
    let file = Buffer.alloc(0);
    for await (const event of parseMultipart(chunks(), boundary)) {
      if (event.kind === 'file-data') file = Buffer.concat([file, event.chunk]);
      else events.push(event);
    }
    return { events, file };
  }

  it('reads the same fields and file bytes however the body is split', async () => {
    const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) % 256));
    // Bytes that look like the start of a delimiter must survive inside the file.
    payload.write('\r\n--', 1000, 'latin1');
    const form = new FormData();
    form.append('key', 'dir/clip.mp4');
    form.append('policy', 'e30=');
    form.append('file', new Blob([payload], { type: 'video/mp4' }), 'clip.mp4');
    form.append('after', 'ignored by OSS, still parsed');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const boundary = multipartBoundary(request.headers.get('content-type') ?? undefined)!;
    const body = Buffer.from(await request.arrayBuffer());
    for (const chunkBytes of [1, 2, 3, 7, 64, 1000, body.length]) {
      const { events, file } = await collect(body, boundary, chunkBytes);
      expect(events, `chunks of ${chunkBytes}`).toEqual([
        { kind: 'field', name: 'key', value: 'dir/clip.mp4' },
        { kind: 'field', name: 'policy', value: 'e30=' },
        { kind: 'file-start', name: 'file', filename: 'clip.mp4', contentType: 'video/mp4' },
        { kind: 'file-end' },
        { kind: 'field', name: 'after', value: 'ignored by OSS, still parsed' },
      ]);
      expect(file.equals(payload), `chunks of ${chunkBytes}`).toBe(true);
    }
  });

  it('rejects a body cut before its closing boundary', async () => {
    const form = new FormData();
    form.append('key', 'x');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const boundary = multipartBoundary(request.headers.get('content-type') ?? undefined)!;
    const body = Buffer.from(await request.arrayBuffer());
    await expect(collect(body.subarray(0, body.length - 10), boundary, 16)).rejects.toThrow(
      /closing boundary/,
    );
  });
});
