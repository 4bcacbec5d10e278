import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { MalformedMultipartError, multipartBoundary, parseMultipart } from '../dashscope/multipart.ts';
import { readBody } from '../read-body.ts';
import type { ResponseParameters } from './types.ts';

/** A failed call, carrying what the API answers. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: ResponseParameters,
  ) {
    super(description);
  }
}

/** A successful result with the `description` some methods add (setWebhook, deleteWebhook). */
export class Described {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}

/**
 * A 400 worded as the server words it: it lower-cases the first letter after "Bad Request: "
 * unless the message is an error code such as BUTTON_DATA_INVALID.
 */
export function bad(message: string): ApiError {
  const keep = message.length >= 2 && (message[1] === '_' || /[A-Z]/.test(message[1]!));
  return new ApiError(400, `Bad Request: ${keep ? message : message[0]!.toLowerCase() + message.slice(1)}`);
}

/** A 429 with the retry_after the client must honour. */
export function tooMany(retryAfterSec: number): ApiError {
  return new ApiError(429, `Too Many Requests: retry after ${retryAfterSec}`, { retry_after: retryAfterSec });
}

/** A 409 with the given description. */
export function conflict(description: string): ApiError {
  return new ApiError(409, description);
}

/** Turns a JSON body's top-level value into the string the server reads, as its HTTP reader does. */
export function argString(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The server's integer reading (td::to_integer): a leading sign and digits; anything else is 0. */
export function toInteger(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number.parseInt(m[1]!, 10) : 0;
}

/** The server's boolean reading: "true", "yes" or "1", in any case. */
export function toBool(text: string | undefined): boolean {
  return text !== undefined && ['true', 'yes', '1'].includes(text.trim().toLowerCase());
}

/** Reads a request body to its end and drops it. */
export async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req.iterator({ destroyOnReturn: false })) {
    // discard
  }
}

/** A file part of a request, stored where tests can read it. */
export interface FakeUploadPart {
  /** The multipart field name (or the parameter, for files fetched from an HTTP URL). */
  readonly field: string;
  readonly fileName: string;
  readonly contentType?: string;
  readonly path: string;
  readonly sizeBytes: number;
}

/** A stored file part and its first bytes, which tell its container. */
export interface ReceivedFile extends FakeUploadPart {
  readonly head: Buffer;
}

/** How a call reached the fake. */
export type FakeTransport = 'query' | 'json' | 'urlencoded' | 'multipart' | 'webhook-reply';

/** A request's parameters: as sent, as the server reads them (strings), and its file parts by name. */
export interface ParsedRequest {
  readonly params: Record<string, unknown>;
  readonly args: Record<string, string>;
  readonly files: Map<string, ReceivedFile>;
  readonly transport: FakeTransport;
}

const MAX_FORM_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Reads a request's parameters the way the Bot API's HTTP reader does (query string, JSON,
 * urlencoded or multipart; parts with a filename are files, streamed to `uploadDir`), or the error
 * to answer: 413 once the files exceed `maxUploadBytes`.
 */
export async function readRequest(
  req: IncomingMessage,
  url: URL,
  limits: { readonly uploadDir: string; readonly maxUploadBytes: number },
): Promise<ParsedRequest | { readonly error: ApiError }> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const args: Record<string, string> = Object.fromEntries(url.searchParams);
  const files = new Map<string, ReceivedFile>();
  const contentType = req.headers['content-type'] ?? '';
  const boundary = multipartBoundary(contentType);
  if (boundary) {
    let total = 0;
    let tooLarge = false;
    let current: { part: FakeUploadPart; out: WriteStream; heads: Buffer[] } | undefined;
    try {
      for await (const event of parseMultipart(req.iterator({ destroyOnReturn: false }), boundary)) {
        if (event.kind === 'field') {
          params[event.name] = event.value;
          args[event.name] = event.value;
        } else if (event.kind === 'file-start') {
          const path = join(limits.uploadDir, randomUUID());
          current = {
            part: {
              field: event.name,
              fileName: event.filename,
              ...(event.contentType !== undefined ? { contentType: event.contentType } : {}),
              path,
              sizeBytes: 0,
            },
            out: createWriteStream(path),
            heads: [],
          };
        } else if (event.kind === 'file-data' && current) {
          total += event.chunk.length;
          current.part = { ...current.part, sizeBytes: current.part.sizeBytes + event.chunk.length };
          if (total > limits.maxUploadBytes) tooLarge = true;
          if (tooLarge) continue;
          if (current.heads.length < 4) current.heads.push(event.chunk);
          if (!current.out.write(event.chunk)) await once(current.out, 'drain');
        } else if (event.kind === 'file-end' && current) {
          const { part, out, heads } = current;
          current = undefined;
          out.end();
          await once(out, 'close');
          files.set(part.field, { ...part, head: Buffer.concat(heads).subarray(0, 64) });
        }
      }
    } catch (error) {
      current?.out.destroy();
      if (error instanceof MalformedMultipartError) {
        await drain(req).catch(() => undefined);
        return { error: bad("can't parse multipart/form-data request") };
      }
      throw error;
    }
    if (tooLarge) {
      await Promise.all([...files.values()].map((f) => rm(f.path, { force: true })));
      return { error: new ApiError(413, 'Request Entity Too Large') };
    }
    return { params, args, files, transport: 'multipart' };
  }
  const body = await readBody(req, MAX_FORM_BODY_BYTES);
  if (body === undefined) return { error: new ApiError(413, 'Request Entity Too Large') };
  if (body.length === 0) return { params, args, files, transport: 'query' };
  if (/^application\/json/i.test(contentType)) {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      return { error: bad("can't parse JSON encoded request") };
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, v] of Object.entries(value)) {
        const text = argString(v);
        if (text === undefined) continue;
        params[key] = v;
        args[key] = text;
      }
    }
    return { params, args, files, transport: 'json' };
  }
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) {
    params[key] = value;
    args[key] = value;
  }
  return { params, args, files, transport: 'urlencoded' };
}
