import { rm, stat } from 'node:fs/promises';
import { throwIfAborted } from '../../core/errors.ts';
import { FIT_AUDIO_BITRATE_KBPS, FIT_SIZE_MARGIN, type FitPlan } from '../../core/fit.ts';
import type { Transcoder } from '../../core/ports.ts';
import { type FfmpegBinaries, resolveFfmpeg } from './binaries.ts';
import { runProcess, stderrSummary } from './process.ts';
import { fileUrl, SAFE_INPUT_ARGS } from './safe-input.ts';

/** Default time one ffmpeg run gets before it is killed. */
export const DEFAULT_TRANSCODE_TIMEOUT_MS = 10 * 60_000;

/** Options of FfmpegTranscoder; every field has a default. */
export interface FfmpegTranscoderOptions {
  readonly binaries?: FfmpegBinaries;
  readonly timeoutMs?: number;
  /** x264 preset; `veryfast` keeps a 30 s 1080p clip well under a minute on two cores. */
  readonly preset?: string;
  /** x264 constant rate factor used when no bitrate cap is needed (and as the quality under a cap). */
  readonly crf?: number;
}

/** The ffmpeg arguments that apply `plan` to `inputPath`, writing H.264/AAC MP4 to `outputPath`. */
export function ffmpegFitArgs(
  inputPath: string,
  outputPath: string,
  plan: FitPlan,
  options: { preset: string; crf: number; videoBitrateKbps: number | undefined },
): string[] {
  // ffmpeg rotates frames upright before the filters run, so crop and scale work on display sizes;
  // a crop as large as the picture is a no-op.
  const filters = [
    `crop=${plan.crop.width}:${plan.crop.height}`,
    `scale=${plan.size.width}:${plan.size.height}`,
    'setsar=1',
  ];
  const kbps = options.videoBitrateKbps;
  // Capped CRF rather than ABR: x264 spends what the picture needs and the VBV keeps it under the cap,
  // where `-b:v` alone would inflate small clips to the whole budget.
  const rate = kbps === undefined ? [] : ['-maxrate', `${kbps}k`, '-bufsize', `${2 * kbps}k`];
  // A retry with a bitrate cap means the copy came out too big: encode then.
  const picture =
    plan.copyPicture && kbps === undefined
      ? ['-c:v', 'copy']
      : [
          '-vf',
          filters.join(','),
          '-c:v',
          'libx264',
          '-preset',
          options.preset,
          '-crf',
          String(options.crf),
          ...rate,
          '-pix_fmt',
          'yuv420p',
        ];
  return [
    '-nostdin',
    '-hide_banner',
    '-v',
    'error',
    '-y',
    ...SAFE_INPUT_ARGS,
    '-i',
    fileUrl(inputPath),
    '-map',
    '0:V:0',
    '-map',
    '0:a:0?',
    ...(plan.trimToSec === undefined ? [] : ['-t', String(plan.trimToSec)]),
    ...picture,
    '-c:a',
    'aac',
    '-b:a',
    `${FIT_AUDIO_BITRATE_KBPS}k`,
    '-map_metadata',
    '-1',
    // Old ffmpeg (4.x) aborts with "Too many packets buffered" when one stream starts late; its default is 128.
    '-max_muxing_queue_size',
    '1024',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    fileUrl(outputPath),
  ];
}

/** Transcodes clips with ffmpeg so they comply: one run, and one retry at a lower bitrate if still too big. */
export class FfmpegTranscoder implements Transcoder {
  readonly #binaries: FfmpegBinaries | undefined;
  readonly #timeoutMs: number;
  readonly #preset: string;
  readonly #crf: number;

  constructor(options: FfmpegTranscoderOptions = {}) {
    this.#binaries = options.binaries;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TRANSCODE_TIMEOUT_MS;
    this.#preset = options.preset ?? 'veryfast';
    this.#crf = options.crf ?? 23;
  }

  /** Writes `outputPath` by applying `plan`; rejects (and removes the output) on failure or abort. */
  async fit(inputPath: string, outputPath: string, plan: FitPlan, signal?: AbortSignal): Promise<void> {
    try {
      let bitrateKbps = plan.videoBitrateKbps;
      await this.#run(inputPath, outputPath, plan, bitrateKbps, signal);
      let sizeBytes = (await stat(outputPath)).size;
      if (sizeBytes <= plan.maxSizeBytes) return;
      bitrateKbps = retryBitrateKbps(plan, bitrateKbps, sizeBytes);
      await this.#run(inputPath, outputPath, plan, bitrateKbps, signal);
      sizeBytes = (await stat(outputPath)).size;
      if (sizeBytes <= plan.maxSizeBytes) return;
      throw new Error(
        `ffmpeg wrote ${sizeBytes} bytes, more than the ${plan.maxSizeBytes} byte limit, even at ${bitrateKbps} kbps`,
      );
    } catch (error) {
      await rm(outputPath, { force: true });
      throw error;
    }
  }

  async #run(
    inputPath: string,
    outputPath: string,
    plan: FitPlan,
    videoBitrateKbps: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    throwIfAborted(signal);
    const binaries = this.#binaries ?? resolveFfmpeg();
    const args = ffmpegFitArgs(inputPath, outputPath, plan, {
      preset: this.#preset,
      crf: this.#crf,
      videoBitrateKbps,
    });
    const outcome = await runProcess(binaries.ffmpeg, args, {
      env: binaries.env,
      signal,
      timeoutMs: this.#timeoutMs,
    });
    if (outcome.timedOut) throw new Error(`ffmpeg did not finish within ${this.#timeoutMs / 1000} s`);
    if (outcome.exitCode !== 0) {
      const summary = stderrSummary(outcome.stderr, undefined, 5);
      const ending = outcome.signal ? `was killed by ${outcome.signal}` : `exited with ${outcome.exitCode}`;
      throw new Error(`ffmpeg ${ending}: ${summary || 'no error output'}`);
    }
  }
}

/** A video bitrate that should bring an output of `actualBytes` under the limit on a second try. */
function retryBitrateKbps(plan: FitPlan, previousKbps: number | undefined, actualBytes: number): number {
  const targetBytes = plan.maxSizeBytes * FIT_SIZE_MARGIN;
  const measuredTotalKbps = (actualBytes * 8) / Math.max(1, plan.durationSec) / 1000;
  const measuredVideoKbps = Math.max(1, measuredTotalKbps - FIT_AUDIO_BITRATE_KBPS);
  const base = previousKbps === undefined ? measuredVideoKbps : Math.min(previousKbps, measuredVideoKbps);
  // A little below proportional: the first try already showed the encoder overshooting.
  return Math.max(100, Math.floor(base * (targetBytes / actualBytes) * 0.95));
}
