import { type FitChange, type FitPlan, planFit } from '../fit.ts';
import {
  allFixable,
  checkProbe,
  type LimitViolation,
  type ProbeResult,
  type VideoLimits,
} from '../limits.ts';

/** The verdict on a probed clip: accepted with how to fit it, or rejected with every reason. */
export type IntakeCheck =
  | {
      readonly kind: 'accepted';
      /** How to fit the clip before upload; `undefined` when it complies as it is. */
      readonly plan: FitPlan | undefined;
      /** What fitting changes, to tell the requester (empty without a plan). */
      readonly changes: readonly FitChange[];
      /** Length of the clip as it will be sent (after trimming). */
      readonly durationSec: number;
    }
  | {
      readonly kind: 'rejected';
      readonly violations: readonly LimitViolation[];
      /** True when fitting could not repair it (a different file is needed). */
      readonly unfixable: boolean;
    };

/**
 * Checks a probed clip against the limits. With `fit`, a clip whose every violation can be repaired
 * is accepted with its fit plan, computed here once and carried by the job.
 */
export function checkIntake(probed: ProbeResult, limits: VideoLimits, fit: boolean): IntakeCheck {
  const violations = checkProbe(probed, limits);
  if (probed.kind === 'unreadable') return { kind: 'rejected', violations, unfixable: true };
  const { facts } = probed;
  if (violations.length === 0) {
    return { kind: 'accepted', plan: undefined, changes: [], durationSec: facts.durationSec };
  }
  const fixable = allFixable(violations);
  if (!fit || !fixable) return { kind: 'rejected', violations, unfixable: !fixable };
  const plan = planFit(facts, limits);
  return {
    kind: 'accepted',
    plan,
    changes: plan?.changes ?? [],
    durationSec: plan?.durationSec ?? facts.durationSec,
  };
}
