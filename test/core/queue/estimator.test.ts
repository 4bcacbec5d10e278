import { describe, expect, it } from 'vitest';
import type { JobState, RestyleJob } from '../../../src/core/job.ts';
import {
  estimateStored,
  meanTaskMs,
  runProgress,
  runRemainingMs,
  waitingEtaMs,
} from '../../../src/core/queue/estimator.ts';
import { SpeedModel } from '../../../src/core/speed.ts';

/** 1 s per second of video plus 4 s: a 2 s clip takes 6 s, a 6 s clip 10 s. */
const speed = () => new SpeedModel({ secPerVideoSec: 1, overheadSec: 4 });

function job(id: string, seq: number, requester: string, durationSec: number, state: JobState): RestyleJob {
  return {
    id,
    seq,
    requester: { key: requester },
    delivery: { platform: 'test' },
    inputPath: `/in/${id}.mp4`,
    inputHash: id,
    styleId: 0,
    fps: 15,
    durationSec,
    changes: [],
    createdAtMs: 0,
    updatedAtMs: 0,
    state,
  };
}

describe('the estimator', () => {
  it('puts a waiting job behind the current run, the jobs ahead of it and its own task', () => {
    const line = { laneRemainingMs: [3_000], meanTaskMs: 8_000 };
    expect(waitingEtaMs(1, 6_000, line)).toBe(3_000 + 6_000);
    expect(waitingEtaMs(3, 6_000, line)).toBe(3_000 + 2 * 8_000 + 6_000);
    expect(waitingEtaMs(1, 6_000, { laneRemainingMs: [], meanTaskMs: 0 })).toBe(6_000);
  });

  it('deals the jobs ahead to several lanes in the order they free up', () => {
    const line = { laneRemainingMs: [5_000, 1_000], meanTaskMs: 8_000 };
    expect(waitingEtaMs(1, 6_000, line)).toBe(1_000 + 6_000);
    expect(waitingEtaMs(2, 6_000, line)).toBe(5_000 + 6_000);
    expect(waitingEtaMs(3, 6_000, line)).toBe(1_000 + 8_000 + 6_000);
  });

  it('counts a run’s whole estimate until it is submitted, then what is left of it', () => {
    expect(runRemainingMs(undefined, 50_000)).toBe(0);
    expect(runRemainingMs({ expectedMs: 10_000, submittedAtMs: undefined }, 50_000)).toBe(10_000);
    expect(runRemainingMs({ expectedMs: 10_000, submittedAtMs: 46_000 }, 50_000)).toBe(6_000);
    expect(runRemainingMs({ expectedMs: 10_000, submittedAtMs: 30_000 }, 50_000)).toBe(0);
  });

  it('reports a running task’s time left, fraction done and time since submit', () => {
    expect(runProgress(10_000, 46_000, 50_000)).toEqual({ etaMs: 6_000, fraction: 0.4, elapsedMs: 4_000 });
    expect(runProgress(10_000, 30_000, 50_000).fraction).toBeLessThan(1);
  });

  it('averages the waiting clips through the speed model', () => {
    expect(meanTaskMs(speed(), 8, 2)).toBe(8_000);
    expect(meanTaskMs(speed(), 0, 0)).toBe(0);
  });

  it('estimates stored jobs in fair order behind each lane’s submitted task', () => {
    const now = 100_000;
    const jobs = [
      job('run', 1, 'alice', 6, {
        kind: 'submitted',
        taskId: 't',
        submittedAtMs: now - 4_000,
        remote: 'running',
      }),
      job('a2', 2, 'alice', 2, { kind: 'waiting' }),
      job('b1', 3, 'bob', 6, { kind: 'waiting' }),
      job('gone', 4, 'bob', 2, { kind: 'delivered', taskId: 'u', cached: false, atMs: now }),
    ];
    const estimates = estimateStored(jobs, speed(), now);
    expect(estimates.get('run')).toEqual({ position: undefined, etaMs: 6_000 });
    // Mean waiting clip: 4 s → 8 s of task. Positions follow arrival here (both in round 0).
    expect(estimates.get('a2')).toEqual({ position: 1, etaMs: 6_000 + 6_000 });
    expect(estimates.get('b1')).toEqual({ position: 2, etaMs: 6_000 + 8_000 + 10_000 });
    expect(estimates.has('gone')).toBe(false);
  });
});
