import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../../../src/core/errors.ts';
import type { Requester } from '../../../src/core/job.ts';
import { type RequestOutcome, RestyleService, type ServiceDeps } from '../../../src/core/queue/service.ts';
import { SpeedModel } from '../../../src/core/speed.ts';
import { type Fakes, fakeDeps, ManualClock, makeFakes, settle, until } from '../../fakes/queue.ts';

const alice: Requester = { key: 'test:alice' };
const bob: Requester = { key: 'test:bob' };
const carol: Requester = { key: 'test:carol' };
const operator: Requester = { key: 'test:op', operator: true };

const services: RestyleService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.stop()));
});

function serviceOn(fakes: Fakes, overrides: Partial<ServiceDeps> = {}): RestyleService {
  const service = new RestyleService(fakeDeps(fakes, overrides));
  services.push(service);
  return service;
}

function request(
  service: RestyleService,
  requester: Requester,
  inputPath = '/in/a.mp4',
  styleId = 0,
  fit = false,
) {
  return service.request({ requester, delivery: { platform: 'test' }, inputPath, styleId, fps: 15, fit });
}

function queuedId(outcome: RequestOutcome): string {
  if (outcome.kind !== 'queued') throw new Error(`expected queued, got ${JSON.stringify(outcome)}`);
  return outcome.job.id;
}

describe('RestyleService', () => {
  it('serves requesters round-robin: a user with three clips waits behind the others’ first', async () => {
    const fakes = makeFakes();
    fakes.backend.hold = true;
    const service = serviceOn(fakes);
    await service.start();
    const ids = [
      queuedId(await request(service, alice, '/in/a1.mp4')),
      queuedId(await request(service, alice, '/in/a2.mp4')),
      queuedId(await request(service, alice, '/in/a3.mp4')),
      queuedId(await request(service, bob, '/in/b1.mp4')),
      queuedId(await request(service, carol, '/in/c1.mp4')),
    ];
    fakes.backend.hold = false;
    const jobs = await Promise.all(ids.map((id) => service.settled(id)));
    expect(jobs.map((job) => job.state.kind)).toEqual(Array(5).fill('delivered'));
    const submitted = fakes.backend.submits.map((submit) =>
      submit.request.media.url.replace('oss://media.test', ''),
    );
    // a1 took the lane at once; then everyone's first clip before alice's next ones.
    expect(submitted).toEqual(['/in/a1.mp4', '/in/b1.mp4', '/in/c1.mp4', '/in/a2.mp4', '/in/a3.mp4']);
    expect(fakes.sink.delivered.map((entry) => entry.jobId).sort()).toEqual([...ids].sort());
  });

  it('refuses past the per-user cap and the global cap, saying which', async () => {
    const fakes = makeFakes();
    fakes.backend.hold = true;
    const service = serviceOn(fakes, { queueLimits: { maxWaitingPerUser: 2, maxWaitingTotal: 3 } });
    await service.start();
    const head = queuedId(await request(service, alice));
    await until(() => service.job(head)?.state.kind === 'submitted', 'the head to hold the lane');
    queuedId(await request(service, alice, '/in/2.mp4'));
    queuedId(await request(service, alice, '/in/3.mp4'));
    expect(await request(service, alice, '/in/4.mp4')).toEqual({
      kind: 'refused',
      reason: 'user-cap',
      limit: 2,
    });
    queuedId(await request(service, bob, '/in/5.mp4'));
    expect(await request(service, carol, '/in/6.mp4')).toEqual({
      kind: 'refused',
      reason: 'queue-full',
      limit: 3,
    });
    // Operators are not held to the per-user cap, only to the global one.
    expect(await request(service, operator, '/in/7.mp4')).toMatchObject({
      kind: 'refused',
      reason: 'queue-full',
    });
  });

  it('counts clips still being checked against the per-user cap: a burst queues only the cap', async () => {
    const fakes = makeFakes();
    fakes.backend.hold = true;
    let openProbe = () => {};
    fakes.probe.gate = new Promise((resolve) => {
      openProbe = resolve;
    });
    const service = serviceOn(fakes, { queueLimits: { maxWaitingPerUser: 2, maxWaitingTotal: 50 } });
    await service.start();
    const burst = Array.from({ length: 5 }, (_, n) => request(service, alice, `/in/burst-${n}.mp4`));
    await settle();
    openProbe();
    const outcomes = await Promise.all(burst);
    expect(outcomes.filter((outcome) => outcome.kind === 'queued')).toHaveLength(2);
    expect(outcomes.filter((outcome) => outcome.kind === 'refused')).toEqual(
      Array(3).fill({ kind: 'refused', reason: 'user-cap', limit: 2 }),
    );
    // Refused clips were never probed; places held while checking were given back.
    expect(fakes.probe.calls).toHaveLength(2);
    expect((await request(service, bob, '/in/bob.mp4')).kind).toBe('queued');
  });

  it('rejects clips longer than 30 s with every reason before any remote call', async () => {
    const fakes = makeFakes();
    fakes.probe.facts('/in/long.mp4', {
      durationSec: 31,
      displayWidth: 640,
      displayHeight: 320,
      width: 640,
      height: 320,
    });
    const service = serviceOn(fakes);
    await service.start();
    const outcome = await request(service, alice, '/in/long.mp4');
    expect(outcome).toMatchObject({
      kind: 'rejected',
      unfixable: false,
      violations: [{ code: 'duration-too-long' }, { code: 'aspect-too-wide' }],
    });
    expect(service.waitingCount).toBe(0);
    expect(fakes.host.hosted).toEqual([]);
    expect(fakes.backend.submits).toEqual([]);
  });

  it('fits a clip by the plan decided at intake, probing the input only once', async () => {
    const fakes = makeFakes();
    fakes.probe.facts('/in/long.mp4', { durationSec: 31 });
    const service = serviceOn(fakes);
    await service.start();
    const outcome = await request(service, alice, '/in/long.mp4', 0, true);
    const id = queuedId(outcome);
    // The planned cut stops 1.5 frames short of 30 s so that the last frame ends inside the limit.
    expect(outcome.kind === 'queued' && outcome.job.changes).toEqual([
      { kind: 'trim', fromSec: 31, toSec: 29.95 },
    ]);
    expect((await service.settled(id)).state.kind).toBe('delivered');
    expect(fakes.transcoder.fits).toHaveLength(1);
    // The input is probed once, at intake; the fitted copy once, to check it and measure its notes.
    expect(fakes.probe.calls).toEqual(['/in/long.mp4', fakes.transcoder.fits[0]!.outputPath]);
    expect(fakes.transcoder.fits[0]!.plan).toEqual(service.job(id)!.plan);
    // The fitted copy is what was uploaded, and it is removed once hosted.
    expect(fakes.host.hosted).toEqual([fakes.transcoder.fits[0]!.outputPath]);
    expect(fakes.files.removed).toContain(fakes.transcoder.fits[0]!.outputPath);
  });

  it('cancels in every state: waiting, pending at DashScope, running, and refuses others', async () => {
    const fakes = makeFakes();
    fakes.backend.hold = true;
    const service = serviceOn(fakes);
    await service.start();
    const first = queuedId(await request(service, alice, '/in/1.mp4'));
    const second = queuedId(await request(service, alice, '/in/2.mp4'));
    const third = queuedId(await request(service, bob, '/in/3.mp4'));
    // A waiting job: only its requester (or an operator) may cancel it.
    expect(await service.cancel(third, alice)).toEqual({ kind: 'not-allowed' });
    expect(await service.cancel(third, bob)).toMatchObject({
      kind: 'canceled',
      job: { state: { kind: 'canceled', by: 'test:bob', remote: 'none' } },
    });
    // The first job's task is PENDING at DashScope: canceled there too.
    await until(() => service.job(first)?.state.kind === 'submitted', 'the first submit');
    expect(await service.cancel(first, alice)).toMatchObject({
      kind: 'canceled',
      job: { state: { kind: 'canceled', by: 'test:alice', remote: 'canceled' } },
    });
    expect(fakes.backend.canceled).toEqual([fakes.backend.submits[0]!.taskId]);
    // The second runs at DashScope: too late for its requester, an operator may still stop it.
    await until(() => service.job(second)?.state.kind === 'submitted', 'the second submit');
    fakes.backend.set(fakes.backend.submits[1]!.taskId, 'running');
    await until(() => {
      const state = service.job(second)?.state;
      return state?.kind === 'submitted' && state.remote === 'running';
    }, 'the second task to run');
    expect(await service.cancel(second, alice)).toEqual({ kind: 'too-late', state: 'submitted' });
    expect(await service.cancel(second, operator)).toMatchObject({
      kind: 'canceled',
      job: { state: { kind: 'canceled', by: 'test:op', remote: 'running' } },
    });
    expect(await service.cancel('no-such-job', operator)).toEqual({ kind: 'not-found' });
    expect(await service.cancel(first, alice)).toEqual({ kind: 'too-late', state: 'canceled' });
  });

  it('gives waiting jobs positions and ETAs that follow the clock and the learned speed', async () => {
    const clock = new ManualClock();
    const fakes = makeFakes({ clock });
    fakes.backend.hold = true;
    const speed = new SpeedModel({ secPerVideoSec: 2, overheadSec: 4 });
    const service = serviceOn(fakes, { speed });
    await service.start();
    const head = queuedId(await request(service, alice, '/in/head.mp4'));
    await clock.advance(0);
    expect(service.job(head)?.state.kind).toBe('submitted');
    const a = queuedId(await request(service, alice, '/in/a.mp4'));
    const b = queuedId(await request(service, bob, '/in/b.mp4'));
    const taskMs = speed.expectedMs(2);
    const first = service.status(a)!;
    const second = service.status(b)!;
    // alice was just served, so bob's first clip goes before her second.
    expect([second.position, first.position]).toEqual([1, 2]);
    expect(service.status(head)!.etaMs).toBe(taskMs);
    expect(second.etaMs).toBe(taskMs + taskMs);
    expect(first.etaMs).toBe(second.etaMs! + taskMs);
    await clock.advance(2_000);
    expect(service.status(a)!.etaMs).toBe(first.etaMs! - 2_000);
    expect(service.status(head)).toMatchObject({ elapsedMs: 2_000, etaMs: taskMs - 2_000 });
    // Learning that tasks take twice the estimate doubles the waiting jobs' own tasks.
    speed.observe(2 * speed.expectedMs(10), 10);
    expect(service.status(b)!.etaMs).toBe(taskMs - 2_000 + 2 * taskMs);
  });

  it('notifies once per change, however many jobs wait', async () => {
    const fakes = makeFakes();
    fakes.backend.hold = true;
    const service = serviceOn(fakes, { queueLimits: { maxWaitingPerUser: 100, maxWaitingTotal: 100 } });
    await service.start();
    const head = queuedId(await request(service, alice));
    await until(() => service.job(head)?.state.kind === 'submitted', 'the head to hold the lane');
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, n) => request(service, { key: `test:user${n}` }, `/in/${n}.mp4`)),
    );
    const waiting = outcomes
      .map(queuedId)
      .sort((x, y) => service.status(x)!.position! - service.status(y)!.position!);
    expect(waiting.map((id) => service.status(id)!.position)).toEqual(
      Array.from({ length: 40 }, (_, n) => n + 1),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    let notifications = 0;
    service.onChange(() => {
      notifications += 1;
    });
    await service.cancel(waiting[0]!, operator);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(notifications).toBe(1);
    expect(service.status(waiting[39]!)!.position).toBe(39);
  });

  it('tells observers each step: queued, started, progress, fetched, delivered', async () => {
    const fakes = makeFakes();
    const service = serviceOn(fakes);
    await service.start();
    const seen: string[] = [];
    const outcome = await service.request(
      {
        requester: alice,
        delivery: { platform: 'test' },
        inputPath: '/in/a.mp4',
        styleId: 1,
        fps: 15,
        fit: false,
      },
      (event) => {
        if (seen.at(-1) !== event.type) seen.push(event.type);
      },
    );
    await service.settled(queuedId(outcome));
    expect(seen).toEqual(['queued', 'started', 'progress', 'fetched', 'delivered']);
  });

  it('reuses a result for the same input, style and fps instead of paying again', async () => {
    const fakes = makeFakes();
    const service = serviceOn(fakes);
    await service.start();
    const first = await service.settled(queuedId(await request(service, alice, '/in/a.mp4', 5)));
    expect(first.state.kind).toBe('delivered');
    fakes.files.sameBytes.set('/in/copy.mp4', '/in/a.mp4');
    const again = await request(service, bob, '/in/copy.mp4', 5);
    expect(again.kind).toBe('cached');
    const job = await service.settled(again.kind === 'cached' ? again.job.id : '');
    expect(job.state).toMatchObject({ kind: 'delivered', cached: true });
    expect(fakes.backend.submits).toHaveLength(1);
    expect((await request(service, bob, '/in/copy.mp4', 6)).kind).toBe('queued');
  });

  it('answers the same clip in the same style, sent again by the same person, with the job on its way', async () => {
    const fakes = makeFakes();
    fakes.backend.hold = true;
    const service = serviceOn(fakes);
    await service.start();
    const first = await request(service, alice, '/in/a.mp4', 5);
    fakes.files.sameBytes.set('/in/again.mp4', '/in/a.mp4');
    const again = await request(service, alice, '/in/again.mp4', 5);
    expect(again).toMatchObject({ kind: 'duplicate', job: { id: queuedId(first) } });
    // Another style, or another person, is a request of its own.
    expect((await request(service, alice, '/in/again.mp4', 6)).kind).toBe('queued');
    expect((await request(service, bob, '/in/again.mp4', 5)).kind).toBe('queued');
    expect(service.jobsOf(alice.key)).toHaveLength(2);
  });

  it('restyles afresh when a reused result cannot be fetched any more', async () => {
    const fakes = makeFakes();
    const service = serviceOn(fakes);
    await service.start();
    await service.settled(queuedId(await request(service, alice, '/in/a.mp4')));
    fakes.downloader.gone.add(`https://results.test/${fakes.backend.submits[0]!.taskId}.mp4`);
    const again = await request(service, bob, '/in/a.mp4');
    expect(again.kind).toBe('cached');
    const job = await service.settled(again.kind === 'cached' ? again.job.id : '');
    expect(job.state).toMatchObject({ kind: 'delivered', cached: false });
    expect(fakes.backend.submits).toHaveLength(2);
  });

  it('records a failed task with its code and task id, and serves the next job', async () => {
    const fakes = makeFakes();
    fakes.backend.hold = true;
    const service = serviceOn(fakes);
    await service.start();
    const failing = queuedId(await request(service, alice, '/in/a.mp4'));
    const next = queuedId(await request(service, bob, '/in/b.mp4'));
    await until(() => service.job(failing)?.state.kind === 'submitted', 'the submit');
    fakes.backend.set(fakes.backend.submits[0]!.taskId, 'failed');
    const failed = await service.settled(failing);
    expect(failed.state).toMatchObject({
      kind: 'failed',
      failure: { kind: 'task-failed', code: 'InternalError.Algo', taskId: fakes.backend.submits[0]!.taskId },
    });
    fakes.backend.hold = false;
    expect((await service.settled(next)).state.kind).toBe('delivered');
  });

  it('fails a job whose submit is refused, without holding the lane', async () => {
    const fakes = makeFakes();
    fakes.backend.failNextSubmit = new RemoteError({
      kind: 'parameter',
      code: 'InvalidParameter',
      message: 'bad',
    });
    const service = serviceOn(fakes);
    await service.start();
    const refused = queuedId(await request(service, alice, '/in/a.mp4'));
    const next = queuedId(await request(service, bob, '/in/b.mp4'));
    expect((await service.settled(refused)).state).toMatchObject({
      kind: 'failed',
      failure: { code: 'InvalidParameter' },
    });
    expect((await service.settled(next)).state.kind).toBe('delivered');
  });

  it('lists a requester’s unfinished jobs, oldest first, and refuses requests once stopped', async () => {
    const fakes = makeFakes();
    fakes.backend.hold = true;
    const service = serviceOn(fakes);
    await service.start();
    const ids = [
      queuedId(await request(service, alice, '/in/1.mp4')),
      queuedId(await request(service, alice, '/in/2.mp4')),
    ];
    queuedId(await request(service, bob, '/in/3.mp4'));
    expect(service.jobsOf(alice.key).map((job) => job.id)).toEqual(ids);
    await service.stop();
    expect(await request(service, alice, '/in/4.mp4')).toEqual({
      kind: 'refused',
      reason: 'stopped',
      limit: 0,
    });
  });
});
