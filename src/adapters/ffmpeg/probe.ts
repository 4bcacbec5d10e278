import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import PQueue from 'p-queue';
import { throwIfAborted } from '../../core/errors.ts';
import type { Container, ProbeResult, StreamKind, VideoFacts } from '../../core/limits.ts';
import type { VideoProbe } from '../../core/ports.ts';
import { pathKind } from '../files/path-kind.ts';
import { type FfmpegBinaries, resolveFfmpeg } from './binaries.ts';
import {
  DEFAULT_PROBE_TIMEOUT_MS,
  type FfprobeOutput,
  type FfprobeStream,
  type PacketScan,
  runFfprobe,
  scanPackets,
} from './ffprobe.ts';
import { cutBeforeIndex, readHeadAndScan, sniff } from './sniff.ts';
import { readTimeline } from './timeline.ts';

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
    case 'webp_pipe':
      return 'webp';
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

/** A Matroska `DURATION` tag (`00:00:10.000000000`) in seconds. */
function tagDuration(stream: FfprobeStream): number | undefined {
  const tag = stream.tags?.DURATION ?? stream.tags?.duration;
  const match = tag?.match(/^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/);
  if (!match) return undefined;
  return parsePositive(Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]));
}

/** A stream's length as its header states it: its duration, or its frame count at its frame rate. */
function declaredLength(stream: FfprobeStream, frameRate?: number): number | undefined {
  const stated = parsePositive(stream.duration) ?? tagDuration(stream);
  const frames = parsePositive(stream.nb_frames);
  const counted = frames !== undefined && frameRate !== undefined ? frames / frameRate : undefined;
  // A stated length wins: the frame count includes frames an edit list leaves out.
  return stated ?? counted;
}

function streamKind(stream: FfprobeStream): StreamKind {
  if (stream.codec_type === 'audio') return 'audio';
  if (stream.codec_type === 'subtitle') return 'subtitles';
  if (stream.codec_type === 'video') return 'video';
  return 'data';
}

/** Files declared longer than this are read only this far: a clip so long is cut or refused anyway. */
const SCAN_WINDOW_SEC = 60;

/**
 * Reads local files with ffprobe, refusing images, playlists and anything that references other
 * files; reads every packet too, so a file that holds less than it declares is caught before upload.
 */
export class FfprobeVideoProbe implements VideoProbe {
  readonly #binaries: FfmpegBinaries | undefined;
  readonly #timeoutMs: number;
  /** Probes reading at once: a burst of clips must not starve the rest of the service of CPU. */
  readonly #slots: PQueue;
  readonly #scan: boolean;

  /**
   * `scan: false` reads streams and format only: for files of known origin (results from
   * DashScope), where what matters is their size and length, not whether they hold what they say.
   */
  constructor(
    options: { binaries?: FfmpegBinaries; timeoutMs?: number; concurrency?: number; scan?: boolean } = {},
  ) {
    this.#binaries = options.binaries;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.#scan = options.scan ?? true;
    // Each probe runs two ffprobe processes: one probe per two cores keeps a core for everything else.
    this.#slots = new PQueue({
      concurrency: options.concurrency ?? Math.max(1, Math.floor(availableParallelism() / 2)),
    });
  }

  /** Resolves with facts or the reason there are none; rejects when aborted or ffprobe cannot start. */
  async probe(path: string, signal?: AbortSignal): Promise<ProbeResult> {
    throwIfAborted(signal);
    const kind = await pathKind(path);
    if (kind.kind === 'missing') throw Object.assign(new Error(`no such file: ${path}`), { code: 'ENOENT' });
    if (kind.kind !== 'file') {
      return {
        kind: 'unreadable',
        reason: 'not-a-file',
        sizeBytes: 0,
        fileKind: kind.kind,
        viaLink: kind.viaLink,
      };
    }
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
    // Both ffprobe runs at once: starting ffprobe costs more than reading a short clip.
    const options = { binaries, signal, timeoutMs: this.#timeoutMs };
    const [run, scan] = await this.#slots.add(() => {
      throwIfAborted(signal);
      return Promise.all([
        runFfprobe(path, options),
        this.#scan ? scanPackets(path, { ...options, windowSec: SCAN_WINDOW_SEC }) : undefined,
      ]);
    });
    if (!run.ok) {
      const cut = head.toString('latin1', 4, 8) === 'ftyp' && (await cutBeforeIndex(path, sizeBytes));
      return {
        kind: 'unreadable',
        reason: cut ? 'cut-before-index' : 'unreadable',
        sizeBytes,
        detail: run.detail,
      };
    }

    const streams = run.output.streams ?? [];
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
    if (sniffed?.kind === 'animated-webp' && (width <= 0 || height <= 0)) {
      return { kind: 'unreadable', reason: 'undecodable-animation', sizeBytes, what: 'WebP' };
    }
    if (width <= 0 || height <= 0) {
      return {
        kind: 'unreadable',
        reason: 'unreadable',
        sizeBytes,
        detail: 'the video stream has no frame size',
      };
    }
    return this.#facts(path, run.output, scan, video, { sizeBytes, sniffed });
  }

  #facts(
    path: string,
    output: FfprobeOutput,
    scan: PacketScan | undefined,
    video: FfprobeStream,
    context: { sizeBytes: number; sniffed: ReturnType<typeof sniff> },
  ): ProbeResult {
    const { sizeBytes, sniffed } = context;
    const streams = output.streams ?? [];
    const format = output.format ?? {};
    const formatSec = parsePositive(format.duration);
    const statedSec = parsePositive(video.duration) ?? formatSec;
    // Without timestamps (elementary streams) avg_frame_rate is a guess (ffprobe 6 says 25 for NTSC
    // MPEG-2); r_frame_rate comes from the sequence header there.
    const frameRate =
      statedSec === undefined
        ? (parseRate(video.r_frame_rate) ?? parseRate(video.avg_frame_rate))
        : (parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate));
    // The scan covered the whole file unless it declares more than the window.
    const windowSec = (formatSec ?? statedSec ?? 0) > SCAN_WINDOW_SEC ? SCAN_WINDOW_SEC : undefined;
    const others = streams.filter((stream) => stream !== video && stream.index !== undefined);
    const timeline = readTimeline({
      picture: {
        index: video.index ?? 0,
        declaredSec: declaredLength(video, frameRate),
        frameRate,
      },
      others: others.map((stream) => ({
        index: stream.index!,
        kind: streamKind(stream),
        declaredSec: declaredLength(stream),
      })),
      formatSec,
      scan,
      windowSec,
    });
    if (timeline === undefined) {
      return { kind: 'unreadable', reason: 'unreadable', sizeBytes, detail: 'the duration is unknown' };
    }
    const pictureScan = scan?.streams.get(video.index ?? 0);
    if (sniffed?.kind === 'gif' && (pictureScan?.packets ?? 0) <= 1) {
      return { kind: 'unreadable', reason: 'still-image', sizeBytes, what: 'GIF image' };
    }
    if (timeline.incomplete && timeline.incomplete.readableSec <= 0) {
      return {
        kind: 'unreadable',
        reason: 'unreadable',
        sizeBytes,
        detail: 'no frame of the picture can be decoded',
      };
    }
    const rotationDeg = rotationOf(video);
    const quarter = rotationDeg === 90 || rotationDeg === 270;
    const width = video.width ?? 0;
    const height = video.height ?? 0;
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
      durationSec: timeline.durationSec,
      pictureSec: timeline.pictureSec,
      ...(timeline.longerStream ? { longerStream: timeline.longerStream } : {}),
      ...(timeline.incomplete ? { incomplete: timeline.incomplete } : {}),
      ...(formatSec === undefined ? { undeclaredLength: true } : {}),
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
}
