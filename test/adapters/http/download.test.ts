import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpDownloader, TooLargeError } from '../../../src/adapters/http/download.ts';

let server: Server;
let base: string;
const dir = mkdtempSync(join(tmpdir(), 'restyle-dl-'));
const chunk = Buffer.alloc(64 * 1024, 7);

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const bytes = Number(url.searchParams.get('bytes') ?? 0);
    if (url.pathname === '/missing') {
      res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: `/file?bytes=${bytes}` }).end();
      return;
    }
    const chunked = url.pathname === '/chunked';
    res.writeHead(200, chunked ? {} : { 'content-length': String(bytes) });
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const part = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
        sent += part.length;
        if (!res.write(part)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('HttpDownloader', () => {
  it('streams a body to disk and reports progress', async () => {
    const dest = join(dir, 'a.bin');
    const seen: number[] = [];
    const { bytes } = await new HttpDownloader().download(`${base}/file?bytes=5000000`, dest, {
      maxBytes: 10_000_000,
      onProgress: (progress) => seen.push(progress.bytes),
    });
    expect(bytes).toBe(5_000_000);
    expect(statSync(dest).size).toBe(5_000_000);
    expect(seen.at(-1)).toBe(5_000_000);
  });

  it('follows redirects', async () => {
    const dest = join(dir, 'r.bin');
    await new HttpDownloader().download(`${base}/redirect?bytes=1000`, dest, { maxBytes: 10_000 });
    expect(statSync(dest).size).toBe(1000);
  });

  it('refuses a declared size over the cap before reading the body', async () => {
    const dest = join(dir, 'big.bin');
    const error = await new HttpDownloader()
      .download(`${base}/file?bytes=2000000`, dest, { maxBytes: 1_000_000 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TooLargeError);
    expect(error).toMatchObject({ sizeBytes: 2_000_000, maxBytes: 1_000_000 });
    expect(existsSync(dest)).toBe(false);
  });

  it('stops an undeclared body at the cap and leaves no partial file', async () => {
    const dest = join(dir, 'chunked.bin');
    const error = await new HttpDownloader()
      .download(`${base}/chunked?bytes=3000000`, dest, { maxBytes: 1_000_000 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TooLargeError);
    expect(readdirSync(dir).filter((name) => name.startsWith('chunked'))).toEqual([]);
  });

  it('reports a missing file without retrying it', async () => {
    const error = await new HttpDownloader()
      .download(`${base}/missing`, join(dir, 'm.bin'), { maxBytes: 1000 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'HTTP404', retryable: false });
  });

  it('refuses non-http URLs', async () => {
    await expect(
      new HttpDownloader().download('file:///etc/passwd', join(dir, 'p.bin'), { maxBytes: 1000 }),
    ).rejects.toThrow(/http/);
  });
});
