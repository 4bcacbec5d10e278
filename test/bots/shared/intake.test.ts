// The shared chat intake on in-memory ports: no HTTP, no platform SDK. A platform is a
// `ChatSurface`; this one records what it was asked to show, as a third platform's would.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatIntake, type ChatRequest } from '../../../src/bots/shared/intake.ts';
import { DailyQuota } from '../../../src/bots/shared/quota.ts';
import {
  type ChatSurface,
  type ClipFetch,
  INTAKE_SCOPE,
  type IntakeNotice,
  type IntakeRecord,
} from '../../../src/bots/shared/surface.ts';
import type { Delivery, RestyleJob } from '../../../src/core/job.ts';
import type { JobEvent } from '../../../src/core/queue/service.ts';
import { RestyleService } from '../../../src/core/queue/service.ts';
import { openScope } from '../../../src/core/records.ts';
import { silentLogger } from '../../../src/logger.ts';
import { MemoryJobStore } from '../../fakes/memory-store.ts';
import { type Fakes, fakeDeps, makeFakes, until } from '../../fakes/queue.ts';
import { tempDir } from '../../helpers/media.ts';

/** A chat platform in memory: notices and followed jobs are recorded; clips come from a table. */
class MemorySurface implements ChatSurface {
  readonly platform = 'memory';
  readonly notices: { requestId: string; notice: IntakeNotice; recordedFirst: boolean }[] = [];
  readonly followed = new Map<string, { requestId: string; events: JobEvent['type'][] }>();
  /** How each clip's fetch ends (fetched by default). */
  readonly outcomes = new Map<string, ClipFetch>();
  /** While set, every fetch waits for it. */
  gate: Promise<void> | undefined;
  fetches = 0;
  private statusIds = 0;

  constructor(
    private readonly fakes: Fakes,
    private readonly store: MemoryJobStore,
  ) {}

  async notify(request: IntakeRecord, notice: IntakeNotice): Promise<IntakeRecord['address']> {
    const recordedFirst = (await openScope(this.store, INTAKE_SCOPE).get(request.id)) !== undefined;
    this.notices.push({ requestId: request.id, notice, recordedFirst });
    if (request.address.statusId !== undefined) return request.address;
    return { ...request.address, statusId: ++this.statusIds };
  }

  async fetchClip(request: IntakeRecord, destPath: string): Promise<ClipFetch> {
    this.fetches += 1;
    if (this.gate) await this.gate;
    const outcome = this.outcomes.get(String(request.clip.name)) ?? { kind: 'fetched', bytes: 1_000 };
    if (outcome.kind === 'fetched') this.fakes.files.present.add(destPath);
    return outcome;
  }

  deliveryOf(request: IntakeRecord): Delivery {
    return { platform: 'memory', statusId: Number(request.address.statusId) };
  }

  follow(request: IntakeRecord, job: RestyleJob, missed: readonly JobEvent[]): void {
    this.followed.set(job.id, { requestId: request.id, events: missed.map((event) => event.type) });
  }

  handle(jobId: string, event: JobEvent): void {
    this.followed.get(jobId)?.events.push(event.type);
  }

  kinds(requestId: string): IntakeNotice['kind'][] {
    return this.notices.filter((n) => n.requestId === requestId).map((n) => n.notice.kind);
  }
}

interface Rig {
  readonly fakes: Fakes;
  readonly store: MemoryJobStore;
  readonly service: RestyleService;
  readonly surface: MemorySurface;
  readonly intake: ChatIntake;
}

const running: Rig[] = [];
afterEach(async () => {
  for (const rig of running.splice(0)) {
    rig.surface.gate = undefined;
    await rig.service.stop();
  }
});

/** A service and an intake on one store; a second rig on the same store is the process after a crash. */
async function rig(
  options: { store?: MemoryJobStore; cap?: number; quota?: number; inputsDir?: string } = {},
): Promise<Rig> {
  const store = options.store ?? new MemoryJobStore();
  const fakes = makeFakes({ store });
  const service = new RestyleService(
    fakeDeps(fakes, {
      sinks: new Map([['memory', fakes.sink]]),
      queueLimits: { maxWaitingPerUser: options.cap ?? 5, maxWaitingTotal: 50 },
    }),
  );
  await service.start();
  const surface = new MemorySurface(fakes, store);
  const intake = new ChatIntake(
    {
      service,
      store,
      files: fakes.files,
      inputsDir: options.inputsDir ?? (await tempDir('restyle-intake-')),
      videoLimits: fakeDeps(fakes).limits,
      quota: new DailyQuota(store, options.quota ?? 0),
      maxWaitingPerUser: options.cap ?? 5,
      logger: silentLogger,
    },
    surface,
  );
  const made = { fakes, store, service, surface, intake };
  running.push(made);
  return made;
}

let counter = 0;
function ask(overrides: Partial<ChatRequest> = {}, clip = `clip-${++counter}`): ChatRequest {
  return {
    id: `memory-${++counter}`,
    requester: { key: 'memory:alice', name: 'alice' },
    locale: 'en',
    styleId: 2,
    fps: 15,
    fit: false,
    clip: { name: clip },
    address: { chat: 1 },
    extension: '.mp4',
    ...overrides,
  };
}

function records(store: MemoryJobStore) {
  return openScope(store, INTAKE_SCOPE).list();
}

describe('the chat intake', () => {
  it('records a request before acknowledging it, then queues, follows and delivers it', async () => {
    const { intake, surface, store, fakes } = await rig();
    const request = ask();
    expect(await intake.accept(request)).toBe('accepted');
    expect(surface.notices[0]).toMatchObject({ notice: { kind: 'checking' }, recordedFirst: true });
    await until(() => surface.followed.size === 1, 'the job to be followed');
    const [jobId, followed] = [...surface.followed][0]!;
    expect(followed.requestId).toBe(request.id);
    await until(() => fakes.sink.delivered.length === 1, 'the delivery');
    expect(fakes.sink.delivered[0]!.jobId).toBe(jobId);
    // The job carries the request now: its record is gone, and the job names it.
    expect(await records(store)).toEqual([]);
    expect((await store.get(jobId))?.delivery).toMatchObject({
      platform: 'memory',
      intakeId: request.id,
      statusId: 1,
    });
    expect(surface.kinds(request.id)).toEqual(['checking']);
  });

  it('takes a request delivered twice (a redelivered update) in once', async () => {
    const { intake, surface } = await rig();
    surface.gate = new Promise(() => undefined);
    const request = ask();
    expect(await intake.accept(request)).toBe('accepted');
    expect(await intake.accept(request)).toBe('duplicate');
    expect(surface.kinds(request.id)).toEqual(['checking']);
  });

  it('knows a request taken in before, after a restart and after its job ended', async () => {
    const store = new MemoryJobStore();
    const first = await rig({ store });
    const request = ask();
    expect(await first.intake.known(request.id)).toBe(false);
    await first.intake.accept(request);
    expect(await first.intake.known(request.id)).toBe(true);
    await until(() => first.fakes.sink.delivered.length === 1, 'the delivery');

    const after = await rig({ store });
    await after.intake.resume();
    expect(await after.intake.known(request.id)).toBe(true);
    expect(await after.intake.accept(request)).toBe('duplicate');
    expect(after.fakes.backend.submits).toHaveLength(0);
    expect(after.surface.notices).toEqual([]);
  });

  it('finishes a request acknowledged before a crash, with one job, in the same status message', async () => {
    const store = new MemoryJobStore();
    const inputsDir = await tempDir('restyle-intake-');
    const before = await rig({ store, inputsDir });
    // The process dies while the clip downloads: its fetch never returns.
    before.surface.gate = new Promise(() => undefined);
    const request = ask();
    await before.intake.accept(request);
    await until(() => before.surface.fetches === 1, 'the download to start');

    const after = await rig({ store, inputsDir });
    expect(await after.intake.resume()).toBe(1);
    await until(() => after.fakes.sink.delivered.length === 1, 'the delivery after the restart');
    expect(after.fakes.backend.submits).toHaveLength(1);
    // The status it had is the one it keeps: no second acknowledgement message.
    expect(after.surface.notices.map((n) => n.notice.kind)).toEqual(['checking']);
    expect(await records(store)).toEqual([]);
    expect(await after.intake.resume()).toBe(0);
  });

  it('does not queue twice a request the queue took just before a crash', async () => {
    const store = new MemoryJobStore();
    const first = await rig({ store });
    const request = ask();
    await first.intake.accept(request);
    await until(() => first.surface.followed.size === 1, 'the job');
    // As if the process died before the record was removed.
    const stored = (await store.list())[0]!;
    await openScope(store, INTAKE_SCOPE).set(request.id, {
      id: request.id,
      platform: 'memory',
      requester: request.requester,
      locale: 'en',
      styleId: 2,
      fps: 15,
      fit: false,
      clip: request.clip,
      address: { chat: 1, statusId: 1 },
      inputPath: stored.inputPath,
      downloaded: true,
      createdAtMs: Date.now(),
    });
    const second = await rig({ store });
    expect(await second.intake.resume()).toBe(0);
    expect(await records(store)).toEqual([]);
    expect(second.surface.fetches).toBe(0);
  });

  it('says plainly when a clip cannot be fetched again after a restart, and keeps no file', async () => {
    const { intake, surface, fakes, store } = await rig();
    const request = ask({}, 'signed-url-gone');
    surface.outcomes.set('signed-url-gone', { kind: 'lost' });
    await intake.accept(request);
    await until(() => surface.notices.length === 2, 'the final notice');
    expect(surface.kinds(request.id)).toEqual(['checking', 'interrupted']);
    expect(fakes.files.removed.some((path) => path.endsWith(`${request.id}.mp4`))).toBe(true);
    expect(await records(store)).toEqual([]);
    expect(fakes.backend.submits).toHaveLength(0);
  });

  it('counts clips still being checked against the per-user cap', async () => {
    const { intake, surface } = await rig({ cap: 2 });
    surface.gate = new Promise(() => undefined);
    const outcomes = await Promise.all([1, 2, 3, 4].map(() => intake.accept(ask())));
    expect(outcomes).toEqual(['accepted', 'accepted', 'answered', 'answered']);
    const refusals = surface.notices.filter((n) => n.notice.kind === 'refused');
    expect(refusals.map((n) => n.notice)).toEqual([
      { kind: 'refused', reason: 'user-cap', limit: 2 },
      { kind: 'refused', reason: 'user-cap', limit: 2 },
    ]);
    // Another person is not held back by alice's clips.
    expect(await intake.accept(ask({ requester: { key: 'memory:bob' } }))).toBe('accepted');
  });

  it('counts clips still being checked against the daily quota, and spends it once queued', async () => {
    const { intake, surface, store } = await rig({ quota: 1 });
    let open: () => void = () => undefined;
    surface.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    expect(await intake.accept(ask())).toBe('accepted');
    expect(await intake.accept(ask())).toBe('answered');
    expect(surface.notices.at(-1)?.notice.kind).toBe('quota-used');
    open();
    await until(() => surface.followed.size === 1, 'the job');
    expect(await new DailyQuota(store, 1).left('memory:alice')).toBe(0);
  });

  it('ends a clip that breaks limits with every reason, offers fitting, and removes its input', async () => {
    const inputsDir = await tempDir('restyle-intake-');
    const { intake, surface, fakes, store } = await rig({ inputsDir });
    const request = ask();
    const inputPath = join(inputsDir, `${request.id}.mp4`);
    fakes.probe.facts(inputPath, { durationSec: 31 });
    await intake.accept(request);
    await until(() => surface.notices.length === 2, 'the answer');
    expect(surface.notices[1]!.notice).toMatchObject({
      kind: 'rejected',
      fixable: true,
      violations: [{ code: 'duration-too-long', durationSec: 31, maxDurationSec: 30 }],
    });
    expect(fakes.files.removed).toContain(inputPath);
    expect(await records(store)).toEqual([]);
    expect(fakes.backend.submits).toHaveLength(0);
  });

  it('points the same clip sent again by the same person to the job on its way, and keeps one job', async () => {
    const inputsDir = await tempDir('restyle-intake-');
    const { intake, surface, fakes, store } = await rig({ inputsDir });
    fakes.backend.hold = true;
    const first = ask();
    await intake.accept(first);
    await until(() => surface.followed.size === 1, 'the first job');
    // The command sent again (its first answer lost): another request id, the same bytes.
    const again = ask();
    fakes.files.sameBytes.set(join(inputsDir, `${again.id}.mp4`), join(inputsDir, `${first.id}.mp4`));
    expect(await intake.accept(again)).toBe('accepted');
    await until(() => surface.kinds(again.id).length === 2, 'the answer');
    expect(surface.kinds(again.id)).toEqual(['checking', 'duplicate']);
    expect(fakes.files.removed).toContain(join(inputsDir, `${again.id}.mp4`));
    expect(surface.followed.size).toBe(1);
    expect(await records(store)).toEqual([]);
  });

  it("names the platform's download limit when the platform will not hand the clip over", async () => {
    const { intake, surface } = await rig();
    surface.outcomes.set('huge', {
      kind: 'too-big',
      sizeBytes: 25 * 1024 * 1024,
      platformMaxBytes: 20 * 1024 * 1024,
    });
    const request = ask({}, 'huge');
    await intake.accept(request);
    await until(() => surface.notices.length === 2, 'the answer');
    expect(surface.notices[1]!.notice).toEqual({
      kind: 'download-too-large',
      sizeBytes: 25 * 1024 * 1024,
      maxBytes: 20 * 1024 * 1024,
    });
  });
});
