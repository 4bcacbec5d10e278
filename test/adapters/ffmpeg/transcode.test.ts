import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfprobeVideoProbe } from '../../../src/adapters/ffmpeg/probe.ts';
import { FfmpegTranscoder } from '../../../src/adapters/ffmpeg/transcode.ts';
import { AbortedError } from '../../../src/core/errors.ts';
import { type FitPlan, planFit } from '../../../src/core/fit.ts';
import { checkVideo, DEFAULT_LIMITS, type ProbeResult, type VideoFacts } from '../../../src/core/limits.ts';
import { awkwardInputs } from '../../helpers/awkward.ts';
import {
  type BadInputs,
  badInputs,
  cleanupMedia,
  makeClip,
  sampleMedia,
  tempDir,
  testBinaries,
} from '../../helpers/media.ts';

const execFileAsync = promisify(execFile);

const binaries = testBinaries();
const probe = new FfprobeVideoProbe({ binaries });
const transcoder = new FfmpegTranscoder({ binaries });

function factsOf(result: ProbeResult): VideoFacts {
  if (result.kind !== 'video') throw new Error(`expected a video, got ${JSON.stringify(result)}`);
  return result.facts;
}

let bad: BadInputs;
let outDir: string;

beforeAll(async () => {
  [bad, outDir] = await Promise.all([badInputs(), tempDir('restyle-fit-')]);
});
afterAll(cleanupMedia);

/** Probes `input`, plans, transcodes, and probes the result. */
async function fitAndReprobe(
  input: string,
): Promise<{ before: VideoFacts; plan: FitPlan; after: VideoFacts }> {
  const before = factsOf(await probe.probe(input));
  const plan = planFit(before);
  if (!plan) throw new Error(`${input} needs no fitting`);
  const output = join(outDir, `fitted-${basename(input)}.mp4`);
  await transcoder.fit(input, output, plan);
  const after = factsOf(await probe.probe(output));
  return { before, plan, after };
}

describe('FfmpegTranscoder.fit repairs every fixable clip', () => {
  it('trims a 31 s clip to 30 s, keeping its audio', async () => {
    const { plan, after } = await fitAndReprobe(bad.tooLong);
    expect(plan.changes).toEqual([
      { kind: 'trim', fromSec: expect.closeTo(31, 1), toSec: expect.closeTo(29.85, 2) },
    ]);
    expect(after.durationSec).toBeLessThanOrEqual(30);
    expect(after.durationSec).toBeGreaterThan(29.5);
    expect(after.hasAudio).toBe(true);
    expect(checkVideo(after)).toEqual([]);
  });

  it('scales a 4097×2300 clip to 4096×2300', async () => {
    const { after } = await fitAndReprobe(bad.tooLargeSide);
    expect(after).toMatchObject({ container: 'mp4', codec: 'h264', displayWidth: 4096, displayHeight: 2300 });
    expect(checkVideo(after)).toEqual([]);
  });

  it('upscales a 200×200 clip to 256×256', async () => {
    const { after } = await fitAndReprobe(bad.tooSmallSide);
    expect(after).toMatchObject({ displayWidth: 256, displayHeight: 256 });
    expect(checkVideo(after)).toEqual([]);
  });

  it('crops a 2:1 clip to 576×320', async () => {
    const { after } = await fitAndReprobe(bad.tooWideAspect);
    expect(after).toMatchObject({ displayWidth: 576, displayHeight: 320 });
    expect(checkVideo(after)).toEqual([]);
  });

  it('crops a rotated 2:1 clip along its displayed (upright) height', async () => {
    const rotated = await makeClip({ container: 'mov', width: 640, height: 320, rotateDeg: 90 });
    const { before, after } = await fitAndReprobe(rotated);
    expect(before).toMatchObject({ rotationDeg: 90, displayWidth: 320, displayHeight: 640 });
    expect(after).toMatchObject({
      rotationDeg: 0,
      width: 320,
      height: 576,
      displayWidth: 320,
      displayHeight: 576,
    });
    expect(checkVideo(after)).toEqual([]);
  });

  it('turns the 320×240 VP8 webm into a 340×256 H.264 mp4', async () => {
    const { plan, after } = await fitAndReprobe(sampleMedia.webm);
    expect(plan.changes.map((change) => change.kind)).toEqual(['scale', 'reencode', 'remux']);
    expect(after).toMatchObject({ container: 'mp4', codec: 'h264', displayWidth: 340, displayHeight: 256 });
    expect(after.hasAudio).toBe(true);
    expect(checkVideo(after)).toEqual([]);
  });

  it('cuts audio that outlasts the picture and copies the picture as it was', async () => {
    const { audioLonger } = await awkwardInputs();
    const { plan, after } = await fitAndReprobe(audioLonger);
    expect(plan).toMatchObject({ copyPicture: true, trimToSec: 20 });
    expect(after.durationSec).toBeLessThanOrEqual(20.1);
    expect(after.hasAudio).toBe(true);
    expect(checkVideo(after)).toEqual([]);
    // The picture's packets are the input's, bit for bit.
    const pictureHash = (path: string) =>
      execFileAsync(
        binaries.ffmpeg,
        ['-v', 'error', '-i', path, '-map', '0:v:0', '-c', 'copy', '-f', 'md5', '-'],
        {
          env: { ...process.env, ...binaries.env },
        },
      ).then((run) => run.stdout.trim());
    const output = join(outDir, `fitted-${basename(audioLonger)}.mp4`);
    expect(await pictureHash(output)).toBe(await pictureHash(audioLonger));
  });

  it('rewrites a live-recorded Matroska file as MP4 without encoding its picture again', async () => {
    const { liveMkv } = await awkwardInputs();
    const { plan, after } = await fitAndReprobe(liveMkv);
    expect(plan).toMatchObject({ copyPicture: true });
    expect(plan.changes.map((change) => change.kind)).toEqual(['remux']);
    expect(after).toMatchObject({ container: 'mp4', codec: 'h264' });
    expect(after.undeclaredLength).toBeUndefined();
    expect(checkVideo(after)).toEqual([]);
  });

  it('shrinks a 101 MB padded mp4 by re-encoding its small video', async () => {
    const { plan, after } = await fitAndReprobe(bad.tooLargeFile);
    expect(plan.changes.map((change) => change.kind)).toEqual(['shrink']);
    expect(after.sizeBytes).toBeLessThan(1_000_000);
    expect(checkVideo(after)).toEqual([]);
  });
});

describe('FfmpegTranscoder.fit size control', () => {
  const limits = { ...DEFAULT_LIMITS, maxDurationSec: 4 };

  /** Trims the 13 s sample to 4 s with plain CRF first (no bitrate in the plan), then holds it to `maxSizeBytes`. */
  async function fitWithMaxSize(maxSizeBytes: number, name: string): Promise<string> {
    const facts = factsOf(await probe.probe(sampleMedia.mp4Isom));
    const plan = planFit(facts, limits);
    if (!plan) throw new Error('expected a plan');
    expect(plan.videoBitrateKbps).toBeUndefined();
    const output = join(outDir, name);
    await transcoder.fit(sampleMedia.mp4Isom, output, { ...plan, maxSizeBytes });
    return output;
  }

  it('retries once at a lower bitrate when the first output is over the limit', async () => {
    const unconstrained = (await stat(await fitWithMaxSize(100_000_000, 'free.mp4'))).size;
    const maxSizeBytes = Math.floor(unconstrained * 0.6);
    const output = await fitWithMaxSize(maxSizeBytes, 'capped.mp4');
    expect((await stat(output)).size).toBeLessThanOrEqual(maxSizeBytes);
    expect(checkVideo(factsOf(await probe.probe(output)), { ...limits, maxSizeBytes })).toEqual([]);
  });

  it('rejects and removes the output when even the retry is over the limit', async () => {
    const output = join(outDir, 'hopeless.mp4');
    await expect(fitWithMaxSize(2_000, 'hopeless.mp4')).rejects.toThrow(/more than the 2000 byte limit/);
    expect(existsSync(output)).toBe(false);
  });
});

describe('FfmpegTranscoder.fit failures', () => {
  const plan: FitPlan = {
    changes: [],
    size: { width: 256, height: 256 },
    crop: { width: 256, height: 256 },
    maxDurationSec: 30,
    trimToSec: undefined,
    durationSec: 1,
    videoBitrateKbps: undefined,
    maxSizeBytes: 100_000_000,
    copyPicture: false,
  };

  it("rejects with ffmpeg's own words when the input is not a video, leaving no output", async () => {
    const output = join(outDir, 'from-text.mp4');
    await expect(transcoder.fit(bad.textAsMp4, output, plan)).rejects.toThrow(
      /ffmpeg exited with \d+: .*(moov atom not found|Invalid data)/,
    );
    expect(existsSync(output)).toBe(false);
  });

  it('refuses an HLS playlist named .mp4 without contacting the server it names', async () => {
    const requests: string[] = [];
    const server = createServer((request, response) => {
      requests.push(request.url ?? '');
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const input = join(outDir, 'playlist.mp4');
      await writeFile(
        input,
        `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nhttp://127.0.0.1:${port}/seg.ts\n#EXT-X-ENDLIST\n`,
      );
      await expect(transcoder.fit(input, join(outDir, 'from-playlist.mp4'), plan)).rejects.toThrow(
        /ffmpeg exited/,
      );
      expect(requests).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('kills ffmpeg and removes the output when aborted', async () => {
    const facts = factsOf(await probe.probe(sampleMedia.mp4FullHd));
    const longPlan = planFit(facts, { ...DEFAULT_LIMITS, maxDurationSec: 9 });
    if (!longPlan) throw new Error('expected a plan');
    const output = join(outDir, 'aborted.mp4');
    const controller = new AbortController();
    const startedAt = Date.now();
    setTimeout(() => controller.abort(), 300);
    await expect(
      transcoder.fit(sampleMedia.mp4FullHd, output, longPlan, controller.signal),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(existsSync(output)).toBe(false);
  });
});
