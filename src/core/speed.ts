import { z } from 'zod';
import { expectedTaskMs, type ProcessingSpeed } from './poll.ts';
import type { RecordStore } from './ports.ts';
import { defineScope, openScope } from './records.ts';

/** The stored form of the speed model: measured task time divided by the configured estimate, and how many tasks taught it. */
export const SPEED_SCOPE = defineScope({
  name: 'core.speed',
  schema: z.object({ factor: z.number().positive(), samples: z.number().int().nonnegative() }),
  ttlMs: undefined,
});

/** The stored form of the speed model. */
export type SpeedRecord = z.infer<typeof SPEED_SCOPE.schema>;

/** The one record of the scope: the account's model (one per service, whatever its lanes). */
const SPEED_RECORD_ID = 'model';

/** Restores `model` from the store, when a record was saved. */
export async function loadSpeed(store: RecordStore, model: SpeedModel): Promise<void> {
  model.restore(await openScope(store, SPEED_SCOPE).get(SPEED_RECORD_ID));
}

/** Saves `model` to the store. */
export async function saveSpeed(store: RecordStore, model: SpeedModel): Promise<void> {
  await openScope(store, SPEED_SCOPE).set(SPEED_RECORD_ID, model.toRecord());
}

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
