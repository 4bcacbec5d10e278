import { afterEach, describe, expect, it } from 'vitest';
import type { JobState, Requester, RestyleJob } from '../../../src/core/job.ts';
import { RestyleService, type ServiceDeps } from '../../../src/core/queue/service.ts';
import { SpeedModel } from '../../../src/core/speed.ts';
import { type Fakes, fakeDeps, makeFakes, until } from '../../fakes/queue.ts';

const alice: Requester = { key: 'test:alice' };
const bob: Requester = { key: 'test:bob' };
const media = (name: string) => ({ url: `oss://media.test/in/${name}.mp4`, ossResolve: true });

const services: RestyleService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.stop()));
});

function serviceOn(fakes: Fakes, overrides: Partial<ServiceDeps> = {}): RestyleService {
  const service = new RestyleService(fakeDeps(fakes, overrides));
  services.push(service);
  return service;
}

/** A job as an earlier process saved it. */
function stored(id: string, seq: number, state: JobState, requester = alice): RestyleJob {
  return {
    id,
    seq,
    requester,
    delivery: { platform: 'test' },
    inputPath: `/in/${id}.mp4`,
    inputHash: `sha256:${id}`,
    styleId: 2,
    fps: 15,
    durationSec: 2,
    changes: [],
    createdAtMs: Date.now() - 60_000,
    updatedAtMs: Date.now() - 60_000,
    state,
  };
}

/** Media URLs in the order they were submitted. */
function submitted(fakes: Fakes): string[] {
  return fakes.backend.submits.map((submit) => submit.request.media.url);
}

describe('restarting the service', () => {
  it('resumes waiting jobs in their order and runs them', async () => {
    const fakes = makeFakes();
    await fakes.store.save(stored('w3', 3, { kind: 'waiting' }, bob));
    await fakes.store.save(stored('w1', 1, { kind: 'waiting', media: media('w1') }));
    await fakes.store.save(stored('w2', 2, { kind: 'waiting' }));
    const service = serviceOn(fakes);
    expect((await service.start()).map((job) => job.id)).toEqual(['w1', 'w2', 'w3']);
    const jobs = await Promise.all(['w1', 'w2', 'w3'].map((id) => service.settled(id)));
    expect(jobs.map((job) => job.state.kind)).toEqual(['delivered', 'delivered', 'delivered']);
    // Fair order: bob's first clip before alice's second; w1 was hosted already.
    expect(submitted(fakes)).toEqual([
      media('w1').url,
      'oss://media.test/in/w3.mp4',
      'oss://media.test/in/w2.mp4',
    ]);
  });

  it('polls a task submitted before the restart, never submitting it again nor timing it', async () => {
    const fakes = makeFakes();
    const task = await fakes.backend.submit({ media: media('s'), styleId: 2, fps: 15 });
    // Saved before lanes had ids: followed by the first lane.
    await fakes.store.save(
      stored('s', 1, {
        kind: 'submitted',
        taskId: task.taskId,
        submittedAtMs: Date.now() - 5_000,
        remote: 'pending',
      }),
    );
    const speed = new SpeedModel({ secPerVideoSec: 2, overheadSec: 4 });
    const service = serviceOn(fakes, { speed });
    expect((await service.start()).map((job) => job.id)).toEqual(['s']);
    expect((await service.settled('s')).state).toMatchObject({ kind: 'delivered', taskId: task.taskId });
    expect(fakes.backend.submits).toHaveLength(1);
    expect(speed.sampleCount).toBe(0);
  });

  it('keeps a submitted task across stop and start, with its lane, and follows it to the end', async () => {
    const fakes = makeFakes();
    fakes.backend.hold = true;
    const before = serviceOn(fakes);
    await before.start();
    const outcome = await before.request({
      requester: alice,
      delivery: { platform: 'test' },
      inputPath: '/in/a.mp4',
      styleId: 7,
      fps: 15,
      fit: false,
    });
    const id = outcome.kind === 'queued' ? outcome.job.id : '';
    await until(() => before.job(id)?.state.kind === 'submitted', 'the submit');
    await before.stop();
    expect((await fakes.store.get(id))?.state).toMatchObject({ kind: 'submitted', laneId: 'default' });
    fakes.backend.hold = false;
    const after = serviceOn(fakes);
    expect((await after.start()).map((job) => job.id)).toEqual([id]);
    expect((await after.settled(id)).state.kind).toBe('delivered');
    expect(fakes.backend.submits).toHaveLength(1);
  });

  it('adopts the task of a submit whose reply was lost in a crash', async () => {
    const fakes = makeFakes();
    const startedAtMs = Date.now();
    await fakes.store.save(
      stored('lost', 1, { kind: 'submitting', media: media('lost'), startedAtMs, laneId: 'default' }),
    );
    const task = await fakes.backend.submit({ media: media('lost'), styleId: 2, fps: 15 });
    const service = serviceOn(fakes);
    await service.start();
    expect((await service.settled('lost')).state).toMatchObject({ kind: 'delivered', taskId: task.taskId });
    expect(fakes.backend.submits).toHaveLength(1);
  });

  it('submits again, first in line, when the interrupted submit never arrived', async () => {
    const fakes = makeFakes();
    // A task another job knows is not this one's, even if created after the interrupted submit.
    const startedAtMs = Date.now();
    const other = await fakes.backend.submit({ media: media('other'), styleId: 1, fps: 15 });
    await fakes.store.save(
      stored('done', 1, { kind: 'delivered', taskId: other.taskId, cached: false, atMs: startedAtMs }),
    );
    await fakes.store.save(stored('waiting', 2, { kind: 'waiting' }, bob));
    await fakes.store.save(stored('retry', 3, { kind: 'submitting', media: media('retry'), startedAtMs }));
    const service = serviceOn(fakes);
    expect((await service.start()).map((job) => job.id)).toEqual(['waiting', 'retry']);
    await Promise.all([service.settled('retry'), service.settled('waiting')]);
    expect(submitted(fakes)).toEqual([
      media('other').url,
      media('retry').url,
      'oss://media.test/in/waiting.mp4',
    ]);
    // The hosted media saved with the interrupted submit is used again, not uploaded anew.
    expect(fakes.host.hosted).toEqual(['/in/waiting.mp4']);
  });

  it('delivers a result fetched before the restart and fetches one that was being fetched', async () => {
    const fakes = makeFakes();
    fakes.files.present.add('/results/fetched.mp4');
    await fakes.store.save(
      stored('fetched', 1, {
        kind: 'fetched',
        taskId: 't-1',
        resultPath: '/results/fetched.mp4',
        cached: false,
      }),
    );
    await fakes.store.save(
      stored('fetching', 2, { kind: 'fetching', taskId: 't-2', outputUrl: 'https://results.test/t-2.mp4' }),
    );
    const service = serviceOn(fakes);
    await service.start();
    expect((await service.settled('fetched')).state.kind).toBe('delivered');
    expect((await service.settled('fetching')).state.kind).toBe('delivered');
    expect(fakes.downloader.calls).toEqual(['https://results.test/t-2.mp4']);
    expect(fakes.sink.delivered.map((entry) => entry.jobId).sort()).toEqual(['fetched', 'fetching']);
  });

  it('leaves in the store a job whose lane is not configured now, and jobs the filter skips', async () => {
    const fakes = makeFakes();
    await fakes.store.save(
      stored('elsewhere', 1, {
        kind: 'submitted',
        taskId: 'x-task-1',
        submittedAtMs: Date.now(),
        remote: 'running',
        laneId: 'key-x',
      }),
    );
    await fakes.store.save({
      ...stored('discord', 2, { kind: 'waiting' }),
      delivery: { platform: 'discord' },
    });
    const service = serviceOn(fakes);
    expect(await service.start((job) => job.delivery.platform === 'test')).toEqual([]);
    expect(service.job('elsewhere')).toBeUndefined();
    expect((await fakes.store.get('elsewhere'))?.state.kind).toBe('submitted');
    expect(fakes.backend.tasks.size).toBe(0);
  });

  it('keeps the learned speed across restarts', async () => {
    const fakes = makeFakes();
    const first = serviceOn(fakes, { speed: new SpeedModel({ secPerVideoSec: 2, overheadSec: 4 }) });
    await first.start();
    const outcome = await first.request({
      requester: alice,
      delivery: { platform: 'test' },
      inputPath: '/in/a.mp4',
      styleId: 0,
      fps: 15,
      fit: false,
    });
    await first.settled(outcome.kind === 'queued' ? outcome.job.id : '');
    const speed = new SpeedModel({ secPerVideoSec: 2, overheadSec: 4 });
    await serviceOn(fakes, { speed }).start();
    expect(speed.sampleCount).toBe(1);
    expect([...fakes.store.records.keys()]).toContain('core.speed:model');
  });
});
