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
  /**
   * How long the file runs as the model measures it: the container's duration, or the picture's
   * when that is longer.
   */
  readonly durationSec: number;
  /** How long the picture (the first video stream) runs. */
  readonly pictureSec: number;
  /** The kind of stream that runs past the picture, when the file is longer than its picture. */
  readonly longerStream?: StreamKind | undefined;
  /** Set when the file holds less picture than it declares (cut short, or its data damaged). */
  readonly incomplete?: Incompleteness | undefined;
  /**
   * Set when the container states no length (an elementary stream, a Matroska file written to a
   * pipe): `durationSec` was read from the packets, but the model reads it from the header.
   */
  readonly undeclaredLength?: boolean | undefined;
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

/** Kinds of stream besides the picture. */
export type StreamKind = 'audio' | 'subtitles' | 'video' | 'data';

/** How much of its picture an incomplete file really holds. */
export interface Incompleteness {
  /** The picture's length as the file's header or index states it. */
  readonly declaredSec: number;
  /** How much of the picture can be read and decoded, from the start. */
  readonly readableSec: number;
  /** The index points at data past the end of the file (a download or copy cut short). */
  readonly pastEnd: boolean;
}

/** What a path names when it is not a regular file. */
export type NotAFileKind = 'directory' | 'fifo' | 'character-device' | 'block-device' | 'socket' | 'other';

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
  | 'embedded-reference'
  /** The path names a folder, a FIFO, a device or a socket (or a link to one), not a file. */
  | 'not-a-file'
  /** An animated picture (e.g. animated WebP) that this ffmpeg cannot decode into video. */
  | 'undecodable-animation'
  /** An MP4/MOV cut short before its index (`moov`) was written: no frame can be located. */
  | 'cut-before-index';

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
      /** For `not-a-file`: what the path names, and whether it got there through a symbolic link. */
      readonly fileKind?: NotAFileKind;
      readonly viaLink?: boolean;
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
  | {
      readonly code: UnreadableReason;
      readonly sizeBytes: number;
      readonly what?: string;
      readonly fileKind?: NotAFileKind;
      readonly viaLink?: boolean;
    }
  | ({ readonly code: 'incomplete' } & Incompleteness)
  | { readonly code: 'length-undeclared'; readonly container: Container }
  | {
      readonly code: 'container-unsupported';
      readonly container: string;
      readonly allowed: readonly string[];
    }
  | { readonly code: 'codec-unsupported'; readonly codec: string }
  | {
      readonly code: 'duration-too-long';
      /** The file's length as the model measures it. */
      readonly durationSec: number;
      readonly maxDurationSec: number;
      /** The picture's length; shorter than `durationSec` when another stream runs on (absent in old records). */
      readonly pictureSec?: number;
      readonly longerStream?: StreamKind | undefined;
    }
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
  'incomplete',
  'length-undeclared',
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
  // An animated picture format (GIF, WebP) carries its own codec: the container sentence says it all.
  const pictureFormat = facts.codec === facts.container;
  if (!limits.codecs.includes(facts.codec) && !pictureFormat) {
    violations.push({ code: 'codec-unsupported', codec: facts.codec });
  }
  if (facts.undeclaredLength && limits.containers.includes(facts.container)) {
    // (An unsupported container is converted anyway: its sentence covers this one.)
    violations.push({ code: 'length-undeclared', container: facts.container });
  }
  if (facts.incomplete) {
    // What the file declares is not there, so its declared length says nothing about the clip.
    violations.push({ code: 'incomplete', ...facts.incomplete });
  } else if (facts.durationSec > limits.maxDurationSec) {
    violations.push({
      code: 'duration-too-long',
      durationSec: facts.durationSec,
      maxDurationSec: limits.maxDurationSec,
      pictureSec: facts.pictureSec,
      ...(facts.longerStream && facts.durationSec > facts.pictureSec
        ? { longerStream: facts.longerStream }
        : {}),
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
    const { reason, sizeBytes, what, fileKind, viaLink } = result;
    // Too big is certain whatever the content: said first, with the bytes.
    const tooLarge: LimitViolation[] =
      sizeBytes > limits.maxSizeBytes
        ? [{ code: 'file-too-large', sizeBytes, maxSizeBytes: limits.maxSizeBytes }]
        : [];
    return [
      ...tooLarge,
      {
        code: reason,
        sizeBytes,
        ...(what === undefined ? {} : { what }),
        ...(fileKind === undefined ? {} : { fileKind, viaLink: viaLink ?? false }),
      },
    ];
  }
  return checkVideo(result.facts, limits);
}
