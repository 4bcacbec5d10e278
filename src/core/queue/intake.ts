import type { Delivery, Requester, RestyleJob } from '../job.ts';
import type { LimitViolation, VideoLimits } from '../limits.ts';
import type { Clock, ServiceFiles, VideoProbe } from '../ports.ts';
import type { ResultDelivery } from './delivery.ts';
import type { JobEvents, JobObserver } from './events.ts';
import { checkIntake } from './intake-check.ts';
import type { JobBook } from './job-book.ts';
import type { ResultCache } from './result-cache.ts';
import type { Scheduler } from './scheduler.ts';
import type { QueueLimits, WaitingLine } from './waiting-line.ts';

/** What a requester asks for. */
export interface RestyleRequestInput {
  readonly requester: Requester;
  readonly delivery: Delivery;
  /** A local file the service may read until the job ends. */
  readonly inputPath: string;
  readonly styleId: number;
  readonly fps: number;
  /** Repair fixable limit violations instead of rejecting them. */
  readonly fit: boolean;
}

/** The immediate answer to a request; the job itself goes on in the background. */
export type RequestOutcome =
  | { readonly kind: 'queued'; readonly job: RestyleJob; readonly position: number; readonly etaMs: number }
  /**
   * The same requester already has this input in this style and fps on its way (a command sent
   * again after its answer was lost): that job answers both, nothing is queued or billed twice.
   */
  | { readonly kind: 'duplicate'; readonly job: RestyleJob }
  /** The same input, style and fps was restyled recently: the result is reused, nothing is billed. */
  | { readonly kind: 'cached'; readonly job: RestyleJob }
  | { readonly kind: 'rejected'; readonly violations: readonly LimitViolation[]; readonly unfixable: boolean }
  | {
      readonly kind: 'refused';
      readonly reason: 'user-cap' | 'queue-full' | 'stopped';
      readonly limit: number;
    };

/** What taking requests in needs. */
export interface IntakeParts {
  readonly probe: VideoProbe;
  readonly files: Pick<ServiceFiles, 'hash'>;
  readonly limits: VideoLimits;
  readonly queueLimits: QueueLimits;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly line: WaitingLine;
  readonly book: JobBook;
  readonly events: JobEvents;
  readonly resultCache: ResultCache;
  readonly delivery: ResultDelivery;
  readonly scheduler: Scheduler;
}

/**
 * Takes requests in: caps first (a request being checked holds its place under them), then the
 * probe and the limits (the fit plan decided once, here), then the same clip already on its way,
 * then the result cache, then the line.
 */
export class Intake {
  private seq = 0;

  constructor(
    private readonly parts: IntakeParts,
    private readonly signal: AbortSignal,
  ) {}

  /** Makes new jobs come after every stored one. */
  seqAtLeast(seq: number): void {
    this.seq = Math.max(this.seq, seq);
  }

  /** Checks a clip and queues it, or says why not; never waits for the job itself. */
  async request(input: RestyleRequestInput, observer?: JobObserver): Promise<RequestOutcome> {
    const { parts } = this;
    const { requester } = input;
    const { maxWaitingPerUser, maxWaitingTotal } = parts.queueLimits;
    if (this.signal.aborted) return { kind: 'refused', reason: 'stopped', limit: 0 };
    if (!requester.operator && parts.line.countFor(requester.key) >= maxWaitingPerUser) {
      return { kind: 'refused', reason: 'user-cap', limit: maxWaitingPerUser };
    }
    if (parts.line.countAll >= maxWaitingTotal) {
      return { kind: 'refused', reason: 'queue-full', limit: maxWaitingTotal };
    }
    const release = parts.line.reserve(requester.key);
    try {
      const probed = await parts.probe.probe(input.inputPath, this.signal);
      const checked = checkIntake(probed, parts.limits, input.fit);
      if (checked.kind === 'rejected') return checked;
      const inputHash = await parts.files.hash(input.inputPath);
      const same = parts.book
        .unfinishedOf(requester.key)
        .find((job) => job.inputHash === inputHash && job.styleId === input.styleId && job.fps === input.fps);
      if (same) return { kind: 'duplicate', job: same };
      const now = parts.clock.now();
      const base = {
        id: parts.newId(),
        seq: ++this.seq,
        requester,
        delivery: input.delivery,
        inputPath: input.inputPath,
        inputHash,
        styleId: input.styleId,
        fps: input.fps,
        durationSec: checked.durationSec,
        changes: checked.changes,
        ...(checked.plan ? { plan: checked.plan } : {}),
        createdAtMs: now,
        updatedAtMs: now,
      };
      if (observer) parts.events.observe(base.id, observer);
      const cached = await parts.resultCache.find(base);
      if (cached) {
        const job = await parts.book.add({ ...base, state: { kind: 'fetching', ...cached } });
        parts.delivery.start(job, true);
        return { kind: 'cached', job };
      }
      const job = await parts.book.add({ ...base, state: { kind: 'waiting' } });
      parts.scheduler.enqueue(job);
      const status = parts.scheduler.status(job.id)!;
      parts.events.emit(job.id, { type: 'queued', status });
      return { kind: 'queued', job, position: status.position ?? 1, etaMs: status.etaMs ?? 0 };
    } finally {
      release();
    }
  }
}
