import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../../../src/core/errors.ts';
import type { RestyleJob } from '../../../src/core/job.ts';
import { SENT_SCOPE } from '../../../src/core/queue/delivery.ts';
import { RestyleService } from '../../../src/core/queue/service.ts';
import { openScope } from '../../../src/core/records.ts';
import { MemoryJobStore } from '../../fakes/memory-store.ts';
import { type Fakes, fakeDeps, makeFakes, RecordingSink, until } from '../../fakes/queue.ts';

/** A store whose process "dies" when it is about to save `delivered`: that write never lands. */
class DyingStore extends MemoryJobStore {
  override save(job: RestyleJob): Promise<void> {
    if (job.state.kind === 'delivered') return new Promise(() => {});
    return super.save(job);
  }
}

const services: RestyleService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.stop()));
});

function serviceOn(fakes: Fakes, overrides: Parameters<typeof fakeDeps>[1] = {}): RestyleService {
  const service = new RestyleService(fakeDeps(fakes, overrides));
  services.push(service);
  return service;
}

async function restyle(service: RestyleService): Promise<string> {
  const outcome = await service.request({
    requester: { key: 'test:alice' },
    delivery: { platform: 'test' },
    inputPath: '/in/a.mp4',
    styleId: 0,
    fps: 15,
    fit: false,
  });
  if (outcome.kind !== 'queued') throw new Error(outcome.kind);
  return outcome.job.id;
}

describe('delivering results', () => {
  it('fetches a finished task’s result once, hands it over, records the receipt, then removes the copy', async () => {
    const fakes = makeFakes();
    const service = serviceOn(fakes);
    await service.start();
    const id = await restyle(service);
    expect((await service.settled(id)).state.kind).toBe('delivered');
    expect(fakes.downloader.calls).toHaveLength(1);
    expect(fakes.sink.delivered).toEqual([{ jobId: id, resultPath: `/results/${id}.mp4` }]);
    expect(await openScope(fakes.store, SENT_SCOPE).get(id)).toMatchObject({
      platform: 'test',
      messageId: 101,
    });
    expect(fakes.files.removed).toContain(`/results/${id}.mp4`);
  });

  it('never calls a sink again for a job it resolved for, even after a crash before `delivered` was saved', async () => {
    const store = new DyingStore();
    const before = makeFakes({ store });
    const dying = new RestyleService(fakeDeps(before));
    await dying.start();
    const id = await restyle(dying);
    await until(() => store.records.has(`delivery.sent:${id}`), 'the receipt to be recorded');
    // The process is gone: its last saved state is `fetched`, but the sink resolved.
    const after = makeFakes({ store: new MemoryJobStore() });
    for (const [key, value] of store.jobs) after.store.jobs.set(key, value);
    for (const [key, value] of store.records) after.store.records.set(key, value);
    after.files.present.add(`/results/${id}.mp4`);
    expect((await after.store.get(id))?.state.kind).toBe('fetched');
    const restarted = serviceOn(after);
    await restarted.start();
    expect((await restarted.settled(id)).state.kind).toBe('delivered');
    expect(before.sink.delivered).toHaveLength(1);
    expect(after.sink.delivered).toHaveLength(0);
  });

  it('asks the platform about a hand-over a crash cut short instead of sending it blindly', async () => {
    /** A sink whose process "dies" once the upload has started: the hand-over never resolves. */
    class DyingSink extends RecordingSink {
      override async deliver(
        _job: RestyleJob,
        _resultPath: string,
        _signal?: AbortSignal,
        beforeSend?: () => Promise<void>,
      ) {
        await beforeSend?.();
        return new Promise<never>(() => {});
      }
    }
    /** A platform that cannot look: it says the hand-over is in doubt rather than send twice. */
    class BlindSink extends RecordingSink {
      readonly asked: string[] = [];
      async resumeInterrupted(job: RestyleJob) {
        this.asked.push(job.id);
        return { uncertain: true };
      }
    }
    const before = makeFakes();
    const dying = new RestyleService(fakeDeps(before, { sinks: new Map([['test', new DyingSink()]]) }));
    await dying.start();
    const id = await restyle(dying);
    await until(() => before.store.records.has(`delivery.sending:${id}`), 'the hand-over to start');
    const after = makeFakes({ store: new MemoryJobStore() });
    for (const [key, value] of before.store.jobs) after.store.jobs.set(key, value);
    for (const [key, value] of before.store.records) after.store.records.set(key, value);
    after.files.present.add(`/results/${id}.mp4`);
    const blind = new BlindSink();
    const restarted = serviceOn(after, { sinks: new Map([['test', blind]]) });
    await restarted.start();
    const delivered = await restarted.settled(id);
    expect(delivered.state).toMatchObject({ kind: 'delivered', uncertain: true });
    expect(blind.asked).toEqual([id]);
    expect(blind.delivered).toHaveLength(0);

    // A sink that cannot be asked gets the result again (at least once rather than never).
    const plain = makeFakes({ store: new MemoryJobStore() });
    for (const [key, value] of before.store.jobs) plain.store.jobs.set(key, value);
    for (const [key, value] of before.store.records) plain.store.records.set(key, value);
    plain.files.present.add(`/results/${id}.mp4`);
    const again = serviceOn(plain);
    await again.start();
    expect((await again.settled(id)).state).toMatchObject({ kind: 'delivered' });
    expect(plain.sink.delivered).toHaveLength(1);
  });

  it('fails the job when the sink cannot hand the result over, recording nothing as sent', async () => {
    const fakes = makeFakes();
    fakes.sink.failWith = new RemoteError({ kind: 'result', code: 'SendFailed', message: 'chat is gone' });
    const service = serviceOn(fakes);
    await service.start();
    const id = await restyle(service);
    expect((await service.settled(id)).state).toMatchObject({
      kind: 'failed',
      failure: { code: 'SendFailed' },
    });
    expect(await openScope(fakes.store, SENT_SCOPE).get(id)).toBeUndefined();
  });

  it('fails with ResultMissing when the fetched file vanished before the hand-over', async () => {
    const fakes = makeFakes();
    await fakes.store.save({
      id: 'gone',
      seq: 1,
      requester: { key: 'test:alice' },
      delivery: { platform: 'test' },
      inputPath: '/in/gone.mp4',
      inputHash: 'sha256:gone',
      styleId: 0,
      fps: 15,
      durationSec: 2,
      changes: [],
      createdAtMs: 0,
      updatedAtMs: 0,
      state: { kind: 'fetched', taskId: 't-1', resultPath: '/results/gone.mp4', cached: false },
    });
    const service = serviceOn(fakes);
    await service.start();
    expect((await service.settled('gone')).state).toMatchObject({
      kind: 'failed',
      failure: { kind: 'result', code: 'ResultMissing' },
    });
    expect(fakes.sink.delivered).toEqual([]);
  });

  it('fails a job whose platform has no sink, naming the platform', async () => {
    const fakes = makeFakes();
    const service = new RestyleService(fakeDeps(fakes, { sinks: new Map([['other', new RecordingSink()]]) }));
    services.push(service);
    await service.start();
    const id = await restyle(service);
    expect((await service.settled(id)).state).toMatchObject({
      kind: 'failed',
      failure: { message: 'no delivery for platform test' },
    });
  });
});
