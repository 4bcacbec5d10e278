import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ffmpeg, mediaDir, padMp4 } from './media.ts';

/** Files that look acceptable at a glance but that the model would refuse or half-process. */
export interface AwkwardInputs {
  /** MP4: 20 s of picture under 35 s of audio. */
  readonly audioLonger: string;
  /** Matroska: 12 s of picture under 33 s of audio. */
  readonly audioLongerMkv: string;
  /** A 10 s fast-start MP4 (index first) cut in half: the index points past the end of the file. */
  readonly fastStartHalf: string;
  /** A 10 s MP4 with its index at the end and its media data cut to a third, index kept. */
  readonly mdatCut: string;
  /** A 10 s fast-start MP4 at 25 fps whose last 30 % of bytes are zeros (reserved, never written). */
  readonly zeroTail: string;
  /** Matroska written as a live stream: no length in its header (5 s of picture). */
  readonly liveMkv: string;
  /** The last 28 s of a 33 s clip, cut without re-encoding: an edit list skips 5 s of packets. */
  readonly cutWithoutReencode: string;
  /** 30.04 s at 25 fps: just over the limit. */
  readonly justOverDuration: string;
  /** A valid MP4 padded to exactly 100,000,001 bytes. */
  readonly oneByteOver: string;
  /** 384×288, 2 s at 10 fps. */
  readonly animatedGif: string;
  /** One 384×288 frame. */
  readonly stillGif: string;
  /** 384×288, 1 s at 10 fps; undefined when this ffmpeg has no animated WebP encoder. */
  readonly animatedWebp: string | undefined;
}

const testPattern = (durationSec: number, fps = 10): string[] => [
  '-f',
  'lavfi',
  '-i',
  `testsrc2=size=384x288:rate=${fps}:duration=${durationSec}`,
];
const tone = (durationSec: number): string[] => [
  '-f',
  'lavfi',
  '-i',
  `sine=frequency=440:sample_rate=48000:duration=${durationSec}`,
];
const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

/** An ISO-BMFF box header at `offset`: its size and type (64-bit sizes are not used by these files). */
function boxAt(bytes: Buffer, offset: number): { size: number; type: string } {
  return { size: bytes.readUInt32BE(offset), type: bytes.toString('latin1', offset + 4, offset + 8) };
}

/**
 * Cuts an MP4 whose `moov` follows its `mdat` so that only `keep` of the media data remains,
 * with the `moov` (and its sample tables) intact after it — what an interrupted copy that
 * saved the index separately, or a recovery tool, leaves behind.
 */
async function cutMediaData(source: string, target: string, keep: number): Promise<void> {
  const bytes = await readFile(source);
  const boxes: { offset: number; size: number; type: string }[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const box = boxAt(bytes, offset);
    boxes.push({ offset, ...box });
    offset += box.size;
  }
  const mdat = boxes.find((box) => box.type === 'mdat');
  const moov = boxes.find((box) => box.type === 'moov');
  if (!mdat || !moov || moov.offset < mdat.offset) throw new Error(`${source}: needs mdat before moov`);
  const keptPayload = Math.floor((mdat.size - 8) * keep);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(keptPayload + 8, 0);
  header.write('mdat', 4, 'latin1');
  await writeFile(
    target,
    Buffer.concat([
      bytes.subarray(0, mdat.offset),
      header,
      bytes.subarray(mdat.offset + 8, mdat.offset + 8 + keptPayload),
      bytes.subarray(moov.offset, moov.offset + moov.size),
    ]),
  );
}

/** By scratch directory: cleanupMedia removes it between test files, and the next call makes a new one. */
const generated = new Map<string, Promise<AwkwardInputs>>();

/** Generates the awkward inputs once per scratch directory; resolves with their paths. */
export async function awkwardInputs(): Promise<AwkwardInputs> {
  const dir = await mediaDir();
  let inputs = generated.get(dir);
  if (!inputs) {
    inputs = generate(dir);
    generated.set(dir, inputs);
    inputs.catch(() => generated.delete(dir));
  }
  return inputs;
}

async function generate(dir: string): Promise<AwkwardInputs> {
  const file = (name: string): string => join(dir, name);
  const inputs = {
    audioLonger: file('picture-20s-audio-35s.mp4'),
    audioLongerMkv: file('picture-12s-audio-33s.mkv'),
    fastStartHalf: file('faststart-cut-in-half.mp4'),
    mdatCut: file('media-data-cut.mp4'),
    zeroTail: file('zero-filled-tail.mp4'),
    liveMkv: file('live-stream.mkv'),
    cutWithoutReencode: file('cut-without-reencode.mp4'),
    justOverDuration: file('clip-30.04s.mp4'),
    oneByteOver: file('exactly-100000001-bytes.mp4'),
    animatedGif: file('animated.gif'),
    stillGif: file('still.gif'),
  };
  const fastStart = file('faststart-10s.mp4');
  const moovAtEnd = file('moov-at-end-10s.mp4');
  const small = file('small-1s.mp4');
  const fastStart25 = file('faststart-10s-25fps.mp4');
  const long33 = file('long-33s.mp4');
  await Promise.all([
    ffmpeg([...testPattern(10, 25), ...h264, '-movflags', '+faststart', '-f', 'mp4', fastStart25]),
    ffmpeg([...testPattern(5), ...h264, '-live', '1', '-f', 'matroska', inputs.liveMkv]),
    // Key frames every 25 s: the cut at 5 s keeps the packets from 0 s, which the edit list skips.
    ffmpeg([...testPattern(33), ...h264, '-g', '250', '-f', 'mp4', long33]),
    ffmpeg([...testPattern(20), ...tone(35), ...h264, '-c:a', 'aac', '-f', 'mp4', inputs.audioLonger]),
    ffmpeg([
      ...testPattern(12),
      ...tone(33),
      ...h264,
      '-c:a',
      'aac',
      '-f',
      'matroska',
      inputs.audioLongerMkv,
    ]),
    ffmpeg([...testPattern(10), ...h264, '-movflags', '+faststart', '-f', 'mp4', fastStart]),
    ffmpeg([...testPattern(10), ...h264, '-f', 'mp4', moovAtEnd]),
    ffmpeg([...testPattern(30.04, 25), ...h264, '-f', 'mp4', inputs.justOverDuration]),
    ffmpeg([...testPattern(1), ...h264, '-f', 'mp4', small]),
    ffmpeg([...testPattern(2), '-f', 'gif', inputs.animatedGif]),
    ffmpeg([...testPattern(0.1), '-frames:v', '1', '-f', 'gif', inputs.stillGif]),
  ]);
  const animatedWebp = await ffmpeg([
    ...testPattern(1),
    '-c:v',
    'libwebp_anim',
    '-loop',
    '0',
    '-f',
    'webp',
    file('animated.webp'),
  ]).then(
    () => file('animated.webp'),
    () => undefined,
  );
  const whole = await readFile(fastStart);
  await writeFile(inputs.fastStartHalf, whole.subarray(0, Math.floor(whole.length / 2)));
  await cutMediaData(moovAtEnd, inputs.mdatCut, 1 / 3);
  const clip25 = Buffer.from(await readFile(fastStart25));
  clip25.fill(0, Math.floor(clip25.length * 0.7));
  await writeFile(inputs.zeroTail, clip25);
  await ffmpeg(['-ss', '5', '-i', long33, '-c', 'copy', '-f', 'mp4', inputs.cutWithoutReencode]);
  // padMp4 adds a `free` box of the given size after the file.
  await padMp4(small, inputs.oneByteOver, 100_000_001 - (await stat(small)).size);
  return { ...inputs, animatedWebp };
}
