import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfprobe } from '../../../src/adapters/ffmpeg/ffprobe.ts';
import { containerOf, FfprobeVideoProbe, rotationOf } from '../../../src/adapters/ffmpeg/probe.ts';
import { runProcess } from '../../../src/adapters/ffmpeg/process.ts';
import { AbortedError } from '../../../src/core/errors.ts';
import { checkProbe, checkVideo, type ProbeResult, type VideoFacts } from '../../../src/core/limits.ts';
import { type AwkwardInputs, awkwardInputs } from '../../helpers/awkward.ts';
import {
  type BadInputs,
  badInputs,
  type ClipContainer,
  cleanupMedia,
  ffmpeg,
  fileWithMarkerAt,
  makeClip,
  PADDING_BYTES,
  sampleMedia,
  tempDir,
  testBinaries,
} from '../../helpers/media.ts';

const execFileAsync = promisify(execFile);
const binaries = testBinaries();
const probe = new FfprobeVideoProbe({ binaries });

function factsOf(result: ProbeResult): VideoFacts {
  if (result.kind !== 'video') throw new Error(`expected a video, got ${JSON.stringify(result)}`);
  return result.facts;
}

afterAll(cleanupMedia);

describe('FfprobeVideoProbe on generated clips', () => {
  const accepted: readonly ClipContainer[] = ['mp4', 'mov', 'avi', 'mkv', 'flv', 'ts', 'mpg', 'mxf'];
  const clips = new Map<ClipContainer, string>();

  beforeAll(async () => {
    // Two at a time: enough to keep both cores busy without starving the rest of the suite.
    for (let i = 0; i < accepted.length; i += 2) {
      const pair = accepted.slice(i, i + 2);
      const paths = await Promise.all(pair.map((container) => makeClip({ container, audio: true })));
      for (const [j, container] of pair.entries()) clips.set(container, paths[j]!);
    }
  });

  it.each(accepted)('reads a %s clip under that container name and accepts it', async (container) => {
    const facts = factsOf(await probe.probe(clips.get(container)!));
    expect(facts.container).toBe(container);
    expect(facts.displayWidth).toBe(384);
    expect(facts.displayHeight).toBe(288);
    expect(facts.rotationDeg).toBe(0);
    expect(facts.hasAudio).toBe(true);
    expect(facts.durationSec).toBeGreaterThan(0.9);
    expect(facts.durationSec).toBeLessThan(1.2);
    expect(checkVideo(facts)).toEqual([]);
  });

  it('reads a generated webm as webm and names the unsupported container', async () => {
    const facts = factsOf(await probe.probe(await makeClip({ container: 'webm' })));
    expect(facts).toMatchObject({ container: 'webm', codec: 'vp8', displayWidth: 384, displayHeight: 288 });
    expect(checkVideo(facts).map((violation) => violation.code)).toEqual(['container-unsupported']);
  });

  it.each([90, 180, 270] as const)(
    'reports a %i° clockwise rotation and the display size',
    async (rotateDeg) => {
      const facts = factsOf(
        await probe.probe(await makeClip({ container: 'mov', width: 320, height: 240, rotateDeg })),
      );
      const quarter = rotateDeg !== 180;
      expect(facts).toMatchObject({
        container: 'mov',
        width: 320,
        height: 240,
        rotationDeg: rotateDeg,
        displayWidth: quarter ? 240 : 320,
        displayHeight: quarter ? 320 : 240,
      });
    },
  );
});

describe('FfprobeVideoProbe on real samples', () => {
  it('reads the iPhone clip as a 320×568 portrait mov rotated 90°', async () => {
    const facts = factsOf(await probe.probe(sampleMedia.iphoneRotatedMov));
    expect(facts).toMatchObject({
      container: 'mov',
      codec: 'h264',
      width: 568,
      height: 320,
      rotationDeg: 90,
      displayWidth: 320,
      displayHeight: 568,
      hasAudio: true,
    });
    expect(facts.durationSec).toBeCloseTo(2.2, 1);
    expect(checkVideo(facts)).toEqual([]);
  });

  it('reads an MPEG-TS segment of 388×300 and accepts it', async () => {
    const facts = factsOf(await probe.probe(sampleMedia.tsSegment));
    expect(facts).toMatchObject({ container: 'ts', codec: 'h264', displayWidth: 388, displayHeight: 300 });
    expect(facts.frameRate).toBe(15);
    expect(facts.durationSec).toBeCloseTo(8.93, 1);
    expect(checkVideo(facts)).toEqual([]);
  });

  it('reads an MPEG program stream as mpg with MPEG-1 video', async () => {
    const facts = factsOf(await probe.probe(sampleMedia.mpegPs));
    expect(facts).toMatchObject({
      container: 'mpg',
      formatName: 'mpeg',
      codec: 'mpeg1video',
      displayWidth: 960,
    });
    expect(facts.durationSec).toBeCloseTo(13.28, 1);
    expect(checkVideo(facts)).toEqual([]);
  });

  it('counts packets for an elementary MPEG-2 stream whose duration ffprobe leaves N/A, and says it states none', async () => {
    const facts = factsOf(await probe.probe(sampleMedia.mpegElementary));
    expect(facts).toMatchObject({ container: 'mpg', formatName: 'mpegvideo', codec: 'mpeg2video' });
    expect(facts.durationSec).toBeCloseTo(13.35, 1);
    // The model reads the length from the header: fitting rewrites it as MP4.
    expect(checkVideo(facts)).toEqual([{ code: 'length-undeclared', container: 'mpg' }]);
  });

  it('reads the ebml sample as webm, reporting the container and its 240 px short side', async () => {
    const facts = factsOf(await probe.probe(sampleMedia.webm));
    expect(facts).toMatchObject({ container: 'webm', codec: 'vp8', displayWidth: 320, displayHeight: 240 });
    expect(checkVideo(facts)).toEqual([
      { code: 'container-unsupported', container: 'webm', allowed: expect.any(Array) },
      { code: 'side-too-small', width: 320, height: 240, minSidePx: 256 },
    ]);
  });

  it.each([
    {
      name: 'File-Samples.1.ftypisom.mp4',
      path: sampleMedia.mp4Isom,
      width: 640,
      height: 360,
      durationSec: 13.35,
    },
    {
      name: 'MPEG-FFC.4.ftypavc1.mp4',
      path: sampleMedia.mp4FullHd,
      width: 1920,
      height: 1080,
      durationSec: 10,
    },
    { name: 'video-640-360.mp4', path: sampleMedia.mp4Small, width: 640, height: 360, durationSec: 1 },
  ])('accepts $name as a $width×$height mp4', async ({ path, width, height, durationSec }) => {
    const facts = factsOf(await probe.probe(path));
    expect(facts).toMatchObject({
      container: 'mp4',
      codec: 'h264',
      displayWidth: width,
      displayHeight: height,
    });
    expect(facts.durationSec).toBeCloseTo(durationSec, 1);
    expect(checkVideo(facts)).toEqual([]);
  });

  it("rejects js-ffmpeg's 0-byte novideo.mp4 as an empty file", async () => {
    expect(await probe.probe(sampleMedia.emptyMp4)).toEqual({
      kind: 'unreadable',
      reason: 'empty-file',
      sizeBytes: 0,
    });
  });
});

describe('FfprobeVideoProbe on bad inputs', () => {
  let bad: BadInputs;
  beforeAll(async () => {
    bad = await badInputs();
  });

  const violationsOf = async (pick: (inputs: BadInputs) => string) =>
    checkProbe(await probe.probe(pick(bad)));

  it('rejects a 0-byte file as empty', async () => {
    expect(await violationsOf((b) => b.emptyFile)).toEqual([{ code: 'empty-file', sizeBytes: 0 }]);
  });

  it('rejects an MP4 cut in half before its moov as cut short before its index', async () => {
    const result = await probe.probe(bad.truncatedMp4);
    expect(result).toMatchObject({ kind: 'unreadable', reason: 'cut-before-index' });
    expect(result.kind === 'unreadable' && result.detail).toMatch(/moov atom not found/);
    expect(checkProbe(result).map((violation) => violation.code)).toEqual(['cut-before-index']);
  });

  it('rejects a text file named .mp4 as unreadable', async () => {
    expect((await violationsOf((b) => b.textAsMp4)).map((violation) => violation.code)).toEqual([
      'unreadable',
    ]);
  });

  it('rejects AAC in an MP4 as having no video stream, naming the audio', async () => {
    expect(await violationsOf((b) => b.audioOnlyMp4)).toEqual([
      { code: 'no-video-stream', sizeBytes: expect.any(Number), what: 'aac audio' },
    ]);
  });

  it('rejects an MP3 named .mp4 as having no video stream, naming the audio', async () => {
    expect(await violationsOf((b) => b.mp3AsMp4)).toEqual([
      { code: 'no-video-stream', sizeBytes: 166_526, what: 'mp3 audio' },
    ]);
  });

  it('rejects a PNG named .mp4 as a still image', async () => {
    expect(await violationsOf((b) => b.pngAsMp4)).toEqual([
      { code: 'still-image', sizeBytes: 21_858, what: 'PNG image' },
    ]);
  });

  it('rejects a 31 s clip with the duration and the 30 s limit', async () => {
    const violations = await violationsOf((b) => b.tooLong);
    expect(violations).toEqual([
      {
        code: 'duration-too-long',
        durationSec: expect.any(Number),
        maxDurationSec: 30,
        pictureSec: expect.any(Number),
      },
    ]);
    expect(violations[0]?.code === 'duration-too-long' && violations[0].durationSec).toBeCloseTo(31, 1);
  });

  it('rejects a 4097 px wide clip with both sides and the 4096 px limit', async () => {
    expect(await violationsOf((b) => b.tooLargeSide)).toEqual([
      { code: 'side-too-large', width: 4097, height: 2300, maxSidePx: 4096 },
    ]);
  });

  it('rejects a 200×200 clip with its sides and the 256 px minimum', async () => {
    expect(await violationsOf((b) => b.tooSmallSide)).toEqual([
      { code: 'side-too-small', width: 200, height: 200, minSidePx: 256 },
    ]);
  });

  it('rejects a 2:1 clip with ratio 2 and the 1.8 limit', async () => {
    expect(await violationsOf((b) => b.tooWideAspect)).toEqual([
      { code: 'aspect-too-wide', width: 640, height: 320, ratio: 2, maxAspectRatio: 1.8 },
    ]);
  });

  it('rejects a 101 MB file with its size and the 100 MB limit', async () => {
    const violations = await violationsOf((b) => b.tooLargeFile);
    expect(violations).toEqual([
      { code: 'file-too-large', sizeBytes: expect.any(Number), maxSizeBytes: 100_000_000 },
    ]);
    expect(violations[0]?.code === 'file-too-large' && violations[0].sizeBytes).toBeGreaterThan(
      PADDING_BYTES,
    );
  });

  it('rejects the HLS-in-AVI exploit as an embedded reference', async () => {
    const result = await probe.probe(bad.hlsInAvi);
    expect(result).toMatchObject({ kind: 'unreadable', reason: 'embedded-reference', sizeBytes: 340_643 });
    expect(checkProbe(result).map((violation) => violation.code)).toEqual(['embedded-reference']);
  });
});

describe('FfprobeVideoProbe reference scan', () => {
  it('finds #EXTM3U split across two 1 MiB reads', async () => {
    const dir = await tempDir();
    const path = await fileWithMarkerAt(join(dir, 'split.mp4'), '#EXTM3U', 1024 * 1024 - 3, 3 * 1024 * 1024);
    expect(await probe.probe(path)).toMatchObject({
      reason: 'embedded-reference',
      detail: expect.stringContaining(`byte ${1024 * 1024 - 3}`),
    });
  });

  it('finds an ffconcat script deep inside a large file', async () => {
    const dir = await tempDir();
    const path = await fileWithMarkerAt(
      join(dir, 'deep.mkv'),
      'ffconcat version 1.0',
      37_000_001,
      40_000_000,
    );
    expect(await probe.probe(path)).toMatchObject({ reason: 'embedded-reference' });
  });
});

describe('ffprobe whitelists', () => {
  let server: Server;
  let port: number;
  let requests: string[];

  beforeAll(async () => {
    requests = [];
    server = createServer((request, response) => {
      requests.push(request.url ?? '');
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function playlist(name: string): Promise<string> {
    const dir = await tempDir();
    const path = join(dir, name);
    const segment = `http://127.0.0.1:${port}/seg.ts`;
    await writeFile(
      path,
      `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n${segment}\n#EXTINF:2.0,\n${segment}\n#EXT-X-ENDLIST\n`,
    );
    return path;
  }

  it('rejects an HLS playlist named clip.mp4 without contacting its server', async () => {
    requests = [];
    const result = await probe.probe(await playlist('clip.mp4'));
    expect(checkProbe(result).map((violation) => violation.code)).toEqual(['embedded-reference']);
    expect(requests).toEqual([]);
  });

  it.each(['clip.mp4', 'clip.m3u8'])(
    'stops a playlist named %s with the whitelists alone when the byte scan is bypassed',
    async (name) => {
      requests = [];
      const run = await runFfprobe(await playlist(name), { binaries });
      expect(run.ok).toBe(false);
      expect(requests).toEqual([]);
    },
  );

  it('would fetch the segment if ffprobe were allowed hls and http (control)', async () => {
    requests = [];
    const path = await playlist('clip.m3u8');
    await execFileAsync(
      binaries.ffprobe,
      ['-v', 'error', '-protocol_whitelist', 'file,http,tcp', '-show_format', path],
      { env: { ...process.env, ...binaries.env } },
    ).catch(() => undefined);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests[0]).toBe('/seg.ts');
  });

  it('refuses a playlist of local files, which the file-only protocol whitelist alone would let through', async () => {
    // This is the shape of the /etc/passwd exploit: every read is a plain local file.
    const segment = await makeClip({ container: 'ts' });
    const dir = await tempDir();
    const path = join(dir, 'local.m3u8');
    await writeFile(path, `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\n${segment}\n#EXT-X-ENDLIST\n`);
    expect(await runFfprobe(path, { binaries })).toMatchObject({ ok: false });
    const { stdout } = await execFileAsync(
      binaries.ffprobe,
      [
        '-v',
        'error',
        '-protocol_whitelist',
        'file',
        '-show_entries',
        'format=format_name',
        '-of',
        'csv=p=0',
        path,
      ],
      { env: { ...process.env, ...binaries.env } },
    );
    expect(stdout.trim()).toMatch(/^hls/);
  });
});

describe('ffprobe output interpretation', () => {
  it.each([
    { stream: { side_data_list: [{ rotation: -90 }] }, clockwiseDeg: 90 },
    { stream: { side_data_list: [{ rotation: 90 }] }, clockwiseDeg: 270 },
    { stream: { side_data_list: [{ rotation: -180 }] }, clockwiseDeg: 180 },
    { stream: { side_data_list: [{ rotation: 180 }] }, clockwiseDeg: 180 },
    { stream: { side_data_list: [{ rotation: -89.98 }] }, clockwiseDeg: 90 },
    { stream: { tags: { rotate: '90' } }, clockwiseDeg: 90 },
    { stream: { tags: { rotate: '270' } }, clockwiseDeg: 270 },
    { stream: { tags: { rotate: '-90' } }, clockwiseDeg: 270 },
    { stream: {}, clockwiseDeg: 0 },
  ])('reads $stream as $clockwiseDeg° clockwise', ({ stream, clockwiseDeg }) => {
    expect(rotationOf(stream)).toBe(clockwiseDeg);
  });

  const mov = 'mov,mp4,m4a,3gp,3g2,mj2';
  it.each([
    { formatName: mov, hints: { path: 'a.mp4', majorBrand: 'qt  ' }, container: 'mov' },
    { formatName: mov, hints: { path: 'a.MOV', majorBrand: 'isom' }, container: 'mov' },
    { formatName: mov, hints: { path: 'a.3gp', majorBrand: '3gp4' }, container: '3gp' },
    { formatName: mov, hints: { path: 'a.mp4', majorBrand: 'isom' }, container: 'mp4' },
    { formatName: mov, hints: { path: 'a.bin' }, container: 'mp4' },
    { formatName: 'matroska,webm', hints: { path: 'a.mkv', ebmlDocType: 'webm' }, container: 'webm' },
    { formatName: 'matroska,webm', hints: { path: 'a.webm', ebmlDocType: 'matroska' }, container: 'webm' },
    { formatName: 'matroska,webm', hints: { path: 'a.mkv', ebmlDocType: 'matroska' }, container: 'mkv' },
    {
      formatName: 'matroska,webm',
      hints: {
        path: 'a',
        codecs: [
          { type: 'video', codec: 'vp9' },
          { type: 'audio', codec: 'opus' },
        ],
      },
      container: 'webm',
    },
    {
      formatName: 'matroska,webm',
      hints: {
        path: 'a',
        codecs: [
          { type: 'video', codec: 'h264' },
          { type: 'audio', codec: 'opus' },
        ],
      },
      container: 'mkv',
    },
    { formatName: 'mpegts', hints: { path: 'a.m2ts' }, container: 'ts' },
    { formatName: 'mpeg', hints: { path: 'a.vob' }, container: 'mpg' },
    { formatName: 'mpegvideo', hints: { path: 'a.m2v' }, container: 'mpg' },
    { formatName: 'live_flv', hints: { path: 'a.flv' }, container: 'flv' },
    { formatName: 'h264', hints: { path: 'a.264' }, container: 'h264' },
  ])('names $formatName with $hints as $container', ({ formatName, hints, container }) => {
    expect(containerOf(formatName, hints)).toBe(container);
  });
});

describe('FfprobeVideoProbe cancellation', () => {
  it('rejects with AbortedError when the signal has already fired', async () => {
    await expect(probe.probe(sampleMedia.mp4Small, AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
  });

  it('reports a probe that outlives its timeout as unreadable', async () => {
    const impatient = new FfprobeVideoProbe({ binaries, timeoutMs: 1 });
    expect(await impatient.probe(sampleMedia.mp4Small)).toMatchObject({
      kind: 'unreadable',
      reason: 'unreadable',
      detail: expect.stringMatching(/did not finish/),
    });
  });

  it('kills the child process when aborted mid-run', async () => {
    const controller = new AbortController();
    const startedAt = Date.now();
    const running = runProcess('sleep', ['10'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });
});

describe('FfprobeVideoProbe under load', () => {
  it('runs at most `concurrency` probes at once (two ffprobe processes each)', async () => {
    const dir = await tempDir();
    const log = join(dir, 'runs.log');
    // An ffprobe that notes when it starts and ends, and takes its time.
    const wrapper = join(dir, 'ffprobe');
    await writeFile(
      wrapper,
      `#!/bin/sh\necho start >> "${log}"\nsleep 0.2\n"${binaries.ffprobe}" "$@"\ncode=$?\necho end >> "${log}"\nexit $code\n`,
      { mode: 0o755 },
    );
    const limited = new FfprobeVideoProbe({ binaries: { ...binaries, ffprobe: wrapper }, concurrency: 1 });
    const results = await Promise.all([1, 2, 3].map(() => limited.probe(sampleMedia.mp4Small)));
    expect(results.every((result) => result.kind === 'video')).toBe(true);
    let running = 0;
    let most = 0;
    for (const line of (await readFile(log, 'utf8')).trim().split('\n')) {
      running += line === 'start' ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(2);
  });

  it('reads streams only with scan: false (for results), so damage goes unchecked there', async () => {
    const quick = new FfprobeVideoProbe({ binaries, scan: false });
    const facts = factsOf(await quick.probe((await awkwardInputs()).fastStartHalf));
    expect(facts.incomplete).toBeUndefined();
    expect(facts.durationSec).toBeCloseTo(10, 0);
  });
});

describe('FfprobeVideoProbe on files that do not hold what they declare', () => {
  let awkward: AwkwardInputs;
  beforeAll(async () => {
    awkward = await awkwardInputs();
  });

  it('finds where zero-filled data begins in an MP4 whose index is intact', async () => {
    const facts = factsOf(await probe.probe(awkward.zeroTail));
    expect(facts.incomplete).toMatchObject({ declaredSec: 10, pastEnd: false });
    // The last 30 % of the bytes are zeros: about the last 3 s of a steady test pattern.
    expect(facts.incomplete?.readableSec).toBeGreaterThan(6);
    expect(facts.incomplete?.readableSec).toBeLessThan(8);
  });

  it('says a Matroska file written as a live stream states no length', async () => {
    const facts = factsOf(await probe.probe(awkward.liveMkv));
    expect(facts).toMatchObject({ container: 'mkv', undeclaredLength: true });
    expect(facts.durationSec).toBeCloseTo(5, 0);
    expect(checkVideo(facts)).toEqual([{ code: 'length-undeclared', container: 'mkv' }]);
  });

  it('measures a clip cut without re-encoding by what plays, not by the packets its edit list skips', async () => {
    const facts = factsOf(await probe.probe(awkward.cutWithoutReencode));
    expect(facts.durationSec).toBeCloseTo(28, 0);
    expect(facts.pictureSec).toBeCloseTo(28, 0);
    expect(checkVideo(facts)).toEqual([]);
  });

  it('names the subtitles that run past the picture', async () => {
    const dir = await tempDir();
    const path = join(dir, 'subtitled.mkv');
    const srt = join(dir, 'late.srt');
    await writeFile(
      srt,
      '1\n00:00:01,000 --> 00:00:02,000\nhello\n\n2\n00:00:39,000 --> 00:00:40,000\nbye\n',
    );
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=384x288:rate=10:duration=10',
      '-i',
      srt,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:s',
      'srt',
      path,
    ]);
    const facts = factsOf(await probe.probe(path));
    expect(facts).toMatchObject({ longerStream: 'subtitles' });
    expect(facts.pictureSec).toBeCloseTo(10, 0);
    expect(facts.durationSec).toBeCloseTo(40, 0);
  });

  it('puts the size first for a huge file it cannot read, without reading all of it', async () => {
    const dir = await tempDir();
    const path = await fileWithMarkerAt(join(dir, 'huge.mp4'), '\0\0\0\x18ftypisom', 0, 5 * 1024 ** 3);
    const violations = checkProbe(await probe.probe(path));
    expect(violations.map((violation) => violation.code)).toEqual(['file-too-large', 'unreadable']);
    expect(violations[0]).toMatchObject({ sizeBytes: 5 * 1024 ** 3 });
  });
});
