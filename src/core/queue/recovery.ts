import { assertNever } from '../errors.ts';
import { isTerminal, type JobState, type RestyleJob } from '../job.ts';
import type { Lane, Logger, TaskSnapshot } from '../ports.ts';
import type { ResultDelivery } from './delivery.ts';
import type { JobBook } from './job-book.ts';
import type { Scheduler } from './scheduler.ts';

/** The parts a restart puts jobs back into. */
export interface RecoveryParts {
  readonly book: JobBook;
  readonly scheduler: Scheduler;
  readonly delivery: ResultDelivery;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** Every task id the store knows, so a task found at the backend can be told apart from theirs. */
function knownTaskIds(stored: readonly RestyleJob[]): Set<string> {
  const ids = new Set<string>();
  for (const { state } of stored) {
    if ('taskId' in state) ids.add(state.taskId);
    else if (state.kind === 'failed' && state.failure.taskId) ids.add(state.failure.taskId);
  }
  return ids;
}

/**
 * Resumes the unfinished stored jobs that `filter` accepts, oldest first: waiting jobs go back in
 * line, an interrupted submit is adopted or made again, submitted tasks are followed by their own
 * lane (never submitted again), fetched results are delivered. Jobs of a lane not configured now
 * stay in the store for when it is. Resolves with the jobs resumed.
 */
export async function recoverJobs(
  stored: readonly RestyleJob[],
  filter: (job: RestyleJob) => boolean,
  parts: RecoveryParts,
): Promise<RestyleJob[]> {
  const { book, scheduler, delivery, logger } = parts;
  const known = knownTaskIds(stored);
  const resumed: RestyleJob[] = [];
  for (const job of [...stored].sort((a, b) => a.seq - b.seq)) {
    if (isTerminal(job.state) || !filter(job)) continue;
    const { state } = job;
    if ((state.kind === 'submitting' || state.kind === 'submitted') && !scheduler.lane(state.laneId)) {
      logger.warn('the lane of a stored task is not configured; leaving the job for later', {
        jobId: job.id,
        laneId: state.laneId,
      });
      continue;
    }
    book.adopt(job);
    resumed.push(job);
    switch (state.kind) {
      case 'waiting':
        scheduler.enqueue(job);
        break;
      case 'submitting':
        await recoverSubmit(job, state, scheduler.lane(state.laneId)!, known, parts);
        break;
      case 'submitted':
        scheduler.follow(job);
        break;
      case 'fetching':
      case 'fetched':
        delivery.start(job);
        break;
      case 'delivered':
      case 'failed':
      case 'canceled':
      case 'rejected':
        break;
      default:
        assertNever(state);
    }
  }
  return resumed;
}

/**
 * A crash hit between sending a submit and saving its task id. The lane runs one task at a time,
 * so a task its key created since then that no job knows is this job's: adopt it. With none, the
 * submit never arrived and the job goes first in line again.
 */
async function recoverSubmit(
  job: RestyleJob,
  state: Extract<JobState, { kind: 'submitting' }>,
  lane: Lane,
  known: Set<string>,
  parts: RecoveryParts,
): Promise<void> {
  const { book, scheduler, logger } = parts;
  let found: TaskSnapshot | undefined;
  try {
    found = await lane.lostSubmit(job.id, state.startedAtMs, known, parts.signal);
  } catch (error) {
    logger.warn('could not look for the task of an interrupted submit; submitting again', {
      jobId: job.id,
      error: String(error),
    });
  }
  if (found && (found.status === 'pending' || found.status === 'running' || found.status === 'succeeded')) {
    logger.info('adopted the task of an interrupted submit', { jobId: job.id, taskId: found.taskId });
    known.add(found.taskId);
    scheduler.follow(
      await book.update(job.id, {
        kind: 'submitted',
        taskId: found.taskId,
        submittedAtMs: state.startedAtMs,
        remote: found.status === 'running' ? 'running' : 'pending',
        laneId: lane.id,
      }),
    );
    return;
  }
  scheduler.enqueue(await book.update(job.id, { kind: 'waiting', media: state.media }), true);
}
