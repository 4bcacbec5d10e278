import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MessageEditor, ThrottledMessage } from '../../../src/bots/shared/throttled-message.ts';
import { silentLogger } from '../../../src/logger.ts';

class RateLimited extends Error {
  constructor(readonly waitMs: number) {
    super('429: Too Many Requests');
  }
}

/** An editor that records what it was asked to show and fails as told. */
function editor() {
  const shown: { text: string; at: number }[] = [];
  const failures: Error[] = [];
  const impl: MessageEditor<string> = {
    apply: async (text) => {
      const failure = failures.shift();
      if (failure) throw failure;
      shown.push({ text, at: Date.now() });
    },
    retryAfterMs: (error) => (error instanceof RateLimited ? error.waitMs : undefined),
    isGone: (error) => error instanceof Error && error.message === 'gone',
  };
  return { impl, shown, failures };
}

const options = {
  minIntervalMs: 3_000,
  key: (view: string) => view,
  isFinal: (view: string) => view.startsWith('done'),
  logger: silentLogger,
  label: 'test',
};

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a throttled status message', () => {
  it('sends the first view at once, then at most one edit per interval, always the newest', async () => {
    const { impl, shown } = editor();
    const message = new ThrottledMessage(impl, options);
    message.show('queued #3');
    await vi.advanceTimersByTimeAsync(0);
    message.show('queued #2');
    message.show('queued #1');
    await vi.advanceTimersByTimeAsync(2_999);
    expect(shown.map((s) => s.text)).toEqual(['queued #3']);
    await vi.advanceTimersByTimeAsync(1);
    expect(shown.map((s) => s.text)).toEqual(['queued #3', 'queued #1']);
    expect(shown[1]!.at - shown[0]!.at).toBe(3_000);
  });

  it('never sends a view that looks like the one shown', async () => {
    const { impl, shown } = editor();
    const message = new ThrottledMessage(impl, options, 'checking');
    message.show('checking');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(shown).toHaveLength(0);
    message.show('queued #1');
    message.show('checking');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(shown).toHaveLength(0);
  });

  it('waits out a rate limit and then sends the newest view, not the refused one', async () => {
    const { impl, shown, failures } = editor();
    const message = new ThrottledMessage(impl, options);
    failures.push(new RateLimited(7_000));
    message.show('restyling 10%');
    await vi.advanceTimersByTimeAsync(0);
    message.show('restyling 40%');
    await vi.advanceTimersByTimeAsync(6_999);
    expect(shown).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(shown.map((s) => s.text)).toEqual(['restyling 40%']);
  });

  it('always shows a final view, then ignores anything after it', async () => {
    const { impl, shown, failures } = editor();
    const message = new ThrottledMessage(impl, options);
    message.show('restyling');
    await vi.advanceTimersByTimeAsync(0);
    failures.push(new Error('500: Internal Server Error'));
    message.show('done!');
    message.show('restyling again?');
    await vi.advanceTimersByTimeAsync(3_000);
    // The final view failed once and was tried again after the interval.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(shown.map((s) => s.text)).toEqual(['restyling', 'done!']);
    expect(message.done).toBe(true);
    message.show('later');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(shown).toHaveLength(2);
    await expect(message.idle()).resolves.toBeUndefined();
  });

  it('stops editing a message that is gone', async () => {
    const { impl, shown, failures } = editor();
    const message = new ThrottledMessage(impl, options);
    failures.push(new Error('gone'));
    message.show('queued');
    await vi.advanceTimersByTimeAsync(0);
    message.show('restyling');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(shown).toHaveLength(0);
    expect(message.done).toBe(true);
  });

  it('holds edits while a shared budget is used up, asking again before sending', async () => {
    const { impl, shown } = editor();
    let holdUntil = Date.now() + 5_000;
    const message = new ThrottledMessage(impl, {
      ...options,
      minIntervalMs: () => 1_000,
      holdMs: () => Math.max(0, holdUntil - Date.now()),
    });
    message.show('queued #2');
    await vi.advanceTimersByTimeAsync(2_000);
    // Someone else used the budget meanwhile: the wait grows.
    holdUntil = Date.now() + 6_000;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(shown).toHaveLength(0);
    message.show('queued #1');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(shown.map((s) => s.text)).toEqual(['queued #1']);
  });
});
