import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDashScope, startFakeDashScope } from '../fakes/dashscope/server.ts';
import { type AwkwardInputs, awkwardInputs } from '../helpers/awkward.ts';
import { type CliRun, runRestyle } from '../helpers/cli.ts';
import { probeVideoStream, tempDir } from '../helpers/media.ts';

// Files that look fine at a glance but that the model would refuse or half-process: each is
// rejected before any remote call with the real numbers, or fitted and then sent once.

const KEY = 'sk-test-key';

let fake: FakeDashScope;
let out: string;
let awkward: AwkwardInputs;

function restyle(args: readonly string[]): Promise<CliRun> {
  return runRestyle(args, { fake, key: KEY, cwd: out });
}

beforeAll(async () => {
  fake = await startFakeDashScope({ pendingMs: 50, runningMs: 200, render: false });
  out = await tempDir('restyle-awkward-');
  awkward = await awkwardInputs();
});
afterAll(async () => {
  await fake.close();
});

/** Runs `restyle video` on a clip that must be refused: exit 2, nothing sent to DashScope. */
async function rejected(input: string, lang: 'en' | 'zh' = 'en'): Promise<string> {
  const before = fake.requests.length;
  const run = await restyle(['video', input, '--style', '3d', '--lang', lang]);
  expect(run.code, run.stderr).toBe(2);
  expect(fake.requests.length).toBe(before);
  return run.stderr;
}

describe('clips the model would refuse are rejected before any remote call', () => {
  it('audio that runs past 30 s over a 20 s picture, with both numbers', async () => {
    expect(await rejected(awkward.audioLonger)).toContain(
      'The picture lasts 20 s, but the audio runs to 35 s, longer than the 30 s limit.',
    );
    expect(await rejected(awkward.audioLonger, 'zh')).toContain(
      '画面时长 20 秒，但音频长达 35 秒，超过 30 秒的上限。',
    );
  });

  it('the same in Matroska, where only the tracks say how long each stream is', async () => {
    expect(await rejected(awkward.audioLongerMkv)).toContain(
      'The picture lasts 12 s, but the audio runs to 33 s, longer than the 30 s limit.',
    );
  });

  it('a fast-start MP4 cut in half, with the share that is missing', async () => {
    const en = await rejected(awkward.fastStartHalf);
    expect(en).toContain(
      'The file is cut short: its index points past the end of the file, and only the first 5 s of its 10 s can be read (50% missing).',
    );
    expect(en).toContain('Add --fit to repair');
    expect(await rejected(awkward.fastStartHalf, 'zh')).toContain(
      '文件被截断：索引指向文件末尾之后的数据，画面时长 10 秒，只能读取前 5 秒（缺少 50%）。',
    );
  });

  it('an MP4 whose media data was cut while its index survived', async () => {
    expect(await rejected(awkward.mdatCut)).toMatch(
      /cut short: .* only the first 3\.\d s of its 10 s can be read \(6\d% missing\)/,
    );
  });

  it('an MP4 whose index survived over a zero-filled tail', async () => {
    expect(await rejected(awkward.zeroTail)).toMatch(
      /The file is incomplete: it declares 10 s of picture, but only the first [67](\.\d+)? s can be read \(3\d% missing\)\./,
    );
  });

  it('a Matroska file that states no length, as when recorded live', async () => {
    expect(await rejected(awkward.liveMkv)).toContain(
      'The file does not state how long it is (as when it was recorded as a live stream), and the model needs that; adjusting rewrites it as MP4.',
    );
    expect(await rejected(awkward.liveMkv, 'zh')).toContain('文件没有标明时长');
  });

  it('30.04 s: the length with the precision that makes the sentence true', async () => {
    expect(await rejected(awkward.justOverDuration)).toContain('30.04 s is longer than the 30 s limit.');
    expect(await rejected(awkward.justOverDuration, 'zh')).toContain('视频时长 30.04 秒，超过 30 秒的上限。');
  });

  it('100,000,001 bytes: the size to the byte', async () => {
    expect(await rejected(awkward.oneByteOver)).toContain(
      '100,000,001 bytes is over the 100,000,000-byte limit.',
    );
    expect(await rejected(awkward.oneByteOver, 'zh')).toContain(
      '文件大小 100,000,001 字节，超过 100,000,000 字节的上限。',
    );
  });

  it('an animated GIF: a moving picture in a format the model does not take, once', async () => {
    const en = await rejected(awkward.animatedGif);
    expect(en).toContain('This is an animated GIF, a format the model does not take');
    expect(en).not.toContain('still image');
    expect(en).not.toContain('encoded as gif');
    expect(await rejected(awkward.animatedGif, 'zh')).toContain('这是 GIF 动图，模型不接受这种格式');
  });

  it('a one-frame GIF stays a still image', async () => {
    expect(await rejected(awkward.stillGif)).toContain('This is a still image (GIF image), not a video.');
  });

  it('an animated WebP, which this ffmpeg cannot decode, is named as such', async (context) => {
    if (!awkward.animatedWebp) context.skip();
    expect(await rejected(awkward.animatedWebp!)).toContain(
      'This is an animated WebP, which the ffmpeg on this server cannot turn into video.',
    );
  });
});

describe('--fit repairs them, says what it did with the real numbers, and sends each once', () => {
  async function fitted(input: string, name: string): Promise<{ run: CliRun; durationSec: number }> {
    const submits = fake.submits().length;
    const run = await restyle(['video', input, '--style', 'comic', '--fit', '--out', name]);
    expect(run.code, run.stderr).toBe(0);
    expect(fake.submits().length).toBe(submits + 1);
    const task = [...fake.tasks.values()].at(-1)!;
    return { run, durationSec: task.input.durationSec ?? Number.NaN };
  }

  it('cuts the audio where the picture ends', async () => {
    const { run, durationSec } = await fitted(awkward.audioLonger, 'audio-cut.mp4');
    expect(run.stderr).toContain('cut the audio from 35 s to 20 s, where the picture ends');
    expect(durationSec).toBeGreaterThan(19.5);
    expect(durationSec).toBeLessThanOrEqual(20.1);
  });

  it('re-encodes the part of a cut file that can be read, and says how long it is', async () => {
    const { run, durationSec } = await fitted(awkward.fastStartHalf, 'salvaged.mp4');
    expect(run.stderr).toMatch(/re-encoded the [45](\.\d+)? s that can be read \(of 10 s declared\)/);
    expect(durationSec).toBeGreaterThan(4);
    expect(durationSec).toBeLessThanOrEqual(5.1);
  });

  it('re-encodes what plays before a zero-filled tail', async () => {
    const { run, durationSec } = await fitted(awkward.zeroTail, 'before-zeros.mp4');
    expect(run.stderr).toMatch(/re-encoded the [67](\.\d+)? s that can be read \(of 10 s declared\)/);
    expect(durationSec).toBeLessThan(8);
  });

  it('rewrites a live-recorded Matroska file as MP4', async () => {
    const { run, durationSec } = await fitted(awkward.liveMkv, 'from-live.mp4');
    expect(run.stderr).toContain('converted MKV → MP4');
    expect(durationSec).toBeCloseTo(5, 0);
  });

  it('trims 30.04 s and names the length it measured after', async () => {
    const { run, durationSec } = await fitted(awkward.justOverDuration, 'trimmed.mp4');
    expect(run.stderr).toMatch(/trimmed from 30\.04 s to 29\.9\d? s/);
    expect(durationSec).toBeLessThanOrEqual(30);
  });

  it('compresses 100,000,001 bytes and names the size it reached', async () => {
    const { run } = await fitted(awkward.oneByteOver, 'compressed.mp4');
    expect(run.stderr).toMatch(/compressed 100\.0 MB → \d+(\.\d)? KB/);
  });

  it('turns an animated GIF into an MP4', async () => {
    const { run } = await fitted(awkward.animatedGif, 'from-gif.mp4');
    expect(run.stderr).toMatch(/GIF → MP4/);
    const facts = await probeVideoStream(join(out, 'from-gif.mp4'));
    expect(facts).toMatchObject({ codec: 'h264', width: 384, height: 288 });
  });
});

describe('arguments Node would refuse in English are named in the user’s language', () => {
  it('an unknown option, such as a file whose name starts with "-"', async () => {
    const run = await restyle(['video', '-holiday.mp4', '--style', '3d', '--lang', 'zh']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('未知选项 -holiday.mp4。文件名以“-”开头时，请放在“--”之后');
    expect(run.stderr).not.toMatch(/Unknown option/);
  });

  it('an option without its value', async () => {
    const run = await restyle(['video', 'clip.mp4', '--style']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--style needs a value.');
  });
});

describe('inputs that are not regular files are named, never opened', () => {
  let dir: string;
  let socketServer: Server;
  const paths = { folder: '', fifo: '', deviceLink: '', socket: '', dangling: '' };

  beforeAll(async () => {
    dir = await tempDir('restyle-special-');
    paths.folder = join(dir, 'holiday.mp4');
    execFileSync('mkdir', [paths.folder]);
    paths.fifo = join(dir, 'pipe.mp4');
    execFileSync('mkfifo', [paths.fifo]);
    paths.deviceLink = join(dir, 'null.mp4');
    symlinkSync('/dev/null', paths.deviceLink);
    paths.socket = join(dir, 'socket.mp4');
    socketServer = createServer();
    await new Promise<void>((ready) => socketServer.listen(paths.socket, ready));
    paths.dangling = join(dir, 'moved.mp4');
    symlinkSync(join(dir, 'gone.mp4'), paths.dangling);
  });
  afterAll(() => {
    socketServer.close();
  });

  const named = (kind: string, zhKind: string) => ({
    en: (path: string) => `${path}: This is ${kind}, not a video file.`,
    zh: (path: string) => `${path}：这是${zhKind}，不是视频文件。`,
  });
  it.each([
    ['a folder', 'folder', named('a folder', '一个文件夹')],
    ['a FIFO', 'fifo', named('a named pipe (FIFO)', '一个命名管道（FIFO）')],
    [
      'a link to a device',
      'deviceLink',
      {
        en: (path: string) => `${path}: This is a link to a character device, not a video file.`,
        zh: (path: string) => `${path}：这是指向一个字符设备的链接，不是视频文件。`,
      },
    ],
    ['a socket', 'socket', named('a socket', '一个套接字')],
    [
      'a dangling link',
      'dangling',
      {
        en: (path: string) => `${path} is a link to a file that does not exist.`,
        zh: (path: string) => `${path} 是一个链接，但它指向的文件不存在。`,
      },
    ],
  ] as const)('%s', async (_name, key, expected) => {
    const before = fake.requests.length;
    // A FIFO opened for reading would wait for a writer: the test would time out.
    const run = await restyle(['video', paths[key], '--style', '3d']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(expected.en(paths[key]));
    const zhRun = await restyle(['video', paths[key], '--style', '3d', '--lang', 'zh']);
    expect(zhRun.stderr).toContain(expected.zh(paths[key]));
    expect(fake.requests.length).toBe(before);
  });
});
