import {
  type Container,
  checkVideo,
  DEFAULT_LIMITS,
  type StreamKind,
  type VideoFacts,
  type VideoLimits,
} from './limits.ts';

/** Width and height in pixels, as displayed. */
export interface Size {
  readonly width: number;
  readonly height: number;
}

/** One change `--fit` makes to a clip, with the numbers to tell the user. */
export type FitChange =
  /** The picture cut to the limit (`toSec` is the cut planned, then the length measured). */
  | { readonly kind: 'trim'; readonly fromSec: number; readonly toSec: number }
  /**
   * The file ended where the picture ends: another stream (audio…) ran past it, or, with no
   * `stream`, the container itself declared more than any stream holds.
   */
  | {
      readonly kind: 'cut-streams';
      readonly stream: StreamKind | undefined;
      readonly fromSec: number;
      readonly toSec: number;
    }
  /** An incomplete file: the part that decodes, re-encoded (`keptSec` planned, then measured). */
  | { readonly kind: 'salvage'; readonly declaredSec: number; readonly keptSec: number }
  | { readonly kind: 'scale'; readonly from: Size; readonly to: Size }
  | { readonly kind: 'crop'; readonly from: Size; readonly to: Size }
  | { readonly kind: 'reencode'; readonly fromCodec: string; readonly toCodec: string }
  | { readonly kind: 'remux'; readonly fromContainer: Container; readonly toContainer: Container }
  /** The input's size, the limit, and once fitted the size reached. */
  | {
      readonly kind: 'shrink';
      readonly fromBytes: number;
      readonly maxBytes: number;
      readonly toBytes?: number | undefined;
    };

/** How to transcode a clip so it complies, and what that changes. */
export interface FitPlan {
  readonly changes: readonly FitChange[];
  /** Output display size (even numbers, within the limits). */
  readonly size: Size;
  /** Crop applied before scaling, centred; equal to the input display size when nothing is cropped. */
  readonly crop: Size;
  readonly maxDurationSec: number;
  /**
   * Where to cut (ffmpeg's `-t`), or `undefined` to keep everything. A little short of
   * `maxDurationSec`, because the last frame kept lasts one frame period past its start.
   */
  readonly trimToSec: number | undefined;
  /** Expected output duration: the input's, or `trimToSec` when trimmed. */
  readonly durationSec: number;
  /** Target video bitrate when the size must shrink; `undefined` lets the encoder choose quality. */
  readonly videoBitrateKbps: number | undefined;
  readonly maxSizeBytes: number;
  /**
   * The picture already complies and is H.264: only the container or the streams around it change,
   * so it is copied as it is (no quality lost, and quick) rather than encoded again.
   */
  readonly copyPicture: boolean;
}

/** Changes that leave the picture itself as it is. */
const PICTURE_KEEPING: ReadonlySet<FitChange['kind']> = new Set(['cut-streams', 'remux']);

/** Codec every fitted clip is encoded with. */
export const FIT_VIDEO_CODEC = 'h264';
/** Container every fitted clip is written in. */
export const FIT_CONTAINER: Container = 'mp4';
/** Audio bitrate of fitted clips (AAC). */
export const FIT_AUDIO_BITRATE_KBPS = 128;
/** Share of `maxSizeBytes` a size-capped encode aims for, leaving room for container overhead and overshoot. */
export const FIT_SIZE_MARGIN = 0.9;
/** Frame period assumed when the frame rate is unknown. */
const FALLBACK_FRAME_SEC = 0.1;
/** Never ask the encoder for less than this, however long the clip. */
const MIN_VIDEO_BITRATE_KBPS = 100;

// Floating-point noise (200 × 1.28 = 256.00000000000003) must not push a side to the next even number.
const EPSILON = 1e-6;

function floorEven(value: number): number {
  return 2 * Math.floor(value / 2 + EPSILON);
}

function ceilEven(value: number): number {
  return 2 * Math.ceil(value / 2 - EPSILON);
}

function sameSize(a: Size, b: Size): boolean {
  return a.width === b.width && a.height === b.height;
}

/** The centred crop that brings the long side down to `maxAspectRatio` times the short side. */
function cropToAspect(display: Size, maxAspectRatio: number): Size {
  const landscape = display.width >= display.height;
  const long = landscape ? display.width : display.height;
  const short = landscape ? display.height : display.width;
  if (long / Math.max(1, short) <= maxAspectRatio + 1e-9) return display;
  // Crop rather than pad: bars would be restyled along with the picture.
  const croppedLong = Math.max(short, floorEven(short * maxAspectRatio));
  return landscape ? { width: croppedLong, height: short } : { width: short, height: croppedLong };
}

/** The even size closest to `crop`'s aspect with both sides within the limits. */
function scaleWithin(crop: Size, limits: VideoLimits): Size {
  const landscape = crop.width >= crop.height;
  const long = landscape ? crop.width : crop.height;
  const short = Math.max(1, landscape ? crop.height : crop.width);
  let factor = 1;
  if (short < limits.minSidePx) factor = limits.minSidePx / short;
  if (long * factor > limits.maxSidePx) factor = limits.maxSidePx / long;
  const minSide = ceilEven(limits.minSidePx);
  const maxSide = floorEven(limits.maxSidePx);
  // Long side rounds down and short side up, so rounding never widens the aspect ratio.
  const scaledLong = Math.min(maxSide, Math.max(minSide, floorEven(long * factor)));
  const scaledShort = Math.min(scaledLong, maxSide, Math.max(minSide, ceilEven(short * factor)));
  return landscape ? { width: scaledLong, height: scaledShort } : { width: scaledShort, height: scaledLong };
}

/**
 * How to transcode `facts` so the clip passes `checkVideo`: trim, centre-crop, scale, re-encode to
 * H.264 in MP4 and, when the estimate is too big, cap the bitrate. `undefined` when nothing is wrong.
 */
export function planFit(facts: VideoFacts, limits: VideoLimits = DEFAULT_LIMITS): FitPlan | undefined {
  if (checkVideo(facts, limits).length === 0) return undefined;
  const changes: FitChange[] = [];

  // An incomplete file is re-encoded as far as it decodes; that is the picture fitting works with.
  const pictureSec = facts.incomplete?.readableSec ?? facts.pictureSec;
  let trimToSec: number | undefined;
  if (facts.incomplete) {
    trimToSec = facts.incomplete.readableSec;
    changes.push({
      kind: 'salvage',
      declaredSec: facts.incomplete.declaredSec,
      keptSec: facts.incomplete.readableSec,
    });
  }
  if (pictureSec > limits.maxDurationSec) {
    // A cut at 30 s keeps the frame starting at 29.97 s, which ends at 30.003 s; stop 1.5 frames early.
    // Rates above 60 fps are more often timebase artefacts than real; assume 60 for the margin.
    const frameSec = facts.frameRate ? 1 / Math.min(facts.frameRate, 60) : FALLBACK_FRAME_SEC;
    trimToSec = Math.max(0, Math.floor((limits.maxDurationSec - 1.5 * frameSec) * 1000) / 1000);
    changes.push({ kind: 'trim', fromSec: pictureSec, toSec: trimToSec });
  } else if (!facts.incomplete && facts.durationSec > limits.maxDurationSec) {
    // The picture fits but another stream runs on: end the whole file where the picture ends.
    trimToSec = pictureSec;
    changes.push({
      kind: 'cut-streams',
      stream: facts.longerStream,
      fromSec: facts.durationSec,
      toSec: pictureSec,
    });
  }
  const durationSec = trimToSec ?? facts.durationSec;
  const sourceSec = facts.incomplete?.declaredSec ?? facts.durationSec;

  const display: Size = { width: facts.displayWidth, height: facts.displayHeight };
  const crop = cropToAspect(display, limits.maxAspectRatio);
  if (!sameSize(crop, display)) changes.push({ kind: 'crop', from: display, to: crop });
  const size = scaleWithin(crop, limits);
  if (!sameSize(size, crop)) changes.push({ kind: 'scale', from: crop, to: size });

  if (facts.codec !== FIT_VIDEO_CODEC) {
    changes.push({ kind: 'reencode', fromCodec: facts.codec, toCodec: FIT_VIDEO_CODEC });
  }
  if (facts.container !== FIT_CONTAINER) {
    changes.push({ kind: 'remux', fromContainer: facts.container, toContainer: FIT_CONTAINER });
  }

  // Bytes scale roughly with duration and pixel count; the input's own bitrate is the best guess we have.
  const durationShare = sourceSec > 0 ? Math.min(1, durationSec / sourceSec) : 1;
  const pixelShare = (size.width * size.height) / Math.max(1, display.width * display.height);
  const estimatedBytes = Math.round(facts.sizeBytes * durationShare * pixelShare);
  let videoBitrateKbps: number | undefined;
  if (estimatedBytes > limits.maxSizeBytes) {
    const budgetKbps = (limits.maxSizeBytes * FIT_SIZE_MARGIN * 8) / Math.max(1, durationSec) / 1000;
    const audioKbps = facts.hasAudio ? FIT_AUDIO_BITRATE_KBPS : 0;
    videoBitrateKbps = Math.max(MIN_VIDEO_BITRATE_KBPS, Math.floor(budgetKbps - audioKbps));
    changes.push({ kind: 'shrink', fromBytes: facts.sizeBytes, maxBytes: limits.maxSizeBytes });
  }

  return {
    changes,
    size,
    crop,
    maxDurationSec: limits.maxDurationSec,
    trimToSec,
    durationSec,
    videoBitrateKbps,
    maxSizeBytes: limits.maxSizeBytes,
    copyPicture: changes.every((change) => PICTURE_KEEPING.has(change.kind)),
  };
}

/**
 * The changes as they turned out, from the fitted file's facts: the length really kept and the size
 * really reached, so what the requester reads names the real before and after.
 */
export function measuredChanges(changes: readonly FitChange[], fitted: VideoFacts): FitChange[] {
  return changes.map((change) => {
    switch (change.kind) {
      case 'trim':
        return { ...change, toSec: fitted.pictureSec };
      case 'cut-streams':
        return { ...change, toSec: fitted.durationSec };
      case 'salvage':
        return { ...change, keptSec: fitted.pictureSec };
      case 'shrink':
        return { ...change, toBytes: fitted.sizeBytes };
      default:
        return change;
    }
  });
}
