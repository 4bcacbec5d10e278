import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { resolveFfmpeg } from '../../../src/adapters/ffmpeg/binaries.ts';

const run = promisify(execFile);

/** The ffmpeg/ffprobe pair the fake runs, as `resolveFfmpeg()` returns it. */
export type Binaries = ReturnType<typeof resolveFfmpeg>;

/** The model's documented input limits, kept here independently of the project's own copy. */
export const MODEL_LIMITS = {
  minSidePx: 256,
  maxSidePx: 4096,
  maxAspectRatio: 1.8,
  maxDurationSec: 30,
  // "100M" in the doc; the stricter decimal reading, so a client that passes here passes there.
  maxSizeBytes: 100_000_000,
  containers: ['MP4', 'AVI', 'MKV', 'MOV', 'FLV', 'TS', 'MPG', 'MXF'],
} as const;

/** What ffprobe learned about an input, or why it could not read one. */
export type InputProbe =
  | { readonly kind: 'unreadable'; readonly detail: string }
  | {
      readonly kind: 'video';
      readonly formatName: string;
      /** One of MODEL_LIMITS.containers, or the demuxer name when it is none of them. */
      readonly container: string;
      readonly width: number;
      readonly height: number;
      readonly durationSec: number;
      readonly sizeBytes: number;
    };

interface FfprobeJson {
  streams?: { codec_type?: string; width?: number; height?: number; duration?: string }[];
  format?: { format_name?: string; duration?: string; tags?: Record<string, string> };
}

function containerOf(formatName: string, tags: Record<string, string> | undefined): string {
  switch (formatName) {
    case 'mov,mp4,m4a,3gp,3g2,mj2': {
      const brand = (tags?.major_brand ?? '').trim().toLowerCase();
      if (brand === 'qt') return 'MOV';
      if (brand.startsWith('3g')) return '3GP';
      return 'MP4';
    }
    // ffprobe cannot tell WebM from Matroska here; the fake errs on the lenient side.
    case 'matroska,webm':
      return 'MKV';
    case 'avi':
      return 'AVI';
    case 'flv':
      return 'FLV';
    case 'mpegts':
      return 'TS';
    case 'mpeg':
      return 'MPG';
    case 'mxf':
      return 'MXF';
    default:
      return formatName;
  }
}

/** Probes a local file with ffprobe, reading nothing but that file. */
export async function probeInput(bins: Binaries, path: string, signal: AbortSignal): Promise<InputProbe> {
  const sizeBytes = (await stat(path)).size;
  if (sizeBytes === 0) return { kind: 'unreadable', detail: 'empty file' };
  let json: FfprobeJson;
  try {
    const { stdout } = await run(
      bins.ffprobe,
      [
        '-v',
        'error',
        '-protocol_whitelist',
        'file',
        '-print_format',
        'json',
        '-show_format',
        '-show_streams',
        path,
      ],
      { env: { ...process.env, ...bins.env }, signal, maxBuffer: 16 * 1024 * 1024 },
    );
    json = JSON.parse(stdout) as FfprobeJson;
  } catch (error) {
    if (signal.aborted) throw error;
    return {
      kind: 'unreadable',
      detail: String((error as { stderr?: string }).stderr ?? error).slice(0, 300),
    };
  }
  const formatName = json.format?.format_name ?? '';
  if (formatName === 'image2' || formatName.endsWith('_pipe')) {
    return { kind: 'unreadable', detail: `still image (${formatName})` };
  }
  const video = json.streams?.find((s) => s.codec_type === 'video' && (s.width ?? 0) > 0);
  if (!video) return { kind: 'unreadable', detail: 'no video stream' };
  const durationSec = Number(json.format?.duration ?? video.duration);
  if (!Number.isFinite(durationSec) || durationSec <= 0) return { kind: 'unreadable', detail: 'no duration' };
  return {
    kind: 'video',
    formatName,
    container: containerOf(formatName, json.format?.tags),
    width: video.width ?? 0,
    height: video.height ?? 0,
    durationSec,
    sizeBytes,
  };
}

/** The first model limit a probed input breaks, as the InvalidParameter message, or undefined. */
export function limitViolation(probe: Extract<InputProbe, { kind: 'video' }>): string | undefined {
  const limits = MODEL_LIMITS;
  if (!(limits.containers as readonly string[]).includes(probe.container)) {
    return `the video format ${probe.container} is not supported, supported formats: ${limits.containers.join(', ')}`;
  }
  if (probe.sizeBytes > limits.maxSizeBytes) {
    return `the video size ${probe.sizeBytes} bytes exceeds the limit of 100MB`;
  }
  if (probe.durationSec > limits.maxDurationSec) {
    return `the video duration ${probe.durationSec.toFixed(3)}s exceeds the limit of ${limits.maxDurationSec}s`;
  }
  const { width, height } = probe;
  if (Math.min(width, height) < limits.minSidePx || Math.max(width, height) > limits.maxSidePx) {
    return `the video resolution ${width}x${height} is out of range, each side must be in [${limits.minSidePx}, ${limits.maxSidePx}]`;
  }
  const ratio = Math.max(width, height) / Math.min(width, height);
  if (ratio > limits.maxAspectRatio) {
    return `the video aspect ratio ${ratio.toFixed(3)} (${width}x${height}) exceeds the limit of ${limits.maxAspectRatio}`;
  }
  return undefined;
}

// Display size (SAR applied, rotation already applied by ffmpeg), rounded down to even for yuv420p.
const PREFIX = 'scale=trunc(iw*sar/2)*2:trunc(ih/2)*2,setsar=1,format=yuv420p';
const levels = (n: number): string => {
  const step = Math.ceil(256 / n);
  return `trunc(val/${step})*${step}+${Math.floor(step / 2)}`;
};
const posterize = (n: number): string => `lut=c0='${levels(n)}':c1='${levels(n)}':c2='${levels(n)}'`;

/**
 * The ffmpeg filter graph (input `[0:v]`, output `[out]`) that fakes a style's look. Only filters
 * present in both ffmpeg 4.1 and 5.1; `format=gbrp` before `lut` because lutrgb+blend lose colour.
 */
export function styleFilterGraph(style: number): string {
  switch (style) {
    // Japanese manga: grey, four tones, ink lines.
    case 0:
      return `[0:v]${PREFIX},format=gray,split[a][b];[a]lut=c0='${levels(4)}'[p];[b]gblur=sigma=1,edgedetect=low=0.1:high=0.3,negate[e];[p][e]blend=all_mode=multiply,format=yuv420p[out]`;
    // American comic: loud posterized colour, thick outlines.
    case 1:
      return `[0:v]${PREFIX},split[a][b];[a]eq=saturation=2.2:contrast=1.25,format=gbrp,${posterize(4)}[p];[b]format=gray,gblur=sigma=1,edgedetect=low=0.08:high=0.2,dilation,negate,format=gbrp[e];[p][e]blend=all_mode=multiply,format=yuv420p[out]`;
    // Fresh comic: soft, bright, pastel.
    case 2:
      return `[0:v]${PREFIX},gblur=sigma=1.5,eq=brightness=0.12:contrast=0.8:saturation=0.6:gamma=1.15[out]`;
    // 3D cartoon: smooth surfaces, punchy saturation, few shades.
    case 3:
      return `[0:v]${PREFIX},gblur=sigma=2.5,unsharp=7:7:1.2,eq=saturation=1.8:contrast=1.15:brightness=0.03,format=gbrp,${posterize(6)},format=yuv420p[out]`;
    // Chinese cartoon: warm palette, flat shades, fine outlines.
    case 4:
      return `[0:v]${PREFIX},split[a][b];[a]gblur=sigma=1,eq=saturation=1.25:contrast=1.05,format=gbrp,colorchannelmixer=rr=1:rg=0.12:gr=0.1:gg=0.86:gb=0.04:br=0.08:bg=0.04:bb=0.6,${posterize(6)}[p];[b]format=gray,gblur=sigma=1.2,edgedetect=low=0.1:high=0.3,negate,format=gbrp[e];[p][e]blend=all_mode=multiply,format=yuv420p[out]`;
    // Paper art: three shades per channel on a grainy paper texture.
    case 5:
      return `[0:v]${PREFIX},format=gbrp,${posterize(3)},format=yuv420p,noise=c0s=30:c0f=u+p:c1s=8:c2s=8,eq=saturation=1.2[out]`;
    // Simple illustration: outlines only, on white.
    case 6:
      return `[0:v]${PREFIX},format=gray,gblur=sigma=1.2,edgedetect=low=0.06:high=0.18,negate,format=yuv420p[out]`;
    // Ink wash: blurred grey washes and ink edges on warm paper.
    case 7:
      return `[0:v]${PREFIX},format=gray,split[a][b];[a]gblur=sigma=3,lut=c0='val*0.55+112'[p];[b]gblur=sigma=1,edgedetect=low=0.08:high=0.25,negate[e];[p][e]blend=all_mode=multiply,format=gbrp,colorchannelmixer=rr=1:gg=0.96:bb=0.86,format=yuv420p[out]`;
    default:
      throw new RangeError(`no filter for style ${style}`);
  }
}

/** The ffmpeg arguments that render `input` in a style at `fps` into an h264 MP4 at `output`. */
export function renderArgs(input: string, output: string, style: number, fps: number): string[] {
  return [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-protocol_whitelist',
    'file',
    '-i',
    input,
    '-filter_complex',
    styleFilterGraph(style),
    '-map',
    '[out]',
    '-r',
    String(fps),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '23',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    '-an',
    output,
  ];
}

/** Renders a restyled MP4; rejects with ffmpeg's stderr when it fails. */
export async function renderStyled(
  bins: Binaries,
  input: string,
  output: string,
  style: number,
  fps: number,
  signal: AbortSignal,
): Promise<void> {
  await run(bins.ffmpeg, renderArgs(input, output, style, fps), {
    env: { ...process.env, ...bins.env },
    signal,
    maxBuffer: 16 * 1024 * 1024,
  });
}
