import { expectedTaskMs, type ProcessingSpeed } from './poll.ts';

/** The stored form of the speed model. */
export interface SpeedRecord {
  /** Measured task time divided by the configured estimate. */
  readonly factor: number;
  readonly samples: number;
}

/** Store key of the speed model. */
export const SPEED_RECORD_KEY = 'speed-model';

/**
 * Measured processing speed as an exponential moving average of "actual task time / configured
 * estimate", so ETAs and polling follow what DashScope really does; it survives restarts through
 * the store. The first samples weigh more so the model warms up quickly.
 */
export class SpeedModel {
  private factor = 1;
  private samples = 0;

  constructor(
    private readonly initial: ProcessingSpeed,
    /** Weight of a new sample once warmed up. */
    private readonly alpha = 0.3,
  ) {}

  /** Expected task time (submit to terminal status) for a clip of `videoSec` seconds. */
  expectedMs(videoSec: number): number {
    return Math.round(this.factor * expectedTaskMs(videoSec, this.initial));
  }

  /** Seconds of processing per second of input video, as currently measured (for a 10 s clip). */
  get secPerVideoSec(): number {
    return this.expectedMs(10) / 10_000;
  }

  /** Number of tasks learned from. */
  get sampleCount(): number {
    return this.samples;
  }

  /** Learns from one finished task. */
  observe(taskMs: number, videoSec: number): void {
    const estimateMs = expectedTaskMs(videoSec, this.initial);
    if (!(taskMs > 0) || !(estimateMs > 0)) return;
    const sample = Math.min(100, Math.max(0.01, taskMs / estimateMs));
    const weight = Math.max(this.alpha, 1 / (this.samples + 1));
    this.factor = this.factor * (1 - weight) + sample * weight;
    this.samples += 1;
  }

  /** What to store. */
  toRecord(): SpeedRecord {
    return { factor: this.factor, samples: this.samples };
  }

  /** Restores a stored model. */
  restore(record: SpeedRecord | undefined): void {
    if (!record || !(record.factor > 0)) return;
    this.factor = record.factor;
    this.samples = record.samples;
  }
}
