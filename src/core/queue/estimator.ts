import { FairQueue } from '../fairness.ts';
import type { RestyleJob } from '../job.ts';
import type { SpeedModel } from '../speed.ts';
import { estimateFraction } from '../task.ts';
import { DEFAULT_LANE_ID } from './lane.ts';

/** Where a job is right now, for status messages. */
export interface JobStatus {
  readonly job: RestyleJob;
  /** 1-based place among waiting jobs; `undefined` once it left the queue. */
  readonly position: number | undefined;
  /** Estimated time until the result is ready. */
  readonly etaMs: number | undefined;
  /** Estimated fraction of the remote work done while submitted. */
  readonly fraction: number | undefined;
  /** Since the remote task was submitted. */
  readonly elapsedMs: number | undefined;
  /** Why a waiting job cannot move now: every key is set aside (`keys-out`). */
  readonly held?: 'keys-out' | undefined;
}

/** A lane's current run, as far as time goes. */
export interface RunTiming {
  readonly expectedMs: number;
  /** `undefined` until the task is submitted. */
  readonly submittedAtMs: number | undefined;
}

/** The queue in front of a waiting job, as far as time goes. */
export interface LineTiming {
  /** Time left on each lane's current run, 0 for an idle lane: one entry per lane. */
  readonly laneRemainingMs: readonly number[];
  /** Expected task time of an average waiting job. */
  readonly meanTaskMs: number;
}

/** Time left on a run: all of its estimate before the submit, what remains of it after (never negative). */
export function runRemainingMs(run: RunTiming | undefined, nowMs: number): number {
  if (!run) return 0;
  if (run.submittedAtMs === undefined) return run.expectedMs;
  return Math.max(0, run.expectedMs - (nowMs - run.submittedAtMs));
}

/** Progress of a submitted task: time left, estimated fraction done, time since the submit. */
export function runProgress(
  expectedMs: number,
  submittedAtMs: number,
  nowMs: number,
): { readonly etaMs: number; readonly fraction: number; readonly elapsedMs: number } {
  const elapsedMs = nowMs - submittedAtMs;
  return {
    etaMs: Math.max(0, expectedMs - elapsedMs),
    fraction: estimateFraction(elapsedMs, expectedMs),
    elapsedMs,
  };
}

/** Expected task time of an average waiting clip: `totalSec` of video over `count` clips (0 when none). */
export function meanTaskMs(speed: SpeedModel, totalSec: number, count: number): number {
  return count > 0 ? speed.expectedMs(totalSec / count) : 0;
}

/**
 * ETA of the waiting job at 1-based `position` whose own task takes `ownTaskMs`: the jobs ahead
 * are dealt to the lanes in the order they free up, an average task each. With one lane this is
 * "time left on the current run + (position − 1) average tasks + its own task".
 */
export function waitingEtaMs(position: number, ownTaskMs: number, line: LineTiming): number {
  const freeAt = line.laneRemainingMs.length > 0 ? [...line.laneRemainingMs].sort((a, b) => a - b) : [0];
  const ahead = Math.max(0, position - 1);
  const rounds = Math.floor(ahead / freeAt.length);
  return freeAt[ahead % freeAt.length]! + rounds * line.meanTaskMs + ownTaskMs;
}

/** Position and ETA of a stored job, as the queue would serve it. */
export interface StoredEstimate {
  readonly position: number | undefined;
  readonly etaMs: number | undefined;
}

/**
 * Positions and ETAs of stored jobs without a running service (`restyle jobs`): waiting jobs in
 * fair order behind the submitted task of each lane (jobs from before lane ids count as one lane).
 */
export function estimateStored(
  jobs: readonly RestyleJob[],
  speed: SpeedModel,
  nowMs: number,
  laneCount = 1,
): Map<string, StoredEstimate> {
  const sorted = [...jobs].sort((a, b) => a.seq - b.seq);
  const line = new FairQueue<{ id: string; requesterKey: string }>();
  let waitingSec = 0;
  const laneRemaining = new Map<string, number>();
  const estimates = new Map<string, StoredEstimate>();
  for (const job of sorted) {
    const state = job.state;
    if (state.kind === 'waiting') {
      line.push({ id: job.id, requesterKey: job.requester.key });
      waitingSec += job.durationSec;
    } else if (state.kind === 'submitted') {
      const left = runRemainingMs(
        { expectedMs: speed.expectedMs(job.durationSec), submittedAtMs: state.submittedAtMs },
        nowMs,
      );
      laneRemaining.set(state.laneId ?? DEFAULT_LANE_ID, left);
      estimates.set(job.id, { position: undefined, etaMs: left });
    }
  }
  const lanes = [...laneRemaining.values()];
  while (lanes.length < laneCount) lanes.push(0);
  const timing: LineTiming = { laneRemainingMs: lanes, meanTaskMs: meanTaskMs(speed, waitingSec, line.size) };
  for (const job of sorted) {
    const position = line.position(job.id);
    if (position === undefined) continue;
    estimates.set(job.id, {
      position,
      etaMs: waitingEtaMs(position, speed.expectedMs(job.durationSec), timing),
    });
  }
  return estimates;
}
