import type { FfmpegBinaries } from './binaries.ts';
import { resolveFfmpeg } from './binaries.ts';
import { runProcess, stderrSummary } from './process.ts';
import { fileUrl, SAFE_INPUT_ARGS } from './safe-input.ts';

/** Default time ffprobe gets before it is killed. */
export const DEFAULT_PROBE_TIMEOUT_MS = 20_000;

/** One stream as ffprobe's JSON describes it (only the fields we read). */
export interface FfprobeStream {
  readonly index?: number;
  readonly codec_name?: string;
  readonly codec_type?: string;
  readonly width?: number;
  readonly height?: number;
  readonly avg_frame_rate?: string;
  readonly r_frame_rate?: string;
  readonly duration?: string;
  readonly nb_frames?: string;
  readonly disposition?: Readonly<Record<string, number>>;
  readonly tags?: Readonly<Record<string, string>>;
  readonly side_data_list?: readonly Readonly<Record<string, unknown>>[];
}

/** ffprobe's JSON for `-show_format -show_streams` (only the fields we read). */
export interface FfprobeOutput {
  readonly streams?: readonly FfprobeStream[];
  readonly format?: {
    readonly format_name?: string;
    readonly duration?: string;
    readonly tags?: Readonly<Record<string, string>>;
  };
}

/** What one ffprobe run produced: its parsed JSON, or why it failed. */
export type FfprobeRun =
  | { readonly ok: true; readonly output: FfprobeOutput }
  | { readonly ok: false; readonly detail: string; readonly timedOut: boolean };

/** The exact ffprobe arguments for `path` and `sections` (whitelists first, `file:` URL last). */
function ffprobeArgs(path: string, sections: readonly string[]): string[] {
  return ['-v', 'error', ...SAFE_INPUT_ARGS, '-print_format', 'json=c=1', ...sections, fileUrl(path)];
}

/**
 * The scan's sections: every packet of every stream (read, not decoded), and the picture's key
 * frames decoded, up to `windowSec` after the start (a clip far over the limit need not be read to
 * its end). Kept out of the streams run: reading packets rewrites the durations ffprobe then prints
 * for streams whose header declares none (Matroska), which would hide what the file declares.
 */
function scanSections(windowSec: number): string[] {
  return [
    // Pictures decode only at key frames: enough to see whether the data behind the index is there.
    '-skip_frame',
    'nokey',
    // A checksum of each packet tells data that was never written (zero-filled) from real data.
    '-show_data_hash',
    'adler32',
    '-show_entries',
    'packet=stream_index,pts_time,dts_time,duration_time,flags,size,data_hash:frame=stream_index,best_effort_timestamp_time,pkt_duration_time,duration_time',
    '-read_intervals',
    `%+${windowSec}`,
  ];
}

const MAX_FFPROBE_JSON_BYTES = 64 * 1024 * 1024;

interface ProbeRunOptions {
  readonly binaries?: FfmpegBinaries;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number;
}

/** Runs ffprobe for the streams and format of `path`; resolves with its JSON or a short failure detail. */
export function runFfprobe(path: string, options: ProbeRunOptions = {}): Promise<FfprobeRun> {
  return runJson(path, ['-show_format', '-show_streams'], options).then((run) =>
    run.ok ? { ok: true, output: run.json as FfprobeOutput } : run,
  );
}

/**
 * Reads the packets of `path` (the first `windowSec` of them) to learn how much of each stream the
 * file really holds; `undefined` when ffprobe could not read it to the end of the window.
 */
export async function scanPackets(
  path: string,
  options: ProbeRunOptions & { readonly windowSec: number },
): Promise<PacketScan | undefined> {
  const run = await runJson(path, scanSections(options.windowSec), options);
  if (!run.ok) return undefined;
  const entries = (run.json as { packets_and_frames?: ScanEntry[] }).packets_and_frames ?? [];
  // "partial file": the demuxer met a sample that its index places past the end of the file.
  return { streams: summarise(entries), pastEnd: /partial file/i.test(run.stderr) };
}

type JsonRun =
  | { readonly ok: true; readonly json: unknown; readonly stderr: string }
  | { readonly ok: false; readonly detail: string; readonly timedOut: boolean };

async function runJson(
  path: string,
  sections: readonly string[],
  options: ProbeRunOptions,
): Promise<JsonRun> {
  const binaries = options.binaries ?? resolveFfmpeg();
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const outcome = await runProcess(binaries.ffprobe, ffprobeArgs(path, sections), {
    env: binaries.env,
    signal: options.signal,
    timeoutMs,
    maxStdoutBytes: MAX_FFPROBE_JSON_BYTES,
  });
  if (outcome.timedOut) {
    return { ok: false, detail: `ffprobe did not finish within ${timeoutMs / 1000} s`, timedOut: true };
  }
  if (outcome.exitCode !== 0) {
    const summary = stderrSummary(outcome.stderr, path);
    const ending = outcome.signal ? `was killed by ${outcome.signal}` : `exited with ${outcome.exitCode}`;
    return { ok: false, detail: summary === '' ? `ffprobe ${ending}` : summary, timedOut: false };
  }
  try {
    return { ok: true, json: JSON.parse(outcome.stdout), stderr: outcome.stderr };
  } catch {
    return { ok: false, detail: 'ffprobe printed invalid JSON', timedOut: false };
  }
}

/** One stream's timeline as its packets (and, for pictures, its decoded key frames) show it. */
export interface StreamScan {
  /** Packets the demuxer could read. */
  readonly packets: number;
  /** Earliest instant the packets cover, on the file's clock (seconds). */
  readonly startSec: number | undefined;
  /** Latest instant the packets cover: the last packet's time plus its duration. */
  readonly endSec: number | undefined;
  /** Frames that decoded (only key frames are decoded for pictures, which keeps the scan cheap). */
  readonly frames: number;
  /** Where the last decoded frame ends. */
  readonly decodedEndSec: number | undefined;
  /** Time of the first key-frame packet that did not decode, after the last one that did. */
  readonly undecodedKeySec: number | undefined;
  /** Time of the earliest packet whose data is all zeros (space reserved but never written). */
  readonly zeroedFromSec: number | undefined;
}

/** What reading a whole file packet by packet showed. */
export interface PacketScan {
  /** By stream index. */
  readonly streams: ReadonlyMap<number, StreamScan>;
  /** The demuxer met a sample its index places past the end of the file ("partial file"). */
  readonly pastEnd: boolean;
}

interface ScanEntry {
  readonly type?: string;
  readonly stream_index?: number;
  readonly pts_time?: string;
  readonly dts_time?: string;
  readonly duration_time?: string;
  readonly flags?: string;
  readonly size?: string;
  readonly data_hash?: string;
  readonly best_effort_timestamp_time?: string;
  readonly pkt_duration_time?: string;
}

function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number.parseFloat(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

interface Tally {
  packets: number;
  startSec: number | undefined;
  endSec: number | undefined;
  frames: number;
  decodedEndSec: number | undefined;
  keySec: number[];
  lastDecodedSec: number | undefined;
  zeroedFromSec: number | undefined;
}

/** Packets this small may legitimately be zeros; larger compressed data never is. */
const MIN_JUDGED_PACKET_BYTES = 16;

/** True when `hash` (ffprobe's `adler32:xxxxxxxx`) is the checksum of `size` zero bytes. */
function isZeroFilled(hash: string | undefined, size: number): boolean {
  if (hash === undefined || size < MIN_JUDGED_PACKET_BYTES) return false;
  // Adler-32 of n zero bytes: A stays 1, B adds A n times.
  const zeros = (((size % 65521) << 16) | 1) >>> 0;
  return hash.toLowerCase() === `adler32:${zeros.toString(16).padStart(8, '0')}`;
}

function summarise(entries: readonly ScanEntry[]): Map<number, StreamScan> {
  const tallies = new Map<number, Tally>();
  const tally = (index: number): Tally => {
    let found = tallies.get(index);
    if (!found) {
      found = {
        packets: 0,
        startSec: undefined,
        endSec: undefined,
        frames: 0,
        decodedEndSec: undefined,
        keySec: [],
        lastDecodedSec: undefined,
        zeroedFromSec: undefined,
      };
      tallies.set(index, found);
    }
    return found;
  };
  for (const entry of entries) {
    if (entry.stream_index === undefined) continue;
    const t = tally(entry.stream_index);
    if (entry.type === 'packet') {
      // Packets an edit list discards (before the start of a clip cut without re-encoding) are not
      // part of what plays.
      if (entry.flags?.[1] === 'D') continue;
      t.packets += 1;
      const at = seconds(entry.pts_time) ?? seconds(entry.dts_time);
      if (at === undefined) continue;
      if (isZeroFilled(entry.data_hash, Number(entry.size ?? 0))) {
        t.zeroedFromSec = t.zeroedFromSec === undefined ? at : Math.min(t.zeroedFromSec, at);
      }
      const end = at + Math.max(0, seconds(entry.duration_time) ?? 0);
      t.startSec = t.startSec === undefined ? at : Math.min(t.startSec, at);
      t.endSec = t.endSec === undefined ? end : Math.max(t.endSec, end);
      if (entry.flags?.startsWith('K')) t.keySec.push(at);
    } else if (entry.type === 'frame') {
      t.frames += 1;
      const at = seconds(entry.best_effort_timestamp_time);
      if (at === undefined) continue;
      t.lastDecodedSec = t.lastDecodedSec === undefined ? at : Math.max(t.lastDecodedSec, at);
      const end = at + Math.max(0, seconds(entry.duration_time) ?? seconds(entry.pkt_duration_time) ?? 0);
      t.decodedEndSec = t.decodedEndSec === undefined ? end : Math.max(t.decodedEndSec, end);
    }
  }
  const scans = new Map<number, StreamScan>();
  for (const [index, t] of tallies) {
    const lastDecoded = t.lastDecodedSec;
    const undecoded = t.keySec
      .filter((at) => lastDecoded === undefined || at > lastDecoded + 1e-3)
      .sort((a, b) => a - b)[0];
    scans.set(index, {
      packets: t.packets,
      startSec: t.startSec,
      endSec: t.endSec,
      frames: t.frames,
      decodedEndSec: t.decodedEndSec,
      undecodedKeySec: undecoded,
      zeroedFromSec: t.zeroedFromSec,
    });
  }
  return scans;
}
