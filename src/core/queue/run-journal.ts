import { assertNever } from '../errors.ts';
import type { JobFailure } from '../job.ts';
import type { HostedMedia } from '../media.ts';
import type { LaneOutcome, LaneRunHooks, Logger, RecordStore } from '../ports.ts';
import { type SpeedModel, saveSpeed } from '../speed.ts';
import type { ResultDelivery } from './delivery.ts';
import type { JobStatus } from './estimator.ts';
import type { JobEvents } from './events.ts';
import type { JobBook } from './job-book.ts';
import type { ResultCache } from './result-cache.ts';

/** What recording runs needs. */
export interface RunJournalParts {
  readonly book: JobBook;
  readonly events: JobEvents;
  readonly delivery: ResultDelivery;
  readonly resultCache: ResultCache;
  readonly speed: SpeedModel;
  readonly store: RecordStore;
  readonly logger: Logger;
  /** Records a job's failure and tells its observers. */
  readonly fail: (jobId: string, failure: JobFailure) => Promise<void>;
  /** Where a job stands, for the events. */
  readonly status: (jobId: string) => JobStatus | undefined;
}

/**
 * Keeps a job's state durable through its run on a lane (written before each external side
 * effect), tells its observers, and records how the run ended: a result to fetch (learning the
 * speed, remembering the result), a failure, a cancellation, or nothing when interrupted.
 */
export class RunJournal {
  constructor(private readonly parts: RunJournalParts) {}

  /** The hooks of one run; `media` is what a new submit sends (`undefined` when following a task). */
  hooks(laneId: string, jobId: string, media: HostedMedia | undefined): LaneRunHooks {
    const { book, logger } = this.parts;
    return {
      submitting: async (startedAtMs) => {
        if (!media) throw new Error(`job ${jobId}: a followed task is never submitted again`);
        await book.update(jobId, { kind: 'submitting', media, startedAtMs, laneId });
        this.tell(jobId, 'started');
      },
      submitted: async (task) => {
        await book.update(jobId, {
          kind: 'submitted',
          taskId: task.taskId,
          submittedAtMs: task.submittedAtMs,
          remote: task.remote,
          laneId,
        });
        logger.info('task submitted', { jobId, laneId, taskId: task.taskId, requestId: task.requestId });
        this.tell(jobId, 'progress');
      },
      status: (remote) => {
        const state = book.get(jobId)?.state;
        if (state?.kind === 'submitted' && state.remote !== remote) {
          book.touch(jobId, { ...state, remote }, (error) => {
            logger.warn('could not save the remote status', { jobId, error: String(error) });
          });
        }
        this.tell(jobId, 'progress');
      },
    };
  }

  /** Tells the job's observers where it stands. */
  tell(jobId: string, type: 'started' | 'progress'): void {
    const status = this.parts.status(jobId);
    if (status) this.parts.events.emit(jobId, { type, status });
  }

  /** Records how a run ended (a refused key is the scheduler's to handle: the job goes on elsewhere). */
  async settle(jobId: string, outcome: Exclude<LaneOutcome, { kind: 'key-refused' }>): Promise<void> {
    const { book, events, speed, store, resultCache, delivery } = this.parts;
    switch (outcome.kind) {
      case 'succeeded': {
        if (outcome.taskMs !== undefined) {
          speed.observe(outcome.taskMs, book.get(jobId)!.durationSec);
          await saveSpeed(store, speed);
        }
        const fetching = await book.update(jobId, {
          kind: 'fetching',
          taskId: outcome.taskId,
          outputUrl: outcome.outputUrl,
          ...(outcome.billedSec === undefined ? {} : { billedSec: outcome.billedSec }),
        });
        await resultCache.remember(fetching, { outputUrl: outcome.outputUrl, taskId: outcome.taskId });
        delivery.start(fetching);
        return;
      }
      case 'failed':
        await this.parts.fail(jobId, outcome.failure);
        return;
      case 'canceled': {
        const canceled = await book.update(jobId, {
          kind: 'canceled',
          by: outcome.by,
          remote: outcome.remote,
        });
        events.emit(jobId, { type: 'canceled', job: canceled });
        return;
      }
      case 'interrupted':
        return;
      default:
        assertNever(outcome);
    }
  }
}
