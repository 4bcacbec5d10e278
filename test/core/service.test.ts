import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliDeliverySink } from '../../src/adapters/files/cli-sink.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { Requester } from '../../src/core/job.ts';
import type { Clock } from '../../src/core/ports.ts';
import { RestyleService, type ServiceDeps } from '../../src/core/service.ts';
import { SpeedModel } from '../../src/core/speed.ts';
import { type FakeDashScope, startFakeDashScope } from '../fakes/dashscope/server.ts';
import { MemoryJobStore } from '../fakes/memory-store.ts';
import { makeClip, tempDir } from '../helpers/media.ts';
import { serviceDeps } from '../helpers/service.ts';

let fake: FakeDashScope;
let dir: string;
let clips: string[];
const services: RestyleService[] = [];
const alice: Requester = { key: 'test:alice' };
const bob: Requester = { key: 'test:bob' };
const carol: Requester = { key: 'test:carol' };
const operator: Requester = { key: 'test:op', operator: true };

function deps(overrides: Partial<ServiceDeps> = {}): ServiceDeps {
  return serviceDeps({
    baseUrl: fake.baseUrl,
    dir,
    backendRetry: { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 300 },
    sinks: new Map([['test', new CliDeliverySink()]]),
    ...overrides,
  });
}

function service(overrides: Partial<ServiceDeps> = {}): RestyleService {
  const created = new RestyleService(deps(overrides));
  services.push(created);
  return created;
}

function request(target: RestyleService, requester: Requester, clip = clips[0]!, styleId = 0) {
  return target.request({
    requester,
    delivery: { platform: 'test', outPath: join(dir, 'out', `${randomUUID()}.mp4`) },
    inputPath: clip,
    styleId,
    fps: 15,
    fit: false,
  });
}

function queuedId(outcome: Awaited<ReturnType<typeof request>>): string {
  if (outcome.kind !== 'queued') throw new Error(`expected queued, got ${outcome.kind}`);
  return outcome.job.id;
}

beforeAll(async () => {
  fake = await startFakeDashScope({ pendingMs: 50, runningMs: 250, render: false });
  dir = await tempDir('restyle-service-');
  clips = await Promise.all([1, 2, 3].map((n) => makeClip({ container: 'mp4', durationSec: n / 2 })));
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
  fake.options.faults = { serverErrorRate: 0, throttleRate: 0, stuck: false, loseOutput: false, seed: 1 };
  for (const task of fake.tasks.values())
    if (task.status === 'RUNNING' || task.status === 'PENDING') task.status = 'FAILED';
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

describe('RestyleService', () => {
  it('serves requesters round-robin: a user with three clips waits behind the others’ first', async () => {
    const s = service();
    await s.start();
    // The first task stays PENDING long enough for every request to be queued behind it.
    fake.options.pendingMs = 3_000;
    const ids = [
      queuedId(await request(s, alice, clips[0], 0)),
      queuedId(await request(s, alice, clips[1], 1)),
      queuedId(await request(s, alice, clips[2], 2)),
      queuedId(await request(s, bob, clips[0], 3)),
      queuedId(await request(s, carol, clips[0], 4)),
    ];
    fake.options.pendingMs = 50;
    const jobs = await Promise.all(ids.map((id) => s.settled(id)));
    expect(jobs.every((job) => job.state.kind === 'delivered')).toBe(true);
    const taskOf = (index: number) => {
      const state = jobs[index]!.state;
      return fake.tasks.get(state.kind === 'delivered' ? state.taskId : '')!;
    };
    const order = [0, 1, 2, 3, 4].sort((a, b) => taskOf(a).submittedAt - taskOf(b).submittedAt);
    expect(order).toEqual([0, 3, 4, 1, 2]);
    for (const job of jobs) expect(existsSync(String(job.delivery.outPath))).toBe(true);
    expect(fake.submits().filter((entry) => entry.status === 429)).toHaveLength(0);
  });

  it('refuses past the per-user cap and the global cap, saying which', async () => {
    fake.options.faults.stuck = true;
    const s = service({ queueLimits: { maxWaitingPerUser: 2, maxWaitingTotal: 3 } });
    await s.start();
    queuedId(await request(s, alice));
    // Wait until the first job holds the lane, so the rest stay waiting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    queuedId(await request(s, alice));
    queuedId(await request(s, alice));
    expect(await request(s, alice)).toEqual({ kind: 'refused', reason: 'user-cap', limit: 2 });
    queuedId(await request(s, bob));
    expect(await request(s, carol)).toEqual({ kind: 'refused', reason: 'queue-full', limit: 3 });
    // Operators are not held to the per-user cap, only to the global one.
    expect((await request(s, operator)).kind).toBe('refused');
  });

  it('rejects a bad clip with every reason and queues nothing', async () => {
    const s = service();
    await s.start();
    const wide = await makeClip({ container: 'mp4', width: 640, height: 320, durationSec: 0.5 });
    const outcome = await request(s, alice, wide);
    expect(outcome).toMatchObject({ kind: 'rejected', violations: [{ code: 'aspect-too-wide' }] });
    expect(s.waitingCount).toBe(0);
  });

  it('cancels in every state: waiting, pending at DashScope, running, and refuses others', async () => {
    fake.options.pendingMs = 1_500;
    fake.options.runningMs = 60_000;
    try {
      const s = service();
      await s.start();
      const first = queuedId(await request(s, alice, clips[0]));
      const second = queuedId(await request(s, alice, clips[1]));
      const third = queuedId(await request(s, bob, clips[2]));
      // A waiting job: only its requester (or an operator) may cancel it.
      expect(await s.cancel(third, alice)).toEqual({ kind: 'not-allowed' });
      expect(await s.cancel(third, bob)).toMatchObject({
        kind: 'canceled',
        job: { state: { remote: 'none' } },
      });
      // The first job's task is PENDING at DashScope: canceled there too.
      await waitFor(() => s.job(first)?.state.kind === 'submitted');
      const canceled = await s.cancel(first, alice);
      expect(canceled).toMatchObject({
        kind: 'canceled',
        job: { state: { kind: 'canceled', remote: 'canceled' } },
      });
      const firstTask = [...fake.tasks.values()].find((task) => task.status === 'CANCELED');
      expect(firstTask).toBeDefined();
      // The second runs at DashScope: too late for its requester, an operator may still stop it.
      await waitFor(() => {
        const state = s.job(second)?.state;
        return state?.kind === 'submitted' && state.remote === 'running';
      });
      expect(await s.cancel(second, alice)).toEqual({ kind: 'too-late', state: 'submitted' });
      expect(await s.cancel(second, operator)).toMatchObject({
        kind: 'canceled',
        job: { state: { remote: 'running' } },
      });
      expect(await s.cancel('no-such-job', operator)).toEqual({ kind: 'not-found' });
    } finally {
      fake.options.pendingMs = 50;
      fake.options.runningMs = 250;
    }
  });

  it('gives waiting jobs positions and ETAs that follow the clock and the learned speed', async () => {
    fake.options.faults.stuck = true;
    let nowMs = Date.now();
    const clock: Clock = { now: () => nowMs, sleep: systemClock.sleep };
    const speed = new SpeedModel({ secPerVideoSec: 2, overheadSec: 4 });
    const s = service({ clock, speed });
    await s.start();
    const head = queuedId(await request(s, alice, clips[1]));
    await waitFor(() => s.job(head)?.state.kind === 'submitted');
    const a = queuedId(await request(s, alice, clips[1]));
    const b = queuedId(await request(s, bob, clips[1]));
    const clipSec = s.job(a)!.durationSec;
    const taskMs = speed.expectedMs(clipSec);
    const first = s.status(a)!;
    const second = s.status(b)!;
    // alice was just served, so bob's first clip goes before her second.
    expect(second.position).toBe(1);
    expect(first.position).toBe(2);
    expect(second.etaMs).toBe(s.status(head)!.etaMs! + taskMs);
    expect(first.etaMs).toBe(second.etaMs! + taskMs);
    nowMs += 2_000;
    expect(s.status(a)!.etaMs).toBe(first.etaMs! - 2_000);
    // Learning that tasks take twice the estimate doubles the ETA of a job's own task.
    speed.observe(2 * speed.expectedMs(10), 10);
    expect(s.status(head)!.etaMs).toBeGreaterThan(0);
  });

  it('notifies once per head move, however many jobs wait', async () => {
    fake.options.faults.stuck = true;
    const s = service({ queueLimits: { maxWaitingPerUser: 100, maxWaitingTotal: 100 } });
    await s.start();
    const head = queuedId(await request(s, alice));
    await waitFor(() => s.job(head)?.state.kind === 'submitted');
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, n) => request(s, { key: `test:user${n}` })),
    );
    const waiting = outcomes.map(queuedId).sort((x, y) => s.status(x)!.position! - s.status(y)!.position!);
    expect(waiting.map((id) => s.status(id)!.position)).toEqual(Array.from({ length: 40 }, (_, n) => n + 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    let notifications = 0;
    s.onChange(() => {
      notifications += 1;
    });
    await s.cancel(waiting[0]!, operator);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(notifications).toBe(1);
    expect(s.status(waiting[39]!)!.position).toBe(39);
  });

  it('reuses a result for the same input, style and fps instead of paying again', async () => {
    const s = service();
    await s.start();
    const first = await s.settled(queuedId(await request(s, alice, clips[2], 5)));
    expect(first.state.kind).toBe('delivered');
    const submits = fake.submits().length;
    const again = await request(s, bob, clips[2], 5);
    expect(again.kind).toBe('cached');
    const job = await s.settled(again.kind === 'cached' ? again.job.id : '');
    expect(job.state).toMatchObject({ kind: 'delivered', cached: true });
    expect(fake.submits().length).toBe(submits);
    expect((await request(s, bob, clips[2], 6)).kind).toBe('queued');
  });

  it('resumes a submitted task after a restart without submitting it again', async () => {
    fake.options.runningMs = 1_500;
    try {
      const store = new MemoryJobStore();
      const before = service({ store });
      await before.start();
      const id = queuedId(await request(before, alice, clips[0], 7));
      await waitFor(() => before.job(id)?.state.kind === 'submitted');
      await before.stop();
      const submits = fake.submits().filter((entry) => entry.status === 200).length;
      expect((await store.get(id))?.state.kind).toBe('submitted');
      const after = service({ store });
      const resumed = await after.start();
      expect(resumed.map((job) => job.id)).toEqual([id]);
      const job = await after.settled(id);
      expect(job.state.kind).toBe('delivered');
      expect(fake.submits().filter((entry) => entry.status === 200).length).toBe(submits);
    } finally {
      fake.options.runningMs = 250;
    }
  });

  it('adopts the task of a submit whose reply was lost in a crash, and resubmits when none exists', async () => {
    const accepted = () => fake.submits().filter((entry) => entry.status === 200).length;
    const store = new MemoryJobStore();
    for (const replyLost of [true, false]) {
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const { backend, host } = deps();
      const media = await host.host(clips[1]!);
      const startedAtMs = Date.now();
      if (replyLost) await backend.submit({ media, styleId: 2, fps: 17 });
      const before = accepted();
      const id = randomUUID();
      await store.save({
        id,
        seq: replyLost ? 1 : 2,
        requester: alice,
        delivery: { platform: 'test', outPath: join(dir, 'out', `${id}.mp4`) },
        inputPath: clips[1]!,
        inputHash: 'x',
        styleId: 2,
        fps: 17,
        durationSec: 1,
        changes: [],
        createdAtMs: startedAtMs,
        updatedAtMs: startedAtMs,
        state: { kind: 'submitting', media, startedAtMs },
      });
      const s = service({ store });
      await s.start();
      const job = await s.settled(id);
      expect(job.state.kind).toBe('delivered');
      expect(accepted() - before).toBe(replyLost ? 0 : 1);
      await s.stop();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
