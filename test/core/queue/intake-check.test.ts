import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../src/core/limits.ts';
import { checkIntake } from '../../../src/core/queue/intake-check.ts';
import { compliantFacts } from '../../helpers/facts.ts';

const video = (overrides: Parameters<typeof compliantFacts>[0] = {}) =>
  ({ kind: 'video', facts: compliantFacts(overrides) }) as const;

describe('checkIntake', () => {
  it('accepts a clip within every limit as it is, with no plan', () => {
    expect(checkIntake(video({ durationSec: 12 }), DEFAULT_LIMITS, false)).toEqual({
      kind: 'accepted',
      plan: undefined,
      changes: [],
      durationSec: 12,
    });
  });

  it('rejects clips longer than 30 s unless asked to fit them, saying fitting would repair it', () => {
    expect(checkIntake(video({ durationSec: 31 }), DEFAULT_LIMITS, false)).toEqual({
      kind: 'rejected',
      violations: [{ code: 'duration-too-long', durationSec: 31, maxDurationSec: 30, pictureSec: 31 }],
      unfixable: false,
    });
  });

  it('accepts a fixable clip with fit, carrying the plan and the trimmed length', () => {
    const checked = checkIntake(
      video({ durationSec: 31, displayWidth: 2000, width: 2000 }),
      DEFAULT_LIMITS,
      true,
    );
    expect(checked.kind).toBe('accepted');
    if (checked.kind !== 'accepted') return;
    expect(checked.plan?.changes).toEqual(checked.changes);
    expect(checked.changes.map((change) => change.kind)).toEqual(['trim', 'crop']);
    expect(checked.durationSec).toBe(checked.plan?.trimToSec);
    expect(checked.durationSec).toBeLessThan(30);
  });

  it('rejects as unfixable a file that is not a video, even with fit', () => {
    expect(
      checkIntake(
        { kind: 'unreadable', reason: 'still-image', sizeBytes: 3_000, what: 'PNG image' },
        DEFAULT_LIMITS,
        true,
      ),
    ).toEqual({
      kind: 'rejected',
      violations: [{ code: 'still-image', sizeBytes: 3_000, what: 'PNG image' }],
      unfixable: true,
    });
  });

  it('names every broken limit at once', () => {
    const checked = checkIntake(
      video({
        durationSec: 40,
        sizeBytes: 200_000_000,
        displayWidth: 100,
        displayHeight: 100,
        width: 100,
        height: 100,
      }),
      DEFAULT_LIMITS,
      false,
    );
    expect(checked.kind === 'rejected' && checked.violations.map((violation) => violation.code)).toEqual([
      'duration-too-long',
      'file-too-large',
      'side-too-small',
    ]);
  });
});
