/** Containers, as the probe names them after normalising ffprobe's demuxer names. */
export type Container =
  | 'mp4'
  | 'mov'
  | 'avi'
  | 'mkv'
  | 'webm'
  | 'flv'
  | 'ts'
  | 'mpg'
  | 'mxf'
  | '3gp'
  | 'asf'
  | 'ogg'
  | (string & {});

/** What a probe learned about a local file. Display sizes already account for rotation. */
export interface VideoFacts {
  readonly container: Container;
  /** ffprobe's demuxer name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  readonly formatName: string;
  readonly sizeBytes: number;
  readonly durationSec: number;
  readonly codec: string;
  /** Coded size of the first video stream. */
  readonly width: number;
  readonly height: number;
  /** Clockwise rotation the player applies (0, 90, 180, 270). */
  readonly rotationDeg: number;
  /** Size as a viewer sees it (width and height swapped for 90°/270°). */
  readonly displayWidth: number;
  readonly displayHeight: number;
  readonly frameRate: number | undefined;
  readonly hasAudio: boolean;
}

/** Why a file could not be turned into facts at all. */
export type UnreadableReason =
  /** The file has no bytes. */
  | 'empty-file'
  /** Not a media file ffprobe can read (text, truncated or damaged file). */
  | 'unreadable'
  /** A still image (PNG, JPEG, GIF, WebP, BMP…), not a video. */
  | 'still-image'
  /** Media without a video stream (audio only, subtitles only). */
  | 'no-video-stream'
  /** The file embeds a playlist or references to other files or URLs (HLS, concat…). */
  | 'embedded-reference';

/** The outcome of probing a file: facts, or the reason there are none. */
export type ProbeResult =
  | { readonly kind: 'video'; readonly facts: VideoFacts }
  | {
      readonly kind: 'unreadable';
      readonly reason: UnreadableReason;
      readonly sizeBytes: number;
      /** A short technical detail for logs (never shown as the only explanation). */
      readonly detail?: string;
      /** For still images and audio: what it is instead, e.g. `PNG image`, `mp3 audio`. */
      readonly what?: string;
    };

/** The model's input limits. */
export interface VideoLimits {
  readonly minSidePx: number;
  readonly maxSidePx: number;
  /** Long side divided by short side. */
  readonly maxAspectRatio: number;
  readonly maxDurationSec: number;
  readonly maxSizeBytes: number;
  readonly containers: readonly Container[];
  /** Video codecs the model is known to read; others are re-encoded by `--fit`. */
  readonly codecs: readonly string[];
}

/** Limits of `video-style-transform` as documented. */
export const DEFAULT_LIMITS = {
  minSidePx: 256,
  maxSidePx: 4096,
  maxAspectRatio: 1.8,
  maxDurationSec: 30,
  maxSizeBytes: 100_000_000,
  containers: ['mp4', 'avi', 'mkv', 'mov', 'flv', 'ts', 'mpg', 'mxf'],
  codecs: [
    'h264',
    'hevc',
    'mpeg4',
    'mpeg1video',
    'mpeg2video',
    'vp8',
    'vp9',
    'av1',
    'mjpeg',
    'prores',
    'dnxhd',
    'flv1',
    'h263',
  ],
} as const satisfies VideoLimits;

/** A limit the clip breaks, with the numbers to explain it. `code` is stable and keys the wording. */
export type LimitViolation =
  | { readonly code: UnreadableReason; readonly sizeBytes: number; readonly what?: string }
  | {
      readonly code: 'container-unsupported';
      readonly container: string;
      readonly allowed: readonly string[];
    }
  | { readonly code: 'codec-unsupported'; readonly codec: string }
  | { readonly code: 'duration-too-long'; readonly durationSec: number; readonly maxDurationSec: number }
  | { readonly code: 'file-too-large'; readonly sizeBytes: number; readonly maxSizeBytes: number }
  | {
      readonly code: 'side-too-small';
      readonly width: number;
      readonly height: number;
      readonly minSidePx: number;
    }
  | {
      readonly code: 'side-too-large';
      readonly width: number;
      readonly height: number;
      readonly maxSidePx: number;
    }
  | {
      readonly code: 'aspect-too-wide';
      readonly width: number;
      readonly height: number;
      readonly ratio: number;
      readonly maxAspectRatio: number;
    };

export type LimitViolationCode = LimitViolation['code'];

/** Violations that `--fit` can repair by transcoding; the others need a different file. */
export const FIXABLE_CODES: ReadonlySet<LimitViolationCode> = new Set([
  'container-unsupported',
  'codec-unsupported',
  'duration-too-long',
  'file-too-large',
  'side-too-small',
  'side-too-large',
  'aspect-too-wide',
]);

/** True when every violation can be repaired by `--fit`. */
export function allFixable(violations: readonly LimitViolation[]): boolean {
  return violations.every((violation) => FIXABLE_CODES.has(violation.code));
}

/** Every limit the facts break, all at once; an empty list means the clip is accepted. */
export function checkVideo(facts: VideoFacts, limits: VideoLimits = DEFAULT_LIMITS): LimitViolation[] {
  const violations: LimitViolation[] = [];
  if (!limits.containers.includes(facts.container)) {
    violations.push({
      code: 'container-unsupported',
      container: facts.container,
      allowed: limits.containers,
    });
  }
  if (!limits.codecs.includes(facts.codec)) {
    violations.push({ code: 'codec-unsupported', codec: facts.codec });
  }
  if (facts.durationSec > limits.maxDurationSec) {
    violations.push({
      code: 'duration-too-long',
      durationSec: facts.durationSec,
      maxDurationSec: limits.maxDurationSec,
    });
  }
  if (facts.sizeBytes > limits.maxSizeBytes) {
    violations.push({
      code: 'file-too-large',
      sizeBytes: facts.sizeBytes,
      maxSizeBytes: limits.maxSizeBytes,
    });
  }
  const width = facts.displayWidth;
  const height = facts.displayHeight;
  if (Math.min(width, height) < limits.minSidePx) {
    violations.push({ code: 'side-too-small', width, height, minSidePx: limits.minSidePx });
  }
  if (Math.max(width, height) > limits.maxSidePx) {
    violations.push({ code: 'side-too-large', width, height, maxSidePx: limits.maxSidePx });
  }
  const ratio = Math.max(width, height) / Math.max(1, Math.min(width, height));
  if (ratio > limits.maxAspectRatio + 1e-9) {
    violations.push({ code: 'aspect-too-wide', width, height, ratio, maxAspectRatio: limits.maxAspectRatio });
  }
  return violations;
}

/** Violations for any probe outcome: the unreadable reason, or the broken limits. */
export function checkProbe(result: ProbeResult, limits: VideoLimits = DEFAULT_LIMITS): LimitViolation[] {
  if (result.kind === 'unreadable') {
    return [
      result.what === undefined
        ? { code: result.reason, sizeBytes: result.sizeBytes }
        : { code: result.reason, sizeBytes: result.sizeBytes, what: result.what },
    ];
  }
  return checkVideo(result.facts, limits);
}
