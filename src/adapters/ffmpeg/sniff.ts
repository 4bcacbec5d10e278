import { open } from 'node:fs/promises';
import { throwIfAborted } from '../../core/errors.ts';

/** What the first bytes of a file say it is, when that settles the matter before ffprobe runs. */
export type Sniffed =
  | { readonly kind: 'image'; readonly what: string }
  /** A picture format that may hold one frame or many; ffprobe's frame count decides. */
  | { readonly kind: 'gif' }
  /** An animated WebP (a still WebP is an `image`). */
  | { readonly kind: 'animated-webp' }
  | { readonly kind: 'audio'; readonly what: string }
  | { readonly kind: 'ebml'; readonly docType: string | undefined };

const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);
const BMP_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

function startsWith(head: Buffer, bytes: readonly number[], offset = 0): boolean {
  return bytes.every((byte, i) => head[offset + i] === byte);
}

function ascii(head: Buffer, start: number, end: number): string {
  return head.subarray(start, end).toString('latin1');
}

/** Reads an EBML header's DocType (`webm` or `matroska`), which ffprobe does not report. */
function ebmlDocType(head: Buffer): string | undefined {
  // DocType is element 0x4282 inside the EBML header, which sits in the first few dozen bytes.
  const limit = Math.min(head.length, 128);
  for (let i = 4; i + 3 < limit; i++) {
    if (head[i] !== 0x42 || head[i + 1] !== 0x82) continue;
    const sizeByte = head[i + 2]!;
    if ((sizeByte & 0x80) === 0) continue;
    const length = sizeByte & 0x7f;
    return ascii(head, i + 3, Math.min(limit, i + 3 + length)).replace(/\0+$/, '');
  }
  return undefined;
}

export function sniff(head: Buffer): Sniffed | undefined {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { kind: 'image', what: 'PNG image' };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: 'image', what: 'JPEG image' };
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return { kind: 'gif' };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') {
    // An extended (VP8X) header carries the animation flag, bit 1 of the byte after the chunk size.
    const animated = ascii(head, 12, 16) === 'VP8X' && head.length > 20 && (head[20]! & 0x02) !== 0;
    return animated ? { kind: 'animated-webp' } : { kind: 'image', what: 'WebP image' };
  }
  if (ascii(head, 0, 2) === 'BM' && head.length >= 18 && BMP_HEADER_SIZES.has(head.readUInt32LE(14))) {
    return { kind: 'image', what: 'BMP image' };
  }
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { kind: 'image', what: 'TIFF image' };
  }
  if (ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (HEIF_BRANDS.has(brand)) return { kind: 'image', what: 'HEIC image' };
    if (AVIF_BRANDS.has(brand)) return { kind: 'image', what: 'AVIF image' };
  }
  // Audio-only formats are not on the demuxer whitelist, so ffprobe could only say "not on whitelist".
  if (ascii(head, 0, 3) === 'ID3') return { kind: 'audio', what: 'mp3 audio' };
  if (ascii(head, 0, 4) === 'fLaC') return { kind: 'audio', what: 'FLAC audio' };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WAVE')
    return { kind: 'audio', what: 'WAV audio' };
  if (ascii(head, 0, 5) === '#!AMR') return { kind: 'audio', what: 'AMR audio' };
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe0) === 0xe0) {
    const layer = (head[1]! >> 1) & 0x03;
    if (layer === 0 && (head[1]! & 0xf0) === 0xf0) return { kind: 'audio', what: 'AAC audio' };
    if (layer !== 0) return { kind: 'audio', what: 'mp3 audio' };
  }
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return { kind: 'ebml', docType: ebmlDocType(head) };
  return undefined;
}

/** Byte sequences that make ffmpeg read other files or URLs (HLS playlists, concat scripts). */
const REFERENCE_MARKERS = [
  { bytes: Buffer.from('#EXTM3U', 'latin1'), what: 'an HLS playlist (#EXTM3U)' },
  { bytes: Buffer.from('ffconcat version', 'latin1'), what: 'an ffconcat script' },
] as const;

const SCAN_CHUNK_BYTES = 1024 * 1024;
/**
 * How far the marker scan reads. Files this big are far over every limit (fitting takes up to 4×);
 * past it the demuxer and protocol whitelists alone keep ffmpeg to the file itself.
 */
const SCAN_MAX_BYTES = 512 * 1024 * 1024;
const HEAD_BYTES = 4096;

/** Reads the file's first bytes, and finds the first reference marker in its first 512 MiB. */
export async function readHeadAndScan(
  path: string,
  signal: AbortSignal | undefined,
): Promise<{ head: Buffer; reference: { what: string; offset: number } | undefined }> {
  const overlap = Math.max(...REFERENCE_MARKERS.map((marker) => marker.bytes.length)) - 1;
  const buffer = Buffer.alloc(overlap + SCAN_CHUNK_BYTES);
  const handle = await open(path, 'r');
  try {
    let head: Buffer | undefined;
    let carried = 0;
    let position = 0;
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await handle.read(buffer, carried, SCAN_CHUNK_BYTES, position);
      if (head === undefined) head = Buffer.from(buffer.subarray(0, Math.min(bytesRead, HEAD_BYTES)));
      if (bytesRead === 0 || position >= SCAN_MAX_BYTES) return { head, reference: undefined };
      const window = buffer.subarray(0, carried + bytesRead);
      for (const marker of REFERENCE_MARKERS) {
        const at = window.indexOf(marker.bytes);
        if (at >= 0) return { head, reference: { what: marker.what, offset: position - carried + at } };
      }
      position += bytesRead;
      // Keep the tail so a marker split across two reads is still found.
      carried = Math.min(overlap, window.length);
      window.copyWithin(0, window.length - carried);
    }
  } finally {
    await handle.close();
  }
}

/**
 * For an ISO-BMFF file (MP4, MOV…) that ffprobe could not read: true when a top-level box runs past
 * the end of the file before any `moov` (the index) was found, that is, the file was cut short
 * before its index was written. Reads only box headers.
 */
export async function cutBeforeIndex(path: string, sizeBytes: number): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(16);
    for (let offset = 0; offset + 8 <= sizeBytes; ) {
      const { bytesRead } = await handle.read(header, 0, 16, offset);
      if (bytesRead < 8) return false;
      const type = header.toString('latin1', 4, 8);
      // Box types are four printable characters; anything else is not a box (zeros, garbage).
      if (!/^[\x20-\x7e\xa9]{4}$/.test(type)) return false;
      if (offset === 0 && type !== 'ftyp') return false;
      if (type === 'moov') return false;
      let size = header.readUInt32BE(0);
      if (size === 1 && bytesRead >= 16) size = Number(header.readBigUInt64BE(8));
      // Size 0: the box runs to the end of the file, as a box being written does.
      if (size === 0) return true;
      if (size < 8) return false;
      if (offset + size > sizeBytes) return true;
      offset += size;
    }
    return false;
  } finally {
    await handle.close();
  }
}
