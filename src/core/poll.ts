/** Tuning of the status-polling schedule. */
export interface PollScheduleOptions {
  /** Longest interval near the expected end, where completion is most likely. */
  readonly denseIntervalMs: number;
  /** Near the end, short tasks poll every `denseFraction` of their expected time (not below the floor). */
  readonly denseFraction: number;
  readonly minDenseIntervalMs: number;
  /** Longest interval, far from the expected end or long after it. */
  readonly maxIntervalMs: number;
  /** Shortest interval while far from the end; also the first delay with no estimate. */
  readonly minSparseIntervalMs: number;
  /** The dense window opens at this fraction of the expected duration… */
  readonly windowStartFraction: number;
  /** …and closes at this fraction; after it the interval grows again. */
  readonly windowEndFraction: number;
  /** After the window, each elapsed second adds this many milliseconds to the interval. */
  readonly overrunGrowthMsPerSec: number;
}

/** Defaults: ≤ 0.5 q/s on average, ≤ 2.5 q/s at the densest (the account allows 20 q/s). */
export const DEFAULT_POLL_SCHEDULE = {
  denseIntervalMs: 400,
  denseFraction: 0.04,
  minDenseIntervalMs: 100,
  maxIntervalMs: 5_000,
  minSparseIntervalMs: 1_000,
  windowStartFraction: 0.8,
  windowEndFraction: 1.3,
  overrunGrowthMsPerSec: 100,
} as const satisfies PollScheduleOptions;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * How long to wait before the next status query of a task that has run for `elapsedMs` and is
 * expected to take `expectedMs` (undefined when nothing is known). Sparse while the end is far,
 * dense around the expected end, growing again if the task overruns.
 */
export function nextPollDelayMs(
  elapsedMs: number,
  expectedMs: number | undefined,
  options: PollScheduleOptions = DEFAULT_POLL_SCHEDULE,
): number {
  if (expectedMs === undefined || expectedMs <= 0) {
    // No estimate: the SDKs' ramp (1, 1, 2, 2, 4… s), capped.
    return clamp(elapsedMs * 0.25, options.minSparseIntervalMs, options.maxIntervalMs);
  }
  // Short tasks poll more densely so the lane hands over quickly (a 3 s task: every 120 ms).
  const denseMs = clamp(
    expectedMs * options.denseFraction,
    options.minDenseIntervalMs,
    options.denseIntervalMs,
  );
  const windowStartMs = expectedMs * options.windowStartFraction;
  const windowEndMs = expectedMs * options.windowEndFraction;
  if (elapsedMs < windowStartMs) {
    // Halve the distance to the window each time: few queries far out, none overshooting it.
    const untilWindowMs = windowStartMs - elapsedMs;
    return clamp(untilWindowMs / 2, denseMs, options.maxIntervalMs);
  }
  if (elapsedMs <= windowEndMs) return denseMs;
  const overrunSec = (elapsedMs - windowEndMs) / 1000;
  return clamp(denseMs + overrunSec * options.overrunGrowthMsPerSec, denseMs, options.maxIntervalMs);
}

/** What is known in advance about how long a task takes. */
export interface ProcessingSpeed {
  /** Seconds of processing per second of input video. */
  readonly secPerVideoSec: number;
  /** Fixed cost of a task (scheduling, download, upload), in seconds. */
  readonly overheadSec: number;
}

/** A starting estimate, from the reference's example (10 s of video done in 26.5 s). */
export const DEFAULT_PROCESSING_SPEED = {
  secPerVideoSec: 2.2,
  overheadSec: 4,
} as const satisfies ProcessingSpeed;

/** Expected time from submit to a terminal status for a clip of `videoSec` seconds. */
export function expectedTaskMs(videoSec: number, speed: ProcessingSpeed = DEFAULT_PROCESSING_SPEED): number {
  return Math.round((speed.overheadSec + speed.secPerVideoSec * Math.max(0, videoSec)) * 1000);
}
