import { describe, expect, it } from 'vitest';
import { DEFAULT_POLL_SCHEDULE, expectedTaskMs, nextPollDelayMs } from '../../src/core/poll.ts';

/** Simulates polling a task that ends at `endMs`; returns queries made and detection latency. */
function simulate(endMs: number, expectedMs: number | undefined) {
  let now = 0;
  let queries = 0;
  for (;;) {
    now += nextPollDelayMs(now, expectedMs);
    queries += 1;
    if (now >= endMs) return { queries, latencyMs: now - endMs };
  }
}

describe('poll schedule', () => {
  it('polls sparsely far from the expected end and densely near it', () => {
    expect(nextPollDelayMs(0, 60_000)).toBe(DEFAULT_POLL_SCHEDULE.maxIntervalMs);
    expect(nextPollDelayMs(47_500, 60_000)).toBe(DEFAULT_POLL_SCHEDULE.denseIntervalMs);
    expect(nextPollDelayMs(60_000, 60_000)).toBe(DEFAULT_POLL_SCHEDULE.denseIntervalMs);
  });

  it('never sleeps past the start of the dense window', () => {
    for (let elapsed = 0; elapsed < 48_000; elapsed += 250) {
      const delay = nextPollDelayMs(elapsed, 60_000);
      expect(elapsed + delay).toBeLessThanOrEqual(
        Math.max(48_000, elapsed + DEFAULT_POLL_SCHEDULE.denseIntervalMs),
      );
    }
  });

  it('polls short tasks more densely near their end, so the queue hands over quickly', () => {
    expect(nextPollDelayMs(2_600, 3_000)).toBe(120);
    expect(nextPollDelayMs(1_800, 2_000)).toBe(100);
    expect(simulate(3_000, 3_000).latencyMs).toBeLessThanOrEqual(120);
  });

  it('backs off again when the task overruns, up to the cap', () => {
    const late = nextPollDelayMs(60_000 * 1.3 + 20_000, 60_000);
    expect(late).toBeGreaterThan(DEFAULT_POLL_SCHEDULE.denseIntervalMs);
    expect(nextPollDelayMs(10 * 60_000, 60_000)).toBe(DEFAULT_POLL_SCHEDULE.maxIntervalMs);
  });

  it('ramps from 1 s to 5 s when nothing is known', () => {
    expect(nextPollDelayMs(0, undefined)).toBe(1_000);
    expect(nextPollDelayMs(8_000, undefined)).toBe(2_000);
    expect(nextPollDelayMs(120_000, undefined)).toBe(5_000);
  });

  it('detects a task ending on time within the dense interval, with few queries', () => {
    const short = simulate(10_000, 10_000);
    const long = simulate(60_000, 60_000);
    expect(short.latencyMs).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.denseIntervalMs);
    expect(long.latencyMs).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.denseIntervalMs);
    expect(short.queries).toBeLessThanOrEqual(15);
    expect(long.queries).toBeLessThanOrEqual(50);
  });

  it('stays far under the 20 queries per second the account allows', () => {
    for (const end of [3_000, 10_000, 60_000, 200_000]) {
      const { queries } = simulate(end, 60_000);
      expect(queries / (end / 1000)).toBeLessThan(3);
    }
  });

  it('estimates task time from the clip duration', () => {
    expect(expectedTaskMs(10, { secPerVideoSec: 2, overheadSec: 5 })).toBe(25_000);
    expect(expectedTaskMs(-1, { secPerVideoSec: 2, overheadSec: 5 })).toBe(5_000);
  });
});
