import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { AbortedError, throwIfAborted } from '../../core/errors.ts';
import type { Container, ProbeResult, VideoFacts } from '../../core/limits.ts';
import type { VideoProbe } from '../../core/ports.ts';
import { type FfmpegBinaries, resolveFfmpeg } from './binaries.ts';

/**
 * Demuxers ffmpeg and ffprobe may open untrusted input with: the containers we accept or can convert.
 * No hls, concat, image or network demuxers, which read other files or URLs named inside the input.
 */
export const ALLOWED_DEMUXERS = [
  'mov',
  'avi',
  'matroska',
  'flv',
  'live_flv',
  'mpegts',
  'mpeg',
  'mpegvideo',
  'mxf',
  'asf',
  'ogg',
  'h264',
  'hevc',
  'm4v',
] as const;

/** Input options that confine ffmpeg and ffprobe to reading local files through the allowed demuxers. */
export const SAFE_INPUT_ARGS: readonly string[] = [
  '-protocol_whitelist',
  'file',
  '-format_whitelist',
  ALLOWED_DEMUXERS.join(','),
];

/** Default time ffprobe gets before it is killed. */
export const DEFAULT_PROBE_TIMEOUT_MS = 20_000;

/** A path as an explicit `file:` URL, so a name like `-x` or `http:…` is never read as an option or protocol. */
export function fileUrl(path: string): string {
  return `file:${resolve(path)}`;
}

/** How a child process ended. */
export interface ProcessOutcome {
  /** Exit code, or `undefined` when a signal ended it. */
  readonly exitCode: number | undefined;
  /** The signal that ended it, e.g. `SIGSEGV` when it crashed. */
  readonly signal: NodeJS.Signals | undefined;
  readonly stdout: string;
  /** The last bytes of stderr (older output is dropped). */
  readonly stderr: string;
  readonly timedOut: boolean;
}

const STDERR_KEEP_BYTES = 64 * 1024;

/**
 * Runs a command without a shell; resolves when it exits (or was killed for `timeoutMs`), rejects with
 * an AbortedError when `signal` fires (after killing it) and with the spawn error when it cannot start.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: {
    env?: Readonly<Record<string, string>>;
    signal?: AbortSignal | undefined;
    timeoutMs?: number;
    maxStdoutBytes?: number;
  } = {},
): Promise<ProcessOutcome> {
  return new Promise((resolvePromise, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stdoutOverflow = false;
    let stderr = Buffer.alloc(0);
    let timedOut = false;
    let aborted = false;
    let settled = false;

    const kill = (): void => {
      // SIGKILL: ffmpeg traps SIGTERM to finish writing its output, which we no longer want.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, options.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };

    child.stdout.on('data', (chunk: Buffer) => {
      if (stdoutOverflow) return;
      stdoutBytes += chunk.length;
      if (options.maxStdoutBytes !== undefined && stdoutBytes > options.maxStdoutBytes) {
        stdoutOverflow = true;
        kill();
        return;
      }
      stdoutChunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > STDERR_KEEP_BYTES) stderr = stderr.subarray(stderr.length - STDERR_KEEP_BYTES);
    });
    child.on('error', (error) => {
      if (settled) return;
      finish();
      reject(error);
    });
    child.on('close', (code, killSignal) => {
      if (settled) return;
      finish();
      if (aborted) {
        reject(new AbortedError());
        return;
      }
      const stderrText = stderr.toString('utf8');
      resolvePromise({
        exitCode: code ?? undefined,
        signal: killSignal ?? undefined,
        stdout: Buffer.concat(stdoutChunks).toString('utf8'),
        stderr: stdoutOverflow
          ? `${stderrText}\noutput larger than ${options.maxStdoutBytes} bytes`
          : stderrText,
        timedOut,
      });
    });
  });
}

/** The last meaningful lines of ffmpeg/ffprobe stderr, without `[demuxer @ 0x…]` prefixes or the input path. */
export function stderrSummary(stderr: string, path?: string, maxLines = 3): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/i, '').trim())
    .map((line) => {
      if (path === undefined) return line;
      const url = fileUrl(path);
      for (const prefix of [`${url}: `, `${path}: `]) {
        if (line.startsWith(prefix)) return line.slice(prefix.length);
      }
      return line;
    })
    .filter((line) => line !== '' && !line.startsWith('Last message repeated'));
  const unique = [...new Set(lines)];
  return unique.slice(-maxLines).join('; ').slice(0, 300);
}

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
  readonly nb_read_packets?: string;
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

/** The exact ffprobe arguments the probe uses for `path` (whitelists first, `file:` URL last). */
export function ffprobeArgs(path: string, extra: readonly string[] = []): string[] {
  return [
    '-v',
    'error',
    ...SAFE_INPUT_ARGS,
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    ...extra,
    fileUrl(path),
  ];
}

const MAX_FFPROBE_JSON_BYTES = 16 * 1024 * 1024;

/** Runs ffprobe on `path` with the probe's arguments; resolves with its JSON or a short failure detail. */
export async function runFfprobe(
  path: string,
  options: {
    binaries?: FfmpegBinaries;
    signal?: AbortSignal | undefined;
    timeoutMs?: number;
    extraArgs?: readonly string[];
  } = {},
): Promise<FfprobeRun> {
  const binaries = options.binaries ?? resolveFfmpeg();
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const outcome = await runProcess(binaries.ffprobe, ffprobeArgs(path, options.extraArgs), {
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
    return { ok: true, output: JSON.parse(outcome.stdout) as FfprobeOutput };
  } catch {
    return { ok: false, detail: 'ffprobe printed invalid JSON', timedOut: false };
  }
}

/** What the first bytes of a file say it is, when that settles the matter before ffprobe runs. */
type Sniffed =
  | { readonly kind: 'image'; readonly what: string }
  | { readonly kind: 'audio'; readonly what: string }
  | { readonly kind: 'ebml'; readonly docType: string | undefined };

const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);
const BMP_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

function startsWith(head: Buffer, bytes: readonly number[], offset = 0): boolean {
  return bytes.every((byte, i) => head[offset + i] === byte);
}

function ascii(head: Buffer, start: number, end: number): string {
  return head.subarray(start, end).toString('latin1');
}

/** Reads an EBML header's DocType (`webm` or `matroska`), which ffprobe does not report. */
function ebmlDocType(head: Buffer): string | undefined {
  // DocType is element 0x4282 inside the EBML header, which sits in the first few dozen bytes.
  const limit = Math.min(head.length, 128);
  for (let i = 4; i + 3 < limit; i++) {
    if (head[i] !== 0x42 || head[i + 1] !== 0x82) continue;
    const sizeByte = head[i + 2]!;
    if ((sizeByte & 0x80) === 0) continue;
    const length = sizeByte & 0x7f;
    return ascii(head, i + 3, Math.min(limit, i + 3 + length)).replace(/\0+$/, '');
  }
  return undefined;
}

function sniff(head: Buffer): Sniffed | undefined {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { kind: 'image', what: 'PNG image' };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: 'image', what: 'JPEG image' };
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a')
    return { kind: 'image', what: 'GIF image' };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP')
    return { kind: 'image', what: 'WebP image' };
  if (ascii(head, 0, 2) === 'BM' && head.length >= 18 && BMP_HEADER_SIZES.has(head.readUInt32LE(14))) {
    return { kind: 'image', what: 'BMP image' };
  }
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { kind: 'image', what: 'TIFF image' };
  }
  if (ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (HEIF_BRANDS.has(brand)) return { kind: 'image', what: 'HEIC image' };
    if (AVIF_BRANDS.has(brand)) return { kind: 'image', what: 'AVIF image' };
  }
  // Audio-only formats are not on the demuxer whitelist, so ffprobe could only say "not on whitelist".
  if (ascii(head, 0, 3) === 'ID3') return { kind: 'audio', what: 'mp3 audio' };
  if (ascii(head, 0, 4) === 'fLaC') return { kind: 'audio', what: 'FLAC audio' };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WAVE')
    return { kind: 'audio', what: 'WAV audio' };
  if (ascii(head, 0, 5) === '#!AMR') return { kind: 'audio', what: 'AMR audio' };
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe0) === 0xe0) {
    const layer = (head[1]! >> 1) & 0x03;
    if (layer === 0 && (head[1]! & 0xf0) === 0xf0) return { kind: 'audio', what: 'AAC audio' };
    if (layer !== 0) return { kind: 'audio', what: 'mp3 audio' };
  }
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return { kind: 'ebml', docType: ebmlDocType(head) };
  return undefined;
}

/** Byte sequences that make ffmpeg read other files or URLs (HLS playlists, concat scripts). */
const REFERENCE_MARKERS = [
  { bytes: Buffer.from('#EXTM3U', 'latin1'), what: 'an HLS playlist (#EXTM3U)' },
  { bytes: Buffer.from('ffconcat version', 'latin1'), what: 'an ffconcat script' },
] as const;

const SCAN_CHUNK_BYTES = 1024 * 1024;
const HEAD_BYTES = 4096;

/** Reads the file's first bytes, and finds the first reference marker anywhere in it. */
async function readHeadAndScan(
  path: string,
  signal: AbortSignal | undefined,
): Promise<{ head: Buffer; reference: { what: string; offset: number } | undefined }> {
  const overlap = Math.max(...REFERENCE_MARKERS.map((marker) => marker.bytes.length)) - 1;
  const buffer = Buffer.alloc(overlap + SCAN_CHUNK_BYTES);
  const handle = await open(path, 'r');
  try {
    let head: Buffer | undefined;
    let carried = 0;
    let position = 0;
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await handle.read(buffer, carried, SCAN_CHUNK_BYTES, position);
      if (head === undefined) head = Buffer.from(buffer.subarray(0, Math.min(bytesRead, HEAD_BYTES)));
      if (bytesRead === 0) return { head, reference: undefined };
      const window = buffer.subarray(0, carried + bytesRead);
      for (const marker of REFERENCE_MARKERS) {
        const at = window.indexOf(marker.bytes);
        if (at >= 0) return { head, reference: { what: marker.what, offset: position - carried + at } };
      }
      position += bytesRead;
      // Keep the tail so a marker split across two reads is still found.
      carried = Math.min(overlap, window.length);
      window.copyWithin(0, window.length - carried);
    }
  } finally {
    await handle.close();
  }
}

function parseRate(rate: string | undefined): number | undefined {
  if (rate === undefined) return undefined;
  const [num, den] = rate.split('/').map(Number);
  if (num === undefined || !Number.isFinite(num) || num <= 0) return undefined;
  const value = den === undefined ? num : num / den;
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function parsePositive(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = typeof value === 'number' ? value : Number.parseFloat(value);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : undefined;
}

/** Clockwise rotation a player applies, normalised to 0, 90, 180 or 270. */
export function rotationOf(stream: FfprobeStream): number {
  let clockwiseDeg = 0;
  const fromMatrix = stream.side_data_list?.find((entry) => typeof entry.rotation === 'number');
  if (fromMatrix) {
    // ffprobe reports the display matrix angle counter-clockwise.
    clockwiseDeg = -(fromMatrix.rotation as number);
  } else if (stream.tags?.rotate !== undefined) {
    // Old ffprobe builds export the same fact as a clockwise `rotate` tag.
    clockwiseDeg = Number.parseFloat(stream.tags.rotate);
  }
  if (!Number.isFinite(clockwiseDeg)) return 0;
  const quarterTurns = Math.round(clockwiseDeg / 90);
  return (((quarterTurns % 4) + 4) % 4) * 90;
}

const WEBM_VIDEO_CODECS = new Set(['vp8', 'vp9', 'av1']);
const WEBM_AUDIO_CODECS = new Set(['vorbis', 'opus']);

/** Our container name for ffprobe's demuxer name, using brand, DocType, extension and codecs to tell siblings apart. */
export function containerOf(
  formatName: string,
  hints: {
    path: string;
    majorBrand?: string | undefined;
    ebmlDocType?: string | undefined;
    codecs?: readonly { type: string; codec: string }[];
  },
): Container {
  const demuxer = formatName.split(',')[0] ?? formatName;
  const extension = extname(hints.path).toLowerCase();
  switch (demuxer) {
    case 'mov': {
      const brand = (hints.majorBrand ?? '').trim().toLowerCase();
      if (brand === 'qt' || extension === '.mov' || extension === '.qt') return 'mov';
      if (brand.startsWith('3g')) return '3gp';
      if (brand === 'mjp2' || brand === 'mj2s') return 'mj2';
      return 'mp4';
    }
    case 'matroska': {
      if (extension === '.webm' || hints.ebmlDocType === 'webm') return 'webm';
      if (hints.ebmlDocType !== undefined) return 'mkv';
      const codecs = hints.codecs ?? [];
      const webmOnly =
        codecs.some((entry) => entry.type === 'video') &&
        codecs.every(
          (entry) =>
            (entry.type === 'video' && WEBM_VIDEO_CODECS.has(entry.codec)) ||
            (entry.type === 'audio' && WEBM_AUDIO_CODECS.has(entry.codec)),
        );
      return webmOnly ? 'webm' : 'mkv';
    }
    case 'mpegts':
      return 'ts';
    case 'mpeg':
    case 'mpegvideo':
      return 'mpg';
    case 'flv':
    case 'live_flv':
      return 'flv';
    default:
      return demuxer;
  }
}

function isRealVideo(stream: FfprobeStream): boolean {
  // Cover art in audio files shows up as a one-frame video stream.
  return stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1;
}

function describeWithoutVideo(streams: readonly FfprobeStream[]): string {
  const audio = streams.find((stream) => stream.codec_type === 'audio');
  if (audio) return `${audio.codec_name ?? 'unknown'} audio`;
  if (streams.some((stream) => stream.codec_type === 'subtitle')) return 'subtitles';
  return streams.length === 0 ? 'no streams' : 'data streams';
}

/** Reads local files with ffprobe, refusing images, playlists and anything that references other files. */
export class FfprobeVideoProbe implements VideoProbe {
  readonly #binaries: FfmpegBinaries | undefined;
  readonly #timeoutMs: number;

  constructor(options: { binaries?: FfmpegBinaries; timeoutMs?: number } = {}) {
    this.#binaries = options.binaries;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  }

  /** Resolves with facts or the reason there are none; rejects when aborted or ffprobe cannot start. */
  async probe(path: string, signal?: AbortSignal): Promise<ProbeResult> {
    throwIfAborted(signal);
    const sizeBytes = (await stat(path)).size;
    if (sizeBytes === 0) return { kind: 'unreadable', reason: 'empty-file', sizeBytes };

    const { head, reference } = await readHeadAndScan(path, signal);
    const sniffed = sniff(head);
    if (sniffed?.kind === 'image') {
      return { kind: 'unreadable', reason: 'still-image', sizeBytes, what: sniffed.what };
    }
    if (reference) {
      return {
        kind: 'unreadable',
        reason: 'embedded-reference',
        sizeBytes,
        detail: `contains ${reference.what} at byte ${reference.offset}`,
      };
    }
    if (sniffed?.kind === 'audio') {
      return { kind: 'unreadable', reason: 'no-video-stream', sizeBytes, what: sniffed.what };
    }

    const binaries = this.#binaries ?? resolveFfmpeg();
    const run = await runFfprobe(path, { binaries, signal, timeoutMs: this.#timeoutMs });
    if (!run.ok) return { kind: 'unreadable', reason: 'unreadable', sizeBytes, detail: run.detail };

    const streams = run.output.streams ?? [];
    const format = run.output.format ?? {};
    const video = streams.find(isRealVideo);
    if (!video) {
      return {
        kind: 'unreadable',
        reason: 'no-video-stream',
        sizeBytes,
        what: describeWithoutVideo(streams),
      };
    }
    const width = video.width ?? 0;
    const height = video.height ?? 0;
    if (width <= 0 || height <= 0) {
      return {
        kind: 'unreadable',
        reason: 'unreadable',
        sizeBytes,
        detail: 'the video stream has no frame size',
      };
    }
    const containerDurationSec = parsePositive(video.duration) ?? parsePositive(format.duration);
    // Without timestamps (elementary streams) avg_frame_rate is a guess (ffprobe 6 says 25 for NTSC
    // MPEG-2); r_frame_rate comes from the sequence header there.
    const frameRate =
      containerDurationSec === undefined
        ? (parseRate(video.r_frame_rate) ?? parseRate(video.avg_frame_rate))
        : (parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate));
    const durationSec =
      containerDurationSec ?? (await this.#durationFromPackets(path, video, frameRate, binaries, signal));
    if (durationSec === undefined) {
      return { kind: 'unreadable', reason: 'unreadable', sizeBytes, detail: 'the duration is unknown' };
    }
    const rotationDeg = rotationOf(video);
    const quarter = rotationDeg === 90 || rotationDeg === 270;
    const formatName = format.format_name ?? 'unknown';
    const facts: VideoFacts = {
      container: containerOf(formatName, {
        path,
        majorBrand: format.tags?.major_brand,
        ebmlDocType: sniffed?.kind === 'ebml' ? sniffed.docType : undefined,
        codecs: streams.map((stream) => ({ type: stream.codec_type ?? '', codec: stream.codec_name ?? '' })),
      }),
      formatName,
      sizeBytes,
      durationSec,
      codec: video.codec_name ?? 'unknown',
      width,
      height,
      rotationDeg,
      displayWidth: quarter ? height : width,
      displayHeight: quarter ? width : height,
      frameRate,
      hasAudio: streams.some((stream) => stream.codec_type === 'audio'),
    };
    return { kind: 'video', facts };
  }

  /** Elementary streams carry no duration; counting packets reads the whole file, so it is the last resort. */
  async #durationFromPackets(
    path: string,
    video: FfprobeStream,
    frameRate: number | undefined,
    binaries: FfmpegBinaries,
    signal: AbortSignal | undefined,
  ): Promise<number | undefined> {
    if (frameRate === undefined || video.index === undefined) return undefined;
    const run = await runFfprobe(path, {
      binaries,
      signal,
      timeoutMs: this.#timeoutMs,
      extraArgs: ['-count_packets', '-select_streams', String(video.index)],
    });
    if (!run.ok) return undefined;
    const packets = parsePositive(run.output.streams?.[0]?.nb_read_packets);
    return packets === undefined ? undefined : packets / frameRate;
  }
}
