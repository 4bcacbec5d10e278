// Unique clips for the crash soak: one small compliant MP4 generated once with ffmpeg, then copied
// per request with a trailing MP4 `free` box that carries a marker. Players and ffprobe skip `free`
// boxes, so every copy is still the same valid clip, but its bytes (and so the result cache key)
// are unique, and the marker lets the soak trace any copy of those bytes — a Telegram download, a
// DashScope upload, a result (the DashScope fake returns the input when it does not render) —
// back to the request that sent it.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeClip } from '../../test/helpers/media.ts';

const PREFIX = 'RESTYLE-SOAK-CLIP:';
const SUFFIX = ';';

/** Makes per-request copies of one base clip, each tagged with `<run>:<request id>`. */
export class ClipFactory {
  private base: Buffer | undefined;
  readonly run = randomBytes(4).toString('hex');

  constructor(private readonly dir: string) {}

  /** Generates the base clip (1 s, 384×288 H.264 MP4, 10 fps): a few tens of kilobytes. */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.base = await readFile(await makeClip({ container: 'mp4', durationSec: 1 }));
  }

  /** Writes the clip of request `id`; resolves with its path. */
  async clipFor(id: number): Promise<string> {
    if (!this.base) throw new Error('ClipFactory.prepare() first');
    const marker = Buffer.from(`${PREFIX}${this.run}:${id}${SUFFIX}`, 'latin1');
    const header = Buffer.alloc(8);
    header.writeUInt32BE(8 + marker.length, 0);
    header.write('free', 4, 'latin1');
    const path = join(this.dir, `soak-${id}.mp4`);
    await writeFile(path, Buffer.concat([this.base, header, marker]));
    return path;
  }

  /** The request id a file carries, if it is a (complete) copy of one of this run's clips. */
  async requestOf(path: string): Promise<number | undefined> {
    const bytes = await readTail(path, 4096);
    if (!bytes) return undefined;
    const text = bytes.toString('latin1');
    const at = text.lastIndexOf(`${PREFIX}${this.run}:`);
    if (at < 0) return undefined;
    const rest = text.slice(at + PREFIX.length + this.run.length + 1);
    const end = rest.indexOf(SUFFIX);
    const id = Number(rest.slice(0, end));
    return end > 0 && Number.isInteger(id) ? id : undefined;
  }
}

/** The last `n` bytes of a file, or undefined when it cannot be read. */
async function readTail(path: string, n: number): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, n);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}
