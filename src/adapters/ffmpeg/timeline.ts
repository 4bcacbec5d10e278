import type { Incompleteness, StreamKind } from '../../core/limits.ts';
import type { PacketScan, StreamScan } from './ffprobe.ts';

/** A stream as the header declares it, before the packets are read. */
export interface DeclaredStream {
  readonly index: number;
  /** The stream's length as its header or index states it, when it states one. */
  readonly declaredSec: number | undefined;
}

/** What the header declares and what reading the packets found. */
export interface TimelineInput {
  readonly picture: DeclaredStream & { readonly frameRate: number | undefined };
  readonly others: readonly (DeclaredStream & { readonly kind: StreamKind })[];
  /** The container's duration. */
  readonly formatSec: number | undefined;
  /** `undefined` when the scan could not run; the declared figures are then taken as they are. */
  readonly scan: PacketScan | undefined;
  /** The scan read only this much from the start. */
  readonly windowSec: number | undefined;
}

/** How long the file and its picture really run, and whether it holds what it declares. */
export interface Timeline {
  readonly durationSec: number;
  readonly pictureSec: number;
  readonly longerStream: StreamKind | undefined;
  readonly incomplete: Incompleteness | undefined;
}

/** A stream ending this close to the file's end is what makes the file that long. */
const STREAM_SLACK_SEC = 0.1;
/** Less picture than declared by at least this share (and `MISSING_MIN_SEC`) makes a file incomplete. */
const MISSING_MIN_SHARE = 0.1;
const MISSING_MIN_SEC = 0.5;

function relative(at: number | undefined, origin: number): number | undefined {
  return at === undefined ? undefined : Math.max(0, at - origin);
}

/** Where the decodable part of a stream ends, when something after it failed to decode. */
function damagedFrom(scan: StreamScan, origin: number, picture: boolean): number | undefined {
  if (scan.packets === 0) return undefined;
  // Nothing at all decodes: the stream's data is not there (or is garbage).
  if (scan.frames === 0) return picture ? 0 : undefined;
  // Zero-filled data (a download or copy that reserved the space and never wrote it) decodes as
  // garbage or not at all from its first packet on.
  const zeroedFrom = relative(scan.zeroedFromSec, origin);
  if (picture) return earliest(relative(scan.undecodedKeySec, origin), zeroedFrom);
  const decodedEnd = earliest(relative(scan.decodedEndSec, origin), zeroedFrom);
  const end = relative(scan.endSec, origin);
  if (decodedEnd === undefined || end === undefined) return undefined;
  return end - decodedEnd >= Math.max(MISSING_MIN_SEC, MISSING_MIN_SHARE * end) ? decodedEnd : undefined;
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.min(a, b);
}

/**
 * The file's real timeline: the picture's length (declared, or read where nothing is declared), the
 * length the model measures (the container's, or a longer stream's), which stream runs past the
 * picture, and whether the picture falls much short of what the file declares. `undefined` when no
 * length can be known.
 */
export function readTimeline(input: TimelineInput): Timeline | undefined {
  const { picture, others, scan } = input;
  const scans = scan?.streams ?? new Map<number, StreamScan>();
  const starts = [...scans.values()].map((s) => s.startSec).filter((s): s is number => s !== undefined);
  const origin = starts.length > 0 ? Math.min(...starts) : 0;
  const pictureScan = scans.get(picture.index);

  let readableSec = relative(pictureScan?.endSec, origin);
  if (readableSec === undefined && pictureScan && picture.frameRate !== undefined) {
    // Elementary streams carry no timestamps: count their frames.
    readableSec = pictureScan.packets / picture.frameRate;
  }
  const declaredSec = picture.declaredSec ?? input.formatSec ?? readableSec;
  if (declaredSec === undefined) return undefined;

  let incomplete: Incompleteness | undefined;
  if (scan && pictureScan) {
    const damage = [
      damagedFrom(pictureScan, origin, true),
      ...others.map((other) => {
        const found = scans.get(other.index);
        return found && other.kind === 'audio' ? damagedFrom(found, origin, false) : undefined;
      }),
    ].filter((at): at is number => at !== undefined);
    const usableSec = Math.min(readableSec ?? declaredSec, ...damage);
    const expectedSec = input.windowSec === undefined ? declaredSec : Math.min(declaredSec, input.windowSec);
    const missingSec = expectedSec - usableSec;
    if (scan.pastEnd || missingSec >= Math.max(MISSING_MIN_SEC, MISSING_MIN_SHARE * expectedSec)) {
      incomplete = { declaredSec, readableSec: Math.max(0, usableSec), pastEnd: scan.pastEnd };
    }
  } else if (scan && !pictureScan) {
    incomplete = { declaredSec, readableSec: 0, pastEnd: scan.pastEnd };
  }

  // Where the header is silent (Matroska keeps no per-stream length) the packets tell.
  const pictureSec = picture.declaredSec ?? readableSec ?? declaredSec;
  let longest: { kind: StreamKind; sec: number } | undefined;
  for (const other of others) {
    const sec = other.declaredSec ?? relative(scans.get(other.index)?.endSec, origin);
    if (sec !== undefined && (longest === undefined || sec > longest.sec))
      longest = { kind: other.kind, sec };
  }
  const durationSec = Math.max(pictureSec, input.formatSec ?? 0, longest?.sec ?? 0);
  // The stream that makes the file longer than its picture; none when only the container's own
  // length does (a header that declares more than any stream holds, or a late start).
  const longerStream =
    longest && longest.sec > pictureSec + 1e-3 && longest.sec >= durationSec - STREAM_SLACK_SEC
      ? longest.kind
      : undefined;
  return {
    durationSec: ms(durationSec),
    pictureSec: ms(pictureSec),
    longerStream,
    incomplete: incomplete && {
      ...incomplete,
      declaredSec: ms(incomplete.declaredSec),
      readableSec: ms(incomplete.readableSec),
    },
  };
}

/** Seconds to the millisecond: what ffprobe's figures are worth, and no float noise in records. */
function ms(sec: number): number {
  return Math.round(sec * 1000) / 1000;
}
