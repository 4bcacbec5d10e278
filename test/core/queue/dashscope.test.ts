import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliDeliverySink } from '../../../src/adapters/files/cli-sink.ts';
import type { Requester } from '../../../src/core/job.ts';
import { DEFAULT_LANE_ID } from '../../../src/core/queue/lane.ts';
import { RestyleService, type ServiceDeps } from '../../../src/core/queue/service.ts';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { MemoryJobStore } from '../../fakes/memory-store.ts';
import { makeClip, tempDir } from '../../helpers/media.ts';
import { serviceDeps } from '../../helpers/service.ts';

let fake: FakeDashScope;
let dir: string;
let clips: string[];
const services: RestyleService[] = [];
const alice: Requester = { key: 'test:alice' };
const bob: Requester = { key: 'test:bob' };
const carol: Requester = { key: 'test:carol' };

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

// The queue on the real adapters (undici backend, temporary upload, ffprobe, files) against the
// loopback DashScope fake; the queue's behaviours one by one are tested on in-memory ports.
describe('RestyleService against the DashScope fake', () => {
  it('serves requesters round-robin: a user with three clips waits behind the others’ first', async () => {
    const s = service();
    await s.start();
    // The first task is held RUNNING until every request is queued behind it, however slow probing is.
    fake.options.faults.stuck = true;
    const ids = [
      queuedId(await request(s, alice, clips[0], 0)),
      queuedId(await request(s, alice, clips[1], 1)),
      queuedId(await request(s, alice, clips[2], 2)),
      queuedId(await request(s, bob, clips[0], 3)),
      queuedId(await request(s, carol, clips[0], 4)),
    ];
    fake.options.faults.stuck = false;
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

  it('adopts the task of a submit whose reply was lost in a crash, and resubmits when none exists', async () => {
    const accepted = () => fake.submits().filter((entry) => entry.status === 200).length;
    const store = new MemoryJobStore();
    for (const replyLost of [true, false]) {
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const { backend, host } = deps();
      const media = await host.host(clips[1]!, { laneId: DEFAULT_LANE_ID });
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
