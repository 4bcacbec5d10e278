import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { MalformedMultipartError, multipartBoundary, parseMultipart } from '../dashscope/multipart.ts';
import { readBody } from '../read-body.ts';
import { FormErrors, invalidJson, tooLarge } from './errors.ts';

/** A file part of a request, kept on disk where tests can read it. */
export interface UploadedFile {
  /** The multipart field name, e.g. `files[0]`. */
  readonly field: string;
  /** The `n` of `files[n]` (the placeholder id `attachments[].id` refers to), or the part's position. */
  readonly index: number;
  /** The file name as sent (Content-Disposition `filename`). */
  readonly filename: string;
  readonly contentType?: string;
  readonly size: number;
  readonly path: string;
}

/** How a request body arrived. */
export type BodyKind = 'none' | 'json' | 'urlencoded' | 'multipart';

export interface RequestBody {
  readonly kind: BodyKind;
  /** The JSON params: the JSON body, `payload_json`, or the form fields. */
  readonly json: unknown;
  readonly files: UploadedFile[];
  /** Bytes of the whole body. */
  readonly bytes: number;
}

export interface BodyLimits {
  readonly uploadDir: string;
  /** Largest single file part. */
  readonly maxFileBytes: number;
  /** Largest whole body. */
  readonly maxRequestBytes: number;
}

const FILES_FIELD = /^files\[(\d+)\]$/;

/** Counts the bytes flowing through an iterator. */
async function* counted(
  source: AsyncIterable<Buffer | string>,
  tally: { bytes: number },
): AsyncGenerator<Buffer | string> {
  for await (const chunk of source) {
    tally.bytes += chunk.length;
    yield chunk;
  }
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req.iterator({ destroyOnReturn: false })) {
    // discard
  }
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidJson();
  }
}

/**
 * Reads a REST body the way Discord does: `application/json`, `application/x-www-form-urlencoded`
 * or `multipart/form-data` (JSON params in `payload_json`, or as plain fields; file parts streamed to
 * disk). Answers 413/40005 when a file or the whole body is over its limit (after draining it).
 */
export async function readRequestBody(req: IncomingMessage, limits: BodyLimits): Promise<RequestBody> {
  const contentType = req.headers['content-type'] ?? '';
  const boundary = multipartBoundary(contentType);
  if (boundary) return readMultipart(req, boundary, limits);
  const body = await readBody(req, limits.maxRequestBytes);
  if (body === undefined) throw tooLarge();
  if (body.length === 0) return { kind: 'none', json: undefined, files: [], bytes: 0 };
  if (/^application\/json/i.test(contentType)) {
    return { kind: 'json', json: parseJsonText(body.toString('utf8')), files: [], bytes: body.length };
  }
  if (/^application\/x-www-form-urlencoded/i.test(contentType)) {
    const json = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
    return { kind: 'urlencoded', json, files: [], bytes: body.length };
  }
  const errors = new FormErrors();
  errors.add([], 'CONTENT_TYPE_INVALID', `Expected "Content-Type" header to be one of {'application/json'}.`);
  errors.throwIfAny();
  throw new Error('unreachable');
}

async function readMultipart(
  req: IncomingMessage,
  boundary: string,
  limits: BodyLimits,
): Promise<RequestBody> {
  const tally = { bytes: 0 };
  const fields: Record<string, string> = {};
  const files: UploadedFile[] = [];
  let overLimit = false;
  let current:
    | { field: string; filename: string; contentType?: string; path: string; size: number; out: WriteStream }
    | undefined;
  const cleanup = () => Promise.all(files.map((f) => rm(f.path, { force: true })));
  try {
    const source = counted(req.iterator({ destroyOnReturn: false }), tally);
    for await (const event of parseMultipart(source, boundary)) {
      if (tally.bytes > limits.maxRequestBytes) overLimit = true;
      if (event.kind === 'field') fields[event.name] = event.value;
      else if (event.kind === 'file-start') {
        const path = join(limits.uploadDir, randomUUID());
        current = {
          field: event.name,
          filename: basename(event.filename.replaceAll('\\', '/')),
          ...(event.contentType ? { contentType: event.contentType } : {}),
          path,
          size: 0,
          out: createWriteStream(path),
        };
      } else if (event.kind === 'file-data' && current) {
        current.size += event.chunk.length;
        if (current.size > limits.maxFileBytes) overLimit = true;
        if (overLimit) continue;
        if (!current.out.write(event.chunk)) await once(current.out, 'drain');
      } else if (event.kind === 'file-end' && current) {
        const { out, ...part } = current;
        current = undefined;
        out.end();
        await once(out, 'close');
        const match = FILES_FIELD.exec(part.field);
        files.push({ ...part, index: match ? Number(match[1]) : files.length });
      }
    }
  } catch (error) {
    current?.out.destroy();
    await cleanup();
    if (error instanceof MalformedMultipartError) {
      await drain(req).catch(() => undefined);
      const errors = new FormErrors();
      errors.add([], 'MULTIPART_INVALID', 'Invalid multipart/form-data body.');
      errors.throwIfAny();
    }
    throw error;
  }
  if (overLimit || tally.bytes > limits.maxRequestBytes) {
    await cleanup();
    throw tooLarge();
  }
  let json: unknown = {};
  if (fields.payload_json !== undefined) json = parseJsonText(fields.payload_json);
  else {
    // Without payload_json, plain fields are the params; JSON-looking values are read as JSON.
    const object: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
      object[key] = /^[[{]/.test(value.trim()) ? parseJsonText(value) : value;
    }
    json = object;
  }
  return { kind: 'multipart', json, files, bytes: tally.bytes };
}

/** Deletes the stored parts of files nobody kept. */
export async function discardFiles(files: readonly UploadedFile[], keep: ReadonlySet<string>): Promise<void> {
  await Promise.all(files.filter((f) => !keep.has(f.path)).map((f) => rm(f.path, { force: true })));
}
