import { afterEach, describe, expect, it } from 'vitest';
import { StatusBoard, type StatusSurface } from '../../../src/bots/shared/status-board.ts';
import type { RestyleJob } from '../../../src/core/job.ts';
import { RestyleService } from '../../../src/core/queue/service.ts';
import { silentLogger } from '../../../src/logger.ts';
import type { StatusView } from '../../../src/text/index.ts';
import { fakeDeps, makeFakes } from '../../fakes/queue.ts';

/** A status surface in memory: what each message shows, and which jobs were cleaned up. */
class MemoryStatus implements StatusSurface<string, { readonly jobId: string }> {
  readonly shown: string[] = [];
  readonly cleaned: string[] = [];
  render(view: StatusView): string {
    return view.kind;
  }
  async apply(rendered: string): Promise<void> {
    this.shown.push(rendered);
  }
  retryAfterMs(): undefined {
    return undefined;
  }
  isGone(): boolean {
    return false;
  }
  minIntervalMs(): number {
    return 0;
  }
  async ended(meta: { readonly jobId: string }): Promise<void> {
    this.cleaned.push(meta.jobId);
  }
}

describe('StatusBoard after a restart', () => {
  const services: RestyleService[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((service) => service.stop()));
  });

  async function deliveredJob(): Promise<{
    service: RestyleService;
    job: RestyleJob;
    store: ReturnType<typeof makeFakes>['store'];
  }> {
    const fakes = makeFakes();
    const service = new RestyleService(fakeDeps(fakes));
    services.push(service);
    await service.start();
    const outcome = await service.request({
      requester: { key: 'test:alice' },
      delivery: { platform: 'test' },
      inputPath: '/in/clip.mp4',
      styleId: 0,
      fps: 15,
      fit: false,
    });
    if (outcome.kind !== 'queued') throw new Error(outcome.kind);
    const job = await service.settled(outcome.job.id);
    expect(job.state.kind).toBe('delivered');
    return { service, job, store: fakes.store };
  }

  it('ends and cleans up a job that ended after the store was read, before anyone followed it', async () => {
    const { service, job, store } = await deliveredJob();
    const surface = new MemoryStatus();
    const board = new StatusBoard(service, surface, silentLogger, 60_000, store);
    // As read from the store a moment before its delivery finished.
    const readEarlier: RestyleJob = { ...job, state: { kind: 'waiting' } };
    await board.resumeStored([readEarlier], (stored) => ({ jobId: stored.id }));
    await board.settled();
    expect(surface.shown.at(-1)).toBe('done');
    expect(surface.cleaned).toEqual([job.id]);
  });

  it('cleans up an ended job whose final status was shown before a crash cut its cleanup short', async () => {
    const { service, job, store } = await deliveredJob();
    await store.setRecord(`chat.status-final:${job.id}`, true);
    const surface = new MemoryStatus();
    const board = new StatusBoard(service, surface, silentLogger, 60_000, store);
    await board.resumeStored([job], (stored) => ({ jobId: stored.id }));
    await board.settled();
    expect(surface.shown).toEqual([]);
    expect(surface.cleaned).toEqual([job.id]);
  });
});

describe('StatusBoard at a clean stop', () => {
  it('lets a final view waiting behind a slow edit go out, and drops views of work still going on', async () => {
    const fakes = makeFakes();
    const service = new RestyleService(fakeDeps(fakes));
    await service.start();
    // The platform holds each edit a while (a rate-limit bucket that is running dry).
    const surface = new (class extends MemoryStatus {
      override async apply(rendered: string): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await super.apply(rendered);
      }
    })();
    const board = new StatusBoard(service, surface, silentLogger, 60_000, fakes.store);
    board.follow('ended', { jobId: 'ended' });
    board.follow('going', { jobId: 'going' });
    const job = (kind: RestyleJob['state']['kind']) =>
      ({ id: 'x', styleId: 0, changes: [], state: { kind } }) as unknown as RestyleJob;
    board.show('ended', { kind: 'queued', position: 2, etaMs: 5_000 } as StatusView);
    board.show('going', { kind: 'queued', position: 3, etaMs: 8_000 } as StatusView);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // While the first edits are in flight: one job is delivered, the other moves on.
    board.handle('ended', { type: 'delivered', job: job('delivered') } as never);
    board.show('going', { kind: 'restyling', fraction: 0.5, elapsedMs: 1_000, etaMs: 1_000 } as StatusView);
    await board.stop();
    await service.stop();
    // The delivered job's status reads done; the other's "restyling" waits for the next start.
    expect(surface.shown).toEqual(['queued', 'queued', 'done']);
  });
});
