import { describe, expect, it, vi } from 'vitest';
import { backoffDelayMs, MinIntervalGate, withRetry } from '../../src/core/retry.ts';

/** A manual clock: sleeping advances time instantly. */
function manualClock() {
  let nowMs = 0;
  return {
    now: () => nowMs,
    sleep: async (ms: number) => {
      nowMs += ms;
    },
  };
}

describe('backoff', () => {
  it('draws within an exponentially growing, capped ceiling', () => {
    const options = { maxAttempts: 10, baseDelayMs: 500, maxDelayMs: 8_000 };
    expect(backoffDelayMs(1, options, () => 1)).toBe(500);
    expect(backoffDelayMs(3, options, () => 1)).toBe(2_000);
    expect(backoffDelayMs(9, options, () => 1)).toBe(8_000);
    expect(backoffDelayMs(3, options, () => 0)).toBe(0);
  });

  it('never waits less than the server asked', () => {
    expect(backoffDelayMs(1, undefined, () => 0, 3_000)).toBe(3_000);
  });

  it('retries retryable errors and gives up on the others at once', async () => {
    const clock = manualClock();
    const flaky = vi.fn(async (attempt: number) => {
      if (attempt < 3) throw Object.assign(new Error('busy'), { retryable: true });
      return 'ok';
    });
    const isRetryable = (error: unknown) => (error as { retryable?: boolean }).retryable === true;
    await expect(withRetry(flaky, { isRetryable, sleep: clock.sleep })).resolves.toBe('ok');
    expect(flaky).toHaveBeenCalledTimes(3);

    const fatal = vi.fn(async () => {
      throw new Error('bad key');
    });
    await expect(withRetry(fatal, { isRetryable, sleep: clock.sleep })).rejects.toThrow('bad key');
    expect(fatal).toHaveBeenCalledTimes(1);
  });

  it('stops after the last attempt', async () => {
    const clock = manualClock();
    const always = vi.fn(async () => {
      throw Object.assign(new Error('busy'), { retryable: true });
    });
    await expect(
      withRetry(always, {
        isRetryable: () => true,
        sleep: clock.sleep,
        retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 10 },
      }),
    ).rejects.toThrow('busy');
    expect(always).toHaveBeenCalledTimes(4);
  });
});

describe('MinIntervalGate', () => {
  it('spaces passes at least the interval apart, in call order', async () => {
    const clock = manualClock();
    const gate = new MinIntervalGate(1_000, clock.now, clock.sleep);
    const passes: number[] = [];
    await Promise.all([1, 2, 3].map(() => gate.pass().then(() => passes.push(clock.now()))));
    expect(passes).toEqual([0, 1_000, 2_000]);
  });

  it('lets a caller through at once after a quiet period', async () => {
    const clock = manualClock();
    const gate = new MinIntervalGate(1_000, clock.now, clock.sleep);
    await gate.pass();
    await clock.sleep(5_000);
    const before = clock.now();
    await gate.pass();
    expect(clock.now()).toBe(before);
  });
});
