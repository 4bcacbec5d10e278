// The check step: how long FfprobeVideoProbe takes to read a clip, and what the packet scan (the
// second ffprobe pass that catches incomplete files and streams longer than the picture) adds to
// the streams-only run. Real ffprobe on generated files. `npm run bench:probe`, or part of
// `npm run bench`.
import { pathToFileURL } from 'node:url';
import { resolveFfmpeg } from '../src/adapters/ffmpeg/binaries.ts';
import { runFfprobe, scanPackets } from '../src/adapters/ffmpeg/ffprobe.ts';
import { FfprobeVideoProbe } from '../src/adapters/ffmpeg/probe.ts';
import { awkwardInputs } from '../test/helpers/awkward.ts';
import { cleanupMedia, ffmpeg, makeClip, mediaDir } from '../test/helpers/media.ts';

const ROUNDS = 9;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function timed(run: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  await run(); // warm the page cache
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: Math.round(percentile(times, 0.5)), p95: Math.round(percentile(times, 0.95)) };
}

/** A 30 s 1920×1080 clip with audio (the longest the model takes, at a common size). */
async function fullHd30(): Promise<string> {
  const path = `${await mediaDir()}/fullhd-30s.mp4`;
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=1920x1080:rate=30:duration=30',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000:duration=30',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    path,
  ]);
  return path;
}

export async function probeBenchmark(): Promise<void> {
  const awkward = await awkwardInputs();
  const clips: [string, string][] = [
    ['1 s 384×288', await makeClip({ container: 'mp4', durationSec: 1 })],
    ['20 s 384×288 + audio', await makeClip({ container: 'mp4', durationSec: 20, audio: true })],
    ['30 s 1080p30 + audio', await fullHd30()],
    ['100,000,001 bytes (padded)', awkward.oneByteOver],
    ['fast-start MP4 cut in half', awkward.fastStartHalf],
    ['animated GIF 2 s', awkward.animatedGif],
  ];
  const binaries = resolveFfmpeg();
  const probe = new FfprobeVideoProbe({ binaries });
  const rows = [];
  for (const [name, path] of clips) {
    const streams = await timed(() => runFfprobe(path, { binaries }));
    const scan = await timed(() => scanPackets(path, { binaries, windowSec: 60 }));
    const whole = await timed(() => probe.probe(path));
    rows.push({
      clip: name,
      'streams run p50 (ms)': streams.p50,
      'scan run p50 (ms)': scan.p50,
      'probe p50 (ms)': whole.p50,
      'probe p95 (ms)': whole.p95,
    });
  }
  console.log(`\nThe check step (FfprobeVideoProbe, both ffprobe runs at once; ${ROUNDS} rounds each):`);
  console.table(rows);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await probeBenchmark();
  await cleanupMedia();
}
