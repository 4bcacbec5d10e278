import { FairQueue } from '../fairness.ts';
import type { RestyleJob } from '../job.ts';

/** Bounds of the queue. */
export interface QueueLimits {
  /** Jobs one requester may have waiting (not yet submitted), counting requests still being checked. */
  readonly maxWaitingPerUser: number;
  /** Jobs waiting in total, counting requests still being checked. */
  readonly maxWaitingTotal: number;
}

/** Bounds used when none are configured. */
export const DEFAULT_QUEUE_LIMITS = {
  maxWaitingPerUser: 2,
  maxWaitingTotal: 200,
} as const satisfies QueueLimits;

interface Item {
  readonly id: string;
  readonly requesterKey: string;
  readonly durationSec: number;
}

/**
 * Jobs waiting for a lane, in fair order, with what ETAs need (total video length) and what the
 * caps need: places held by requests still being checked count like waiting jobs.
 */
export class WaitingLine {
  private readonly queue = new FairQueue<Item>();
  private readonly reserved = new Map<string, number>();
  private reservedTotal = 0;
  private totalSec = 0;

  /** Jobs waiting. */
  get size(): number {
    return this.queue.size;
  }

  /** Seconds of video waiting in all. */
  get durationSec(): number {
    return this.totalSec;
  }

  /** Waiting jobs plus held places of one requester. */
  countFor(requesterKey: string): number {
    return this.queue.countFor(requesterKey) + (this.reserved.get(requesterKey) ?? 0);
  }

  /** Waiting jobs plus held places, all requesters. */
  get countAll(): number {
    return this.queue.size + this.reservedTotal;
  }

  /** Holds a place for a request being checked; the returned function gives it back (once). */
  reserve(requesterKey: string): () => void {
    this.reserved.set(requesterKey, (this.reserved.get(requesterKey) ?? 0) + 1);
    this.reservedTotal += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.reservedTotal -= 1;
      const left = (this.reserved.get(requesterKey) ?? 1) - 1;
      if (left > 0) this.reserved.set(requesterKey, left);
      else this.reserved.delete(requesterKey);
    };
  }

  /** Adds a job in its requester's next round; `front` puts it first (it had reached a lane before a restart). */
  push(job: RestyleJob, front = false): void {
    const item = { id: job.id, requesterKey: job.requester.key, durationSec: job.durationSec };
    if (front) {
      const rest = [...this.queue.inOrder()];
      for (const other of rest) this.queue.remove(other.id);
      this.queue.push(item);
      for (const other of rest) this.queue.push(other);
    } else {
      this.queue.push(item);
    }
    this.totalSec += job.durationSec;
  }

  /** Removes and returns the id of the job served next. */
  shift(): string | undefined {
    const item = this.queue.shift();
    if (item) this.totalSec -= item.durationSec;
    return item?.id;
  }

  /** Removes a job wherever it is; true when it was waiting. */
  remove(jobId: string): boolean {
    const item = this.queue.remove(jobId);
    if (item) this.totalSec -= item.durationSec;
    return item !== undefined;
  }

  /** 1-based place in the serving order, or `undefined` when not waiting. */
  position(jobId: string): number | undefined {
    return this.queue.position(jobId);
  }

  /** The first `count` waiting job ids in serving order. */
  head(count: number): string[] {
    const ids: string[] = [];
    for (const item of this.queue.inOrder()) {
      if (ids.length >= count) break;
      ids.push(item.id);
    }
    return ids;
  }
}
