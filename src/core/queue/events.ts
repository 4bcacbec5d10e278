import type { JobFailure, RestyleJob } from '../job.ts';
import type { Logger } from '../ports.ts';
import type { JobStatus } from './estimator.ts';

/** Events about one job, for whoever follows it. */
export type JobEvent =
  | { readonly type: 'queued'; readonly status: JobStatus }
  | { readonly type: 'started'; readonly status: JobStatus }
  | { readonly type: 'progress'; readonly status: JobStatus }
  | { readonly type: 'fetched'; readonly job: RestyleJob }
  | { readonly type: 'delivered'; readonly job: RestyleJob }
  | { readonly type: 'failed'; readonly job: RestyleJob; readonly failure: JobFailure }
  | { readonly type: 'canceled'; readonly job: RestyleJob };

/** Follows one job's events. */
export type JobObserver = (event: JobEvent) => void;

/** True for the events after which nothing more happens to the job. */
export function isFinalEvent(event: JobEvent): boolean {
  return event.type === 'delivered' || event.type === 'failed' || event.type === 'canceled';
}

/**
 * Per-job observers and the coalesced "queue changed" signal: however much changes in a tick,
 * listeners hear about it once and read positions on demand.
 */
export class JobEvents {
  private readonly observers = new Map<string, Set<JobObserver>>();
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;

  constructor(private readonly logger: Logger) {}

  /** Follows one job's events until unsubscribed or the job ends. */
  observe(jobId: string, observer: JobObserver): () => void {
    let set = this.observers.get(jobId);
    if (!set) {
      set = new Set();
      this.observers.set(jobId, set);
    }
    set.add(observer);
    return () => set.delete(observer);
  }

  /** Calls the job's observers; one that throws is logged and does not stop the others. */
  emit(jobId: string, event: JobEvent): void {
    for (const observer of this.observers.get(jobId) ?? []) {
      try {
        observer(event);
      } catch (error) {
        this.logger.error('job observer failed', { jobId, error: String(error) });
      }
    }
    // Nothing more happens to the job: forget its observers once this event has gone round.
    if (isFinalEvent(event)) queueMicrotask(() => this.observers.delete(jobId));
  }

  /** Subscribes to "something in the queue changed", at most once per tick however much changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Schedules one "changed" notification for this tick. */
  changed(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setTimeout(() => {
      this.notifyScheduled = false;
      for (const listener of this.listeners) listener();
    }, 0);
  }
}
