import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../../../src/core/errors.ts';
import type { Requester } from '../../../src/core/job.ts';
import { InProcessLane } from '../../../src/core/queue/lane.ts';
import { RestyleService, type ServiceDeps } from '../../../src/core/queue/service.ts';
import { SetAside } from '../../../src/core/queue/set-aside.ts';
import { STYLES } from '../../../src/core/styles.ts';
import { silentLogger } from '../../../src/logger.ts';
import { statusText, viewOfStatus } from '../../../src/text/status.ts';
import {
  FakeBackend,
  FakeHost,
  type Fakes,
  fakeDeps,
  ManualClock,
  makeFakes,
  QUICK_POLL,
  until,
} from '../../fakes/queue.ts';

const alice: Requester = { key: 'test:alice' };
const bob: Requester = { key: 'test:bob' };
const invalidKey = () =>
  new RemoteError({ kind: 'auth', code: 'InvalidApiKey', message: 'Invalid API-key provided.', status: 401 });
const arrears = () =>
  new RemoteError({
    kind: 'billing',
    code: 'Arrearage',
    message: 'Access denied: account in arrears.',
    status: 400,
  });

/** A refused key is left alone this long in these tests (real time, kept short). */
const RETRY_MS = 150;

interface Pool {
  readonly fakes: Fakes;
  readonly keys: FakeBackend[];
  readonly service: RestyleService;
}

describe('SetAside', () => {
  it('leaves a refused key alone for a pause that doubles with each refusal, up to the longest', () => {
    const clock = new ManualClock();
    const aside = new SetAside(clock, { firstMs: 1_000, longestMs: 3_000 });
    expect(aside.health()).toEqual({ state: 'ready' });
    expect(aside.refuse('InvalidApiKey')).toBe(1_000);
    expect(aside.health()).toMatchObject({
      state: 'out',
      code: 'InvalidApiKey',
      retryAtMs: clock.now() + 1_000,
    });
    clock.nowMs += 1_000;
    expect(aside.health()).toEqual({ state: 'ready' });
    expect(aside.refuse('Arrearage')).toBe(2_000);
    expect(aside.refuse('Arrearage')).toBe(3_000);
    aside.accept();
    expect(aside.health()).toEqual({ state: 'ready' });
    expect(aside.refuse('InvalidApiKey')).toBe(1_000);
  });
});

describe('a pool of keys', () => {
  const services: RestyleService[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((service) => service.stop()));
  });

  async function pool(count: number, overrides: Partial<ServiceDeps> = {}): Promise<Pool> {
    const fakes = makeFakes();
    const keys = Array.from({ length: count }, (_, i) => new FakeBackend(fakes.clock, `k${i}`));
    const taskDeps = { clock: fakes.clock, logger: silentLogger, poll: QUICK_POLL, taskTimeoutMs: 3_600_000 };
    const lanes = keys.map(
      (backend, i) =>
        new InProcessLane({
          ...taskDeps,
          id: `key-${i}`,
          backend,
          minSubmitSpacingMs: 0,
          setAside: { firstMs: RETRY_MS, longestMs: RETRY_MS },
        }),
    );
    const service = new RestyleService(
      fakeDeps(fakes, { lanes, queueLimits: { maxWaitingPerUser: 20, maxWaitingTotal: 50 }, ...overrides }),
    );
    services.push(service);
    await service.start();
    return { fakes, keys, service };
  }

  async function ask(service: RestyleService, requester: Requester, name: string): Promise<string> {
    const outcome = await service.request({
      requester,
      delivery: { platform: 'test' },
      inputPath: `/in/${name}.mp4`,
      styleId: 0,
      fps: 15,
      fit: false,
    });
    if (outcome.kind !== 'queued') throw new Error(outcome.kind);
    return outcome.job.id;
  }

  it('moves the jobs of a key refused at submit to the other keys, and tries the key again later', async () => {
    const { keys, service } = await pool(3);
    keys[1]!.refuseWith = invalidKey();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await ask(service, i % 2 ? alice : bob, `clip-${i}`));
    const ended = await Promise.all(ids.map((id) => service.settled(id)));
    expect(ended.map((job) => job.state.kind)).toEqual(Array(6).fill('delivered'));
    expect(keys[1]!.submits).toHaveLength(0);
    expect(keys[0]!.submits.length + keys[2]!.submits.length).toBe(6);
    // The key works again: after its pause it takes jobs like the others.
    keys[1]!.refuseWith = undefined;
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    keys[0]!.hold = true;
    keys[2]!.hold = true;
    const more = [
      await ask(service, alice, 'later-1'),
      await ask(service, bob, 'later-2'),
      await ask(service, alice, 'later-3'),
    ];
    await until(() => keys[1]!.submits.length === 1, 'the returning key to take a job');
    keys[0]!.hold = false;
    keys[2]!.hold = false;
    for (const key of [keys[0]!, keys[2]!])
      for (const task of key.tasks.values()) key.set(task.taskId, 'succeeded');
    const later = await Promise.all(more.map((id) => service.settled(id)));
    expect(later.map((job) => job.state.kind)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('holds every job while all keys are refused, says so in both languages, and goes on when one is back', async () => {
    const { keys, service } = await pool(2);
    for (const key of keys) key.refuseWith = arrears();
    const first = await ask(service, alice, 'one');
    const second = await ask(service, bob, 'two');
    await until(() => service.status(second)?.held === 'keys-out', 'the queue to be held');
    const status = service.status(second)!;
    expect(status.position).toBeGreaterThanOrEqual(1);
    const view = viewOfStatus(status)!;
    expect(statusText(view, STYLES[0]!, 'en')).toContain('DashScope is refusing every key');
    expect(statusText(view, STYLES[0]!, 'zh')).toContain('拒绝了本机器人的所有 API Key');
    expect(service.job(first)!.state.kind).toBe('waiting');
    // Nothing is lost while held; the first key back takes both jobs.
    keys[0]!.refuseWith = undefined;
    const ended = await Promise.all([service.settled(first), service.settled(second)]);
    expect(ended.map((job) => job.state.kind)).toEqual(['delivered', 'delivered']);
    expect(keys[0]!.submits).toHaveLength(2);
    expect(keys[1]!.submits).toHaveLength(0);
  });

  it('keeps a task with the key that submitted it when that key is refused mid-task', async () => {
    const { keys, service } = await pool(2);
    keys[0]!.hold = true;
    keys[1]!.hold = true;
    const id = await ask(service, alice, 'one');
    await until(() => service.job(id)?.state.kind === 'submitted', 'the submit');
    const state = service.job(id)!.state as { laneId: string; taskId: string };
    const owner = keys[Number(state.laneId.slice('key-'.length))]!;
    owner.refuseWith = invalidKey();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(service.job(id)!.state).toMatchObject({
      kind: 'submitted',
      taskId: state.taskId,
      laneId: state.laneId,
    });
    owner.refuseWith = undefined;
    owner.hold = false;
    owner.set(state.taskId, 'succeeded');
    expect((await service.settled(id)).state.kind).toBe('delivered');
    expect(keys[0]!.submits.length + keys[1]!.submits.length).toBe(1);
  });

  it("hosts the input again for another key when only the refused key's upload could read it", async () => {
    const host = new FakeHost(true);
    const { keys, service } = await pool(2, { host, prepareAhead: 0 });
    keys[0]!.refuseWith = invalidKey();
    keys[1]!.hold = true;
    const blocker = await ask(service, bob, 'blocker');
    await until(() => service.job(blocker)?.state.kind === 'submitted', 'key 1 to be busy');
    const id = await ask(service, alice, 'one');
    // Key 0 uploads and submits, is refused; the job waits for key 1, which uploads it again.
    await until(() => host.lanes.filter((lane) => lane === 'key-0').length >= 1, 'an upload with key 0');
    keys[1]!.hold = false;
    for (const task of keys[1]!.tasks.values()) keys[1]!.set(task.taskId, 'succeeded');
    expect((await service.settled(id)).state.kind).toBe('delivered');
    expect(keys[1]!.submits.at(-1)!.request.media.laneId).toBe('key-1');
    expect(host.lanes.filter((lane) => lane === 'key-1').length).toBe(2);
  });

  it('ends the jobs with the key failure when every key is refused and nobody waits (keysOut: fail)', async () => {
    const { keys, service } = await pool(2, { keysOut: 'fail' });
    for (const key of keys) key.refuseWith = invalidKey();
    const ids = [await ask(service, alice, 'one'), await ask(service, bob, 'two')];
    const ended = await Promise.all(ids.map((id) => service.settled(id)));
    for (const job of ended) {
      expect(job.state).toMatchObject({ kind: 'failed', failure: { kind: 'auth', code: 'InvalidApiKey' } });
    }
  });
});
