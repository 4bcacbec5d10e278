import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { probeMp4, sniffMime } from '../telegram/files.ts';

/**
 * Signs attachment CDN paths the way Discord does: `?ex=<hex expiry>&is=<hex issue time>&hm=<hex mac>&`,
 * with times in Unix seconds of the fake's clock.
 */
export class CdnSigner {
  constructor(
    private readonly secret: Buffer,
    private readonly now: () => number,
    private readonly ttlMs: () => number,
  ) {}

  private mac(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.secret).update(`${path}\n${ex}\n${is}`).digest('hex');
  }

  /** The query string (with its `?`) that makes `path` downloadable until the TTL passes. */
  query(path: string): string {
    const issued = Math.floor(this.now() / 1000);
    const expires = issued + Math.max(1, Math.ceil(this.ttlMs() / 1000));
    const ex = expires.toString(16);
    const is = issued.toString(16);
    return `?ex=${ex}&is=${is}&hm=${this.mac(path, ex, is)}&`;
  }

  /** Whether a request for `path` carries a valid, unexpired signature. */
  check(path: string, params: URLSearchParams): 'ok' | 'expired' | 'invalid' {
    const ex = params.get('ex');
    const is = params.get('is');
    const hm = params.get('hm');
    if (
      !ex ||
      !is ||
      !hm ||
      !/^[0-9a-f]+$/.test(ex) ||
      !/^[0-9a-f]+$/.test(is) ||
      !/^[0-9a-f]{64}$/.test(hm)
    ) {
      return 'invalid';
    }
    const expected = Buffer.from(this.mac(path, ex, is), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(hm, 'hex'))) return 'invalid';
    return this.now() >= Number.parseInt(ex, 16) * 1000 ? 'expired' : 'ok';
  }
}

/** Answers a file with Range support (one range), as the CDN does; HEAD answers headers only. */
export async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  file: { readonly path: string; readonly size: number; readonly contentType?: string },
): Promise<void> {
  const headers: Record<string, string> = {
    'content-type': file.contentType ?? 'application/octet-stream',
    'accept-ranges': 'bytes',
    'cache-control': 'public, max-age=31536000',
  };
  let start = 0;
  let end = file.size - 1;
  let status = 200;
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') {
        start = Math.max(0, file.size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start > end || start >= file.size) {
        res.writeHead(416, { 'content-range': `bytes */${file.size}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
    }
  }
  headers['content-length'] = String(file.size === 0 ? 0 : end - start + 1);
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || file.size === 0) {
    res.end();
    return;
  }
  await pipeline(createReadStream(file.path, { start, end }), res);
}

const EXTENSION_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
};

/** The content_type Discord gives an attachment: from its bytes, else its extension. */
export function contentTypeFor(filename: string, head: Buffer): string | undefined {
  if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47) return 'image/png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (
    head.length >= 12 &&
    head.toString('latin1', 0, 4) === 'RIFF' &&
    head.toString('latin1', 8, 12) === 'WEBP'
  ) {
    return 'image/webp';
  }
  const sniffed = sniffMime(head, filename);
  if (sniffed) return sniffed;
  return EXTENSION_TYPES[extname(filename).toLowerCase()];
}

/** Reads up to `bytes` from the start of a file. */
export async function readHead(path: string, bytes = 64 * 1024): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Width and height (and a video's duration) Discord reads from an image or video. */
export interface MediaFacts {
  readonly width?: number;
  readonly height?: number;
  readonly durationSecs?: number;
}

function imageSize(head: Buffer): { width: number; height: number } | undefined {
  if (
    head.length >= 24 &&
    head.readUInt32BE(0) === 0x89504e47 &&
    head.toString('latin1', 12, 16) === 'IHDR'
  ) {
    return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
  }
  if (head.length >= 10 && head.toString('latin1', 0, 3) === 'GIF') {
    return { width: head.readUInt16LE(6), height: head.readUInt16LE(8) };
  }
  if (
    head.length >= 30 &&
    head.toString('latin1', 0, 4) === 'RIFF' &&
    head.toString('latin1', 8, 12) === 'WEBP'
  ) {
    const chunk = head.toString('latin1', 12, 16);
    if (chunk === 'VP8X') return { width: 1 + head.readUIntLE(24, 3), height: 1 + head.readUIntLE(27, 3) };
    if (chunk === 'VP8 ')
      return { width: head.readUInt16LE(26) & 0x3fff, height: head.readUInt16LE(28) & 0x3fff };
    if (chunk === 'VP8L') {
      const bits = head.readUInt32LE(21);
      return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
  }
  if (head.length >= 4 && head[0] === 0xff && head[1] === 0xd8) {
    let offset = 2;
    while (offset + 9 < head.length) {
      if (head[offset] !== 0xff) return undefined;
      const marker = head[offset + 1]!;
      const length = head.readUInt16BE(offset + 2);
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isSof) return { height: head.readUInt16BE(offset + 5), width: head.readUInt16BE(offset + 7) };
      offset += 2 + length;
    }
  }
  return undefined;
}

/** What the fake knows about an image or video file's dimensions; empty for other files. */
export async function probeMedia(path: string, contentType: string | undefined): Promise<MediaFacts> {
  if (contentType?.startsWith('image/')) {
    const size = imageSize(await readHead(path));
    return size ?? {};
  }
  if (contentType === 'video/mp4' || contentType === 'video/quicktime') {
    const facts = await probeMp4(path).catch(() => undefined);
    if (!facts) return {};
    return {
      ...(facts.width > 0 ? { width: facts.width, height: facts.height } : {}),
      ...(facts.durationSec > 0 ? { durationSecs: facts.durationSec } : {}),
    };
  }
  return {};
}
