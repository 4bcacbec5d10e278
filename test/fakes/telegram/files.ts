import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';

/** How a file is shown in a message; it decides the file_id prefix and the folder of its file_path. */
export type FileKind = 'video' | 'animation' | 'video_note' | 'document';

/** A file the fake holds: what the Bot API says about it, and where its bytes are on this machine. */
export interface FakeFile {
  readonly file_id: string;
  readonly file_unique_id: string;
  readonly file_size: number;
  /** Relative path for `GET /file/bot<token>/<file_path>`. */
  readonly file_path: string;
  /** Local path of the bytes (the added file itself, or the fake's copy of an upload). */
  readonly path: string;
  readonly kind: FileKind;
  readonly mime_type?: string;
  readonly file_name?: string;
  /** Metadata "as defined by sender", used when the file appears in a message. */
  readonly width?: number;
  readonly height?: number;
  readonly duration?: number;
}

// Real file_ids start with a type tag in base64 (BAAC… for videos, BQAC… for documents, …).
const FILE_ID_PREFIX: Readonly<Record<FileKind, string>> = {
  video: 'BAACAgIAAxkBAA',
  animation: 'CgACAgIAAxkBAA',
  video_note: 'DQACAgIAAxkBAA',
  document: 'BQACAgIAAxkBAA',
};

const FOLDER: Readonly<Record<FileKind, string>> = {
  video: 'videos',
  animation: 'animations',
  video_note: 'video_notes',
  document: 'documents',
};

/** A new file_id and file_unique_id pair of the given kind. */
export function newFileIds(kind: FileKind): { file_id: string; file_unique_id: string } {
  return {
    file_id: `${FILE_ID_PREFIX[kind]}${randomBytes(42).toString('base64url')}`,
    file_unique_id: `AgAD${randomBytes(9).toString('base64url')}`,
  };
}

/** The file_path the server would give the n-th file of a kind. */
export function filePathFor(kind: FileKind, n: number, extension: string): string {
  return `${FOLDER[kind]}/file_${n}${extension}`;
}

const EXTENSION_MIME: Readonly<Record<string, string>> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.avi': 'video/x-msvideo',
  '.ts': 'video/mp2t',
  '.mpg': 'video/mpeg',
  '.mpeg': 'video/mpeg',
  '.flv': 'video/x-flv',
  '.gif': 'image/gif',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.txt': 'text/plain',
};

const MIME_EXTENSION: Readonly<Record<string, string>> = {
  'video/mp4': '.mp4',
  'video/quicktime': '.mov',
  'video/webm': '.webm',
  'video/x-matroska': '.mkv',
  'video/x-msvideo': '.avi',
  'video/mp2t': '.ts',
  'video/mpeg': '.mpg',
  'image/gif': '.gif',
};

/** The extension a file_path gets: the file name's, else one matching the MIME type. */
export function extensionFor(fileName: string | undefined, mimeType: string | undefined): string {
  const fromName = fileName ? extname(fileName).toLowerCase() : '';
  if (/^\.[a-z0-9]{1,8}$/.test(fromName)) return fromName;
  return (mimeType && MIME_EXTENSION[mimeType]) ?? '';
}

/** Reads the first bytes of a file, enough to recognise its container. */
export async function readHead(path: string, bytes = 64): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Recognises a container from its first bytes (the server looks at content, not at names), falling
 * back to the file name's extension; undefined when neither says anything.
 */
export function sniffMime(head: Buffer, fileName?: string): string | undefined {
  if (head.length >= 12 && head.toString('latin1', 4, 8) === 'ftyp') {
    return head.toString('latin1', 8, 12) === 'qt  ' ? 'video/quicktime' : 'video/mp4';
  }
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) {
    return head.includes('webm', 0, 'latin1') ? 'video/webm' : 'video/x-matroska';
  }
  if (head.toString('latin1', 0, 4) === 'GIF8') return 'image/gif';
  if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'AVI ')
    return 'video/x-msvideo';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x000001ba) return 'video/mpeg';
  if (head[0] === 0x47 && (head.length < 189 || head[188] === 0x47) && fileName?.endsWith('.ts'))
    return 'video/mp2t';
  const fromName = fileName ? EXTENSION_MIME[extname(fileName).toLowerCase()] : undefined;
  return fromName;
}

/** Whether the server would show a file of this MIME type as a playable video. */
export function isMp4Like(mimeType: string | undefined): boolean {
  return mimeType === 'video/mp4' || mimeType === 'video/quicktime';
}

/** What the server reads from an MP4/MOV header: display size of the first video track and duration. */
export interface Mp4Facts {
  readonly width: number;
  readonly height: number;
  readonly durationSec: number;
}

const MAX_MOOV_BYTES = 16 * 1024 * 1024;

/** Reads width, height and duration from an ISO-BMFF file's `moov` box; undefined when there is none. */
export async function probeMp4(path: string): Promise<Mp4Facts | undefined> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(16);
    let offset = 0;
    while (offset + 8 <= size) {
      const { bytesRead } = await handle.read(header, 0, 16, offset);
      if (bytesRead < 8) return undefined;
      let boxSize = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      let headerBytes = 8;
      if (boxSize === 1 && bytesRead >= 16) {
        boxSize = Number(header.readBigUInt64BE(8));
        headerBytes = 16;
      } else if (boxSize === 0) boxSize = size - offset;
      if (boxSize < headerBytes) return undefined;
      if (type === 'moov') {
        if (boxSize > MAX_MOOV_BYTES) return undefined;
        const moov = Buffer.alloc(boxSize - headerBytes);
        await handle.read(moov, 0, moov.length, offset + headerBytes);
        return readMoov(moov);
      }
      offset += boxSize;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

function* boxes(buffer: Buffer): Generator<{ type: string; body: Buffer }> {
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    if (size < 8 || offset + size > buffer.length) return;
    yield { type, body: buffer.subarray(offset + 8, offset + size) };
    offset += size;
  }
}

function readMoov(moov: Buffer): Mp4Facts | undefined {
  let timescale = 0;
  let duration = 0;
  let fragmentDuration = 0;
  let width = 0;
  let height = 0;
  for (const box of boxes(moov)) {
    if (box.type === 'mvhd') {
      const version = box.body[0];
      timescale = version === 1 ? box.body.readUInt32BE(20) : box.body.readUInt32BE(12);
      duration = version === 1 ? Number(box.body.readBigUInt64BE(24)) : box.body.readUInt32BE(16);
    } else if (box.type === 'mvex') {
      // Fragmented files leave mvhd's duration at 0 and put the total in mvex/mehd.
      for (const inner of boxes(box.body)) {
        if (inner.type !== 'mehd') continue;
        fragmentDuration =
          inner.body[0] === 1 ? Number(inner.body.readBigUInt64BE(4)) : inner.body.readUInt32BE(4);
      }
    } else if (box.type === 'trak' && width === 0) {
      for (const inner of boxes(box.body)) {
        if (inner.type !== 'tkhd') continue;
        // Width and height are the last two 16.16 fixed-point fields of tkhd.
        const end = inner.body.length;
        const w = inner.body.readUInt32BE(end - 8) / 65_536;
        const h = inner.body.readUInt32BE(end - 4) / 65_536;
        if (w > 0 && h > 0) {
          width = Math.round(w);
          height = Math.round(h);
        }
      }
    }
  }
  const durationSec = timescale > 0 ? (duration || fragmentDuration) / timescale : 0;
  if (width === 0 && durationSec === 0) return undefined;
  return { width, height, durationSec };
}
