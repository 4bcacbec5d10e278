import { stat } from 'node:fs/promises';
import { isAbort, RemoteError } from '../../core/errors.ts';
import { planFit } from '../../core/fit.ts';
import { DEFAULT_LIMITS, type VideoFacts, type VideoLimits } from '../../core/limits.ts';
import type { Logger, Transcoder, VideoProbe } from '../../core/ports.ts';
import { formatMebibytes } from '../../text/index.ts';

/** A result ready to upload. */
export interface FittedUpload {
  readonly path: string;
  readonly bytes: number;
  /** Size, length and rotation as probed; `undefined` when the probe could not read it. */
  readonly facts: VideoFacts | undefined;
  /** Bytes of the original when it had to be re-encoded. */
  readonly shrunkFromBytes: number | undefined;
}

/** What fitting needs. */
export interface UploadFitterOptions {
  readonly probe: VideoProbe;
  readonly transcoder: Transcoder;
  readonly tempPath: (suffix: string) => string;
  readonly remove: (path: string) => Promise<void>;
  readonly logger: Logger;
}

/** Shares of the limit a re-encode aims for, each tried when the one before still came out too big. */
const TARGETS = [0.92, 0.75, 0.55] as const;

/** The error when a result cannot be brought under a platform's upload limit. */
export function resultTooLarge(bytes: number, maxBytes: number): RemoteError {
  return new RemoteError({
    kind: 'result',
    code: 'ResultTooLarge',
    message: `the result (${formatMebibytes(bytes)}) could not be brought under the ${formatMebibytes(maxBytes)} upload limit`,
  });
}

/**
 * Brings results under a chat platform's upload limit by re-encoding them to H.264 at a bitrate
 * that fits, keeping their size and length. Temporary files are the caller's to `release`.
 */
export class UploadFitter {
  private readonly temps = new Set<string>();

  constructor(private readonly options: UploadFitterOptions) {}

  /** The file itself when it fits, else a re-encoded copy; rejects when no target fits. */
  async fit(path: string, maxBytes: number, signal?: AbortSignal): Promise<FittedUpload> {
    const bytes = (await stat(path)).size;
    const facts = await this.facts(path, signal);
    if (bytes <= maxBytes) return { path, bytes, facts, shrunkFromBytes: undefined };
    if (!facts) throw resultTooLarge(bytes, maxBytes);
    for (const target of TARGETS) {
      const out = this.options.tempPath('.mp4');
      this.temps.add(out);
      try {
        await this.shrink(path, facts, out, Math.floor(maxBytes * target), signal);
      } catch (error) {
        if (isAbort(error)) throw error;
        // The encoder could not reach this size (it refuses to write past its cap): try smaller.
        this.options.logger.info('re-encoding did not reach the size', { maxBytes, error: String(error) });
        continue;
      }
      const outBytes = (await stat(out)).size;
      if (outBytes <= maxBytes) {
        return { path: out, bytes: outBytes, facts: await this.facts(out, signal), shrunkFromBytes: bytes };
      }
    }
    throw resultTooLarge(bytes, maxBytes);
  }

  /** Removes every re-encoded copy made so far. */
  async release(): Promise<void> {
    for (const temp of this.temps) await this.options.remove(temp);
    this.temps.clear();
  }

  private async facts(path: string, signal?: AbortSignal): Promise<VideoFacts | undefined> {
    const probed = await this.options.probe.probe(path, signal);
    return probed.kind === 'video' ? probed.facts : undefined;
  }

  private async shrink(
    path: string,
    facts: VideoFacts,
    out: string,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<void> {
    // Only the size limit applies: the model already produced a clip of the right shape and length.
    const limits: VideoLimits = {
      ...DEFAULT_LIMITS,
      minSidePx: 1,
      maxSidePx: Math.max(facts.displayWidth, facts.displayHeight, DEFAULT_LIMITS.maxSidePx),
      maxAspectRatio: Number.POSITIVE_INFINITY,
      maxDurationSec: Math.ceil(facts.durationSec) + 1,
      maxSizeBytes: maxBytes,
    };
    const plan = planFit({ ...facts, sizeBytes: Math.max(facts.sizeBytes, maxBytes + 1) }, limits);
    if (!plan) throw resultTooLarge(facts.sizeBytes, maxBytes);
    this.options.logger.info('re-encoding a result to fit an upload limit', {
      fromBytes: facts.sizeBytes,
      maxBytes,
      videoBitrateKbps: plan.videoBitrateKbps,
    });
    await this.options.transcoder.fit(path, out, plan, signal);
  }
}
