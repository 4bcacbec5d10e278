/** One event of a multipart/form-data body, in wire order. */
export type MultipartEvent =
  | { readonly kind: 'field'; readonly name: string; readonly value: string }
  | {
      readonly kind: 'file-start';
      readonly name: string;
      readonly filename: string;
      readonly contentType: string | undefined;
    }
  | { readonly kind: 'file-data'; readonly chunk: Buffer }
  | { readonly kind: 'file-end' };

/** Thrown when the body is not well-formed multipart/form-data. */
export class MalformedMultipartError extends Error {
  override readonly name = 'MalformedMultipartError';
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_FIELD_BYTES = 1024 * 1024;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** Reads the boundary from a `multipart/form-data; boundary=…` content type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  return boundary && boundary.length <= 70 ? boundary : undefined;
}

interface PartHeaders {
  readonly name: string;
  readonly filename: string | undefined;
  readonly contentType: string | undefined;
}

function parsePartHeaders(raw: string): PartHeaders {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of raw.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MalformedMultipartError(`bad part header line: ${line.slice(0, 80)}`);
    const headerName = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (headerName === 'content-disposition') disposition = value;
    else if (headerName === 'content-type') contentType = value;
  }
  if (!disposition || !/^form-data\b/i.test(disposition)) {
    throw new MalformedMultipartError('part without Content-Disposition: form-data');
  }
  const param = (key: string): string | undefined => {
    const match = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(disposition);
    if (match) return match[1]!.replace(/\\(.)/g, '$1');
    return new RegExp(`;\\s*${key}=([^;\\s]+)`, 'i').exec(disposition)?.[1];
  };
  const name = param('name');
  if (name === undefined) throw new MalformedMultipartError('part without a name');
  return { name, filename: param('filename'), contentType };
}

/**
 * Streams the events of a multipart/form-data body without buffering file contents: file bytes
 * come out as they arrive, so awaiting between events applies backpressure to the source.
 * Parts with a `filename` are files; the others are fields (capped at 1 MiB each). The source is
 * read to its end; pass `req.iterator({ destroyOnReturn: false })` so an error leaves it drainable.
 */
export async function* parseMultipart(
  source: AsyncIterable<Buffer | string>,
  boundary: string,
): AsyncGenerator<MultipartEvent> {
  // Matching "\r\n--boundary" everywhere works for the first boundary too once a CRLF is prepended.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let pending: Buffer = CRLF;
  let state: 'preamble' | 'after-boundary' | 'headers' | 'body' | 'done' = 'preamble';
  let part: PartHeaders | undefined;
  let fieldChunks: Buffer[] = [];
  let fieldBytes = 0;

  const emitBody = function* (bytes: Buffer): Generator<MultipartEvent> {
    if (bytes.length === 0 || !part) return;
    if (part.filename !== undefined) {
      yield { kind: 'file-data', chunk: bytes };
      return;
    }
    fieldBytes += bytes.length;
    if (fieldBytes > MAX_FIELD_BYTES) throw new MalformedMultipartError(`field ${part.name} is too long`);
    fieldChunks.push(bytes);
  };

  for await (const raw of source) {
    // The epilogue after the closing boundary is read and dropped, never left unread.
    if (state === 'done') continue;
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let progressed = true;
    while (progressed) {
      progressed = false;
      if (state === 'preamble') {
        const at = pending.indexOf(delimiter);
        if (at === -1) {
          pending = pending.subarray(Math.max(0, pending.length - delimiter.length + 1));
          break;
        }
        pending = pending.subarray(at + delimiter.length);
        state = 'after-boundary';
        progressed = true;
      } else if (state === 'after-boundary') {
        if (pending.length < 2) break;
        if (pending[0] === 0x2d && pending[1] === 0x2d) {
          state = 'done';
          break;
        }
        // RFC 2046 allows linear whitespace after the boundary before the CRLF.
        const lineEnd = pending.indexOf(CRLF);
        if (lineEnd === -1) {
          if (pending.length > 256) throw new MalformedMultipartError('garbage after boundary');
          break;
        }
        if (pending.subarray(0, lineEnd).toString('latin1').trim() !== '') {
          throw new MalformedMultipartError('garbage after boundary');
        }
        pending = pending.subarray(lineEnd + 2);
        state = 'headers';
        progressed = true;
      } else if (state === 'headers') {
        const at = pending.indexOf(HEADER_END);
        if (at === -1) {
          if (pending.length > MAX_HEADER_BYTES) throw new MalformedMultipartError('part headers too long');
          break;
        }
        part = parsePartHeaders(pending.subarray(0, at).toString('utf8'));
        pending = pending.subarray(at + HEADER_END.length);
        fieldChunks = [];
        fieldBytes = 0;
        if (part.filename !== undefined) {
          yield {
            kind: 'file-start',
            name: part.name,
            filename: part.filename,
            contentType: part.contentType,
          };
        }
        state = 'body';
        progressed = true;
      } else if (state === 'body') {
        const at = pending.indexOf(delimiter);
        if (at === -1) {
          // Keep a tail that could be the start of a delimiter split across chunks.
          const safe = pending.length - (delimiter.length - 1);
          if (safe > 0) {
            yield* emitBody(pending.subarray(0, safe));
            pending = pending.subarray(safe);
          }
          break;
        }
        yield* emitBody(pending.subarray(0, at));
        pending = pending.subarray(at + delimiter.length);
        if (part?.filename !== undefined) yield { kind: 'file-end' };
        else if (part) {
          yield { kind: 'field', name: part.name, value: Buffer.concat(fieldChunks).toString('utf8') };
        }
        part = undefined;
        state = 'after-boundary';
        progressed = true;
      }
    }
  }
  if (state !== 'done') throw new MalformedMultipartError('body ended before the closing boundary');
}
