import { afterEach, describe, expect, it } from 'vitest';
import type { Requester } from '../../../src/core/job.ts';
import type { LaneOrder, LaneRunHooks } from '../../../src/core/ports.ts';
import { InProcessLane } from '../../../src/core/queue/lane.ts';
import { RestyleService } from '../../../src/core/queue/service.ts';
import { silentLogger } from '../../../src/logger.ts';
import {
  FakeBackend,
  fakeDeps,
  ManualClock,
  makeFakes,
  QUICK_POLL,
  settle,
  until,
} from '../../fakes/queue.ts';

const media = { url: 'oss://media.test/in.mp4', ossResolve: true };

function submit(jobId: string): LaneOrder {
  return { kind: 'submit', jobId, media, styleId: 0, fps: 15, expectedMs: 10_000 };
}

/** Hooks that note what the lane reported. */
function noting(): LaneRunHooks & { readonly seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    submitting: async () => {
      seen.push('submitting');
    },
    submitted: async (task) => {
      seen.push(`submitted ${task.taskId}`);
    },
    status: (remote) => {
      if (seen.at(-1) !== remote) seen.push(remote);
    },
  };
}

function laneOn(clock: ManualClock, backend: FakeBackend, id?: string): InProcessLane {
  return new InProcessLane({
    ...(id ? { id } : {}),
    backend,
    clock,
    logger: silentLogger,
    poll: QUICK_POLL,
    taskTimeoutMs: 3_600_000,
  });
}

/** Tracks whether a promise has settled, without waiting for it. */
function track<T>(promise: Promise<T>): { readonly done: boolean; readonly value: Promise<T> } {
  const state = { done: false, value: promise };
  promise.then(
    () => {
      state.done = true;
    },
    () => {
      state.done = true;
    },
  );
  return state;
}

describe('InProcessLane', () => {
  const shutdown = new AbortController();

  it('runs one task at a time: a second slot is granted only once the first run has ended', async () => {
    const clock = new ManualClock();
    const backend = new FakeBackend(clock);
    backend.hold = true;
    const lane = laneOn(clock, backend);
    const first = await lane.acquire(shutdown.signal);
    const run = first.run(submit('job-1'), noting(), shutdown.signal);
    const second = track(lane.acquire(shutdown.signal));
    await clock.advance(5_000);
    expect(second.done).toBe(false);
    backend.set(run.record.taskId!, 'succeeded');
    await clock.advance(10);
    const outcome = await run.outcome;
    expect(outcome).toMatchObject({ kind: 'succeeded', taskId: 'fake-task-1' });
    expect(outcome.kind === 'succeeded' && outcome.taskMs).toBeGreaterThanOrEqual(5_000);
    await settle();
    expect(second.done).toBe(true);
  });

  it('spaces submits at least a second apart, even when a task ends sooner', async () => {
    const clock = new ManualClock();
    const backend = new FakeBackend(clock);
    backend.checksToFinish = 1;
    const lane = laneOn(clock, backend);
    const run = (await lane.acquire(shutdown.signal)).run(submit('job-1'), noting(), shutdown.signal);
    await clock.advance(10);
    expect((await run.outcome).kind).toBe('succeeded');
    const next = track(lane.acquire(shutdown.signal));
    await clock.advance(900);
    expect(next.done).toBe(false);
    await clock.advance(100);
    expect(next.done).toBe(true);
    (await next.value).run(submit('job-2'), noting(), shutdown.signal);
    await settle();
    const [a, b] = backend.submits;
    expect(b!.atMs - a!.atMs).toBeGreaterThanOrEqual(1_000);
  });

  it('reports each step, and a run that is released gives the slot back unused', async () => {
    const clock = new ManualClock();
    const backend = new FakeBackend(clock);
    const lane = laneOn(clock, backend);
    (await lane.acquire(shutdown.signal)).release();
    const hooks = noting();
    const run = (await lane.acquire(shutdown.signal)).run(submit('job-1'), hooks, shutdown.signal);
    await clock.advance(10);
    expect(await run.outcome).toMatchObject({
      kind: 'succeeded',
      outputUrl: 'https://results.test/fake-task-1.mp4',
    });
    expect(hooks.seen).toEqual(['submitting', 'submitted fake-task-1', 'running']);
  });

  it('records who canceled a run and cancels its task while still pending at the backend', async () => {
    const clock = new ManualClock();
    const backend = new FakeBackend(clock);
    backend.hold = true;
    const lane = laneOn(clock, backend);
    const run = (await lane.acquire(shutdown.signal)).run(submit('job-1'), noting(), shutdown.signal);
    await clock.advance(10);
    run.cancel('test:alice');
    run.cancel('test:bob');
    expect(await run.outcome).toEqual({ kind: 'canceled', by: 'test:alice', remote: 'canceled' });
    expect(run.record.canceledBy).toBe('test:alice');
    expect(backend.canceled).toEqual(['fake-task-1']);
  });

  it('leaves a running task alone when canceled (it cannot be stopped there) and says so', async () => {
    const clock = new ManualClock();
    const backend = new FakeBackend(clock);
    backend.hold = true;
    const lane = laneOn(clock, backend);
    const run = (await lane.acquire(shutdown.signal)).run(submit('job-1'), noting(), shutdown.signal);
    await clock.advance(10);
    backend.set('fake-task-1', 'running');
    await clock.advance(10);
    run.cancel('test:op');
    expect(await run.outcome).toEqual({ kind: 'canceled', by: 'test:op', remote: 'running' });
    expect(backend.canceled).toEqual([]);
  });

  it('submits nothing for a run canceled before its submit', async () => {
    const clock = new ManualClock();
    const backend = new FakeBackend(clock);
    const lane = laneOn(clock, backend);
    let proceed = () => {};
    const hooks = noting();
    const run = (await lane.acquire(shutdown.signal)).run(
      submit('job-1'),
      {
        ...hooks,
        submitting: () =>
          new Promise<void>((resolve) => {
            proceed = resolve;
          }),
      },
      shutdown.signal,
    );
    await settle();
    run.cancel('test:alice');
    proceed();
    expect(await run.outcome).toEqual({ kind: 'canceled', by: 'test:alice', remote: 'none' });
    expect(backend.submits).toEqual([]);
  });

  it('stops following on shutdown without canceling anything: the run is interrupted', async () => {
    const clock = new ManualClock();
    const backend = new FakeBackend(clock);
    backend.hold = true;
    const lane = laneOn(clock, backend);
    const stopping = new AbortController();
    const run = (await lane.acquire(stopping.signal)).run(submit('job-1'), noting(), stopping.signal);
    await clock.advance(10);
    stopping.abort();
    expect(await run.outcome).toEqual({ kind: 'interrupted' });
    expect(backend.tasks.get('fake-task-1')!.status).toBe('pending');
    expect(run.record.canceledBy).toBeUndefined();
  });

  it('follows a task submitted before a restart without submitting it again or timing it', async () => {
    const clock = new ManualClock();
    const backend = new FakeBackend(clock);
    backend.checksToFinish = 1;
    const earlier = await backend.submit({ media, styleId: 0, fps: 15 });
    const lane = laneOn(clock, backend);
    const hooks = noting();
    const order: LaneOrder = {
      kind: 'follow',
      jobId: 'job-1',
      taskId: earlier.taskId,
      submittedAtMs: clock.now() - 60_000,
      remote: 'pending',
      expectedMs: 10_000,
    };
    const run = (await lane.acquire(shutdown.signal)).run(order, hooks, shutdown.signal);
    await clock.advance(10);
    expect(await run.outcome).toMatchObject({ kind: 'succeeded', taskId: earlier.taskId, taskMs: undefined });
    expect(backend.submits).toHaveLength(1);
    expect(hooks.seen).toEqual([]);
  });

  it('finds the task of a submit whose reply was lost, skipping tasks other jobs know', async () => {
    const clock = new ManualClock();
    const backend = new FakeBackend(clock);
    const lane = laneOn(clock, backend);
    await backend.submit({ media, styleId: 0, fps: 15 });
    const sinceMs = clock.now();
    expect(
      await lane.lostSubmit('job-1', sinceMs, new Set(['fake-task-1']), shutdown.signal),
    ).toBeUndefined();
    await clock.advance(5);
    await backend.submit({ media, styleId: 1, fps: 15 });
    expect(await lane.lostSubmit('job-1', sinceMs, new Set(['fake-task-1']), shutdown.signal)).toMatchObject({
      taskId: 'fake-task-2',
      status: 'pending',
    });
  });
});

describe('a service with two lanes (one per key)', () => {
  const alice: Requester = { key: 'test:alice' };
  const services: RestyleService[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((service) => service.stop()));
  });

  it('offers each job to whichever lane frees first, and the job names its lane', async () => {
    const fakes = makeFakes();
    const keyA = new FakeBackend(fakes.clock, 'a');
    const keyB = new FakeBackend(fakes.clock, 'b');
    keyA.hold = true;
    keyB.hold = true;
    const taskDeps = { clock: fakes.clock, logger: silentLogger, poll: QUICK_POLL, taskTimeoutMs: 3_600_000 };
    const lanes = [
      new InProcessLane({ ...taskDeps, id: 'key-a', backend: keyA, minSubmitSpacingMs: 0 }),
      new InProcessLane({ ...taskDeps, id: 'key-b', backend: keyB, minSubmitSpacingMs: 0 }),
    ];
    const service = new RestyleService(
      fakeDeps(fakes, { lanes, queueLimits: { maxWaitingPerUser: 10, maxWaitingTotal: 10 } }),
    );
    services.push(service);
    await service.start();
    const ask = async (name: string) => {
      const outcome = await service.request({
        requester: alice,
        delivery: { platform: 'test' },
        inputPath: `/in/${name}.mp4`,
        styleId: 0,
        fps: 15,
        fit: false,
      });
      if (outcome.kind !== 'queued') throw new Error(outcome.kind);
      return outcome.job.id;
    };
    const laneOf = (id: string) => {
      const state = service.job(id)?.state;
      return state?.kind === 'submitted' ? state.laneId : undefined;
    };
    const one = await ask('one');
    const two = await ask('two');
    await until(() => laneOf(one) !== undefined && laneOf(two) !== undefined, 'both lanes busy');
    expect(new Set([laneOf(one), laneOf(two)])).toEqual(new Set(['key-a', 'key-b']));
    const three = await ask('three');
    await settle();
    expect(service.status(three)!.position).toBe(1);
    // Key B's task ends first: the waiting job goes to key B, and its task is followed there.
    const onB = laneOf(one) === 'key-b' ? one : two;
    keyB.set(keyB.last!.taskId, 'succeeded');
    await until(() => laneOf(three) !== undefined, 'the third job to be submitted');
    expect(laneOf(three)).toBe('key-b');
    expect((await service.settled(onB)).state.kind).toBe('delivered');
    expect(keyA.submits).toHaveLength(1);
    expect(keyB.submits).toHaveLength(2);
  });
});
