import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, type Dispatcher, interceptors, request } from 'undici';
import { RemoteError } from '../../core/errors.ts';
import type { Downloader, TransferProgress } from '../../core/ports.ts';
import { withRetry } from '../../core/retry.ts';

/** A download refused because the body is larger than allowed. */
export class TooLargeError extends RemoteError {
  override readonly name = 'TooLargeError';
  /** Bytes announced by Content-Length, or the count at which the transfer stopped. */
  readonly sizeBytes: number;
  readonly maxBytes: number;

  constructor(sizeBytes: number, maxBytes: number, known: boolean) {
    super({
      kind: 'result',
      code: 'TooLarge',
      message: `The file is ${known ? '' : 'over '}${sizeBytes} bytes, more than the ${maxBytes} allowed`,
    });
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

/** Options of the HTTP downloader. */
export interface HttpDownloaderOptions {
  readonly dispatcher?: Dispatcher;
  /** Time allowed for headers, and between two body chunks. */
  readonly idleTimeoutMs?: number;
  readonly maxAttempts?: number;
}

let sharedDispatcher: Dispatcher | undefined;
function defaultDispatcher(): Dispatcher {
  sharedDispatcher ??= new Agent({ keepAliveTimeout: 10_000 }).compose(
    interceptors.redirect({ maxRedirections: 5 }),
  );
  return sharedDispatcher;
}

/** Names a URL for messages without its query string (signed URLs carry credentials there). */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/bot[^/]+\//, '/bot***/')}`;
  } catch {
    return 'the URL';
  }
}

/** Drops a body we will not read, without an unhandled abort error. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Streams http(s) URLs to disk with a size cap; never holds the body in memory. */
export class HttpDownloader implements Downloader {
  constructor(private readonly options: HttpDownloaderOptions = {}) {}

  /** Resolves once `destPath` holds the whole body; a partial file never stays behind. */
  async download(
    url: string,
    destPath: string,
    options: { maxBytes: number; signal?: AbortSignal; onProgress?: (progress: TransferProgress) => void },
  ): Promise<{ bytes: number }> {
    const protocol = new URL(url).protocol;
    if (protocol !== 'https:' && protocol !== 'http:') {
      throw new RemoteError({
        kind: 'parameter',
        code: 'UnsupportedUrl',
        message: 'Only http and https URLs can be fetched',
      });
    }
    return withRetry(() => this.once(url, destPath, options), {
      isRetryable: (error) => error instanceof RemoteError && error.retryable,
      retry: { maxAttempts: this.options.maxAttempts ?? 3, baseDelayMs: 500, maxDelayMs: 4_000 },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  private async once(
    url: string,
    destPath: string,
    options: { maxBytes: number; signal?: AbortSignal; onProgress?: (progress: TransferProgress) => void },
  ): Promise<{ bytes: number }> {
    const idleTimeoutMs = this.options.idleTimeoutMs ?? 30_000;
    const partPath = `${destPath}.part`;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: 'GET',
        dispatcher: this.options.dispatcher ?? defaultDispatcher(),
        headersTimeout: idleTimeoutMs,
        bodyTimeout: idleTimeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new RemoteError({
        kind: 'network',
        code: (error as { code?: string }).code ?? 'NetworkError',
        message: `Could not download ${describeUrl(url)}: connection failed`,
        retryable: true,
        cause: error,
      });
    }
    if (response.statusCode !== 200) {
      discard(response.body);
      const retryable = response.statusCode >= 500 || response.statusCode === 429;
      throw new RemoteError({
        kind: retryable ? 'server' : 'result',
        code: `HTTP${response.statusCode}`,
        status: response.statusCode,
        message: `Could not download ${describeUrl(url)}: HTTP ${response.statusCode}`,
        retryable,
      });
    }
    const declared = Number(response.headers['content-length']);
    const totalBytes = Number.isFinite(declared) && declared >= 0 ? declared : undefined;
    if (totalBytes !== undefined && totalBytes > options.maxBytes) {
      discard(response.body);
      throw new TooLargeError(totalBytes, options.maxBytes, true);
    }
    let bytes = 0;
    let lastReportMs = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        if (bytes > options.maxBytes) {
          callback(new TooLargeError(bytes, options.maxBytes, false));
          return;
        }
        const nowMs = Date.now();
        if (options.onProgress && nowMs - lastReportMs >= 200) {
          lastReportMs = nowMs;
          options.onProgress({ bytes, totalBytes });
        }
        callback(null, chunk);
      },
    });
    try {
      await pipeline(response.body, counter, createWriteStream(partPath), {
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      await rm(partPath, { force: true });
      if (error instanceof TooLargeError || options.signal?.aborted) throw error;
      throw new RemoteError({
        kind: 'network',
        code: (error as { code?: string }).code ?? 'NetworkError',
        message: `Could not download ${describeUrl(url)}: the transfer broke off`,
        retryable: true,
        cause: error,
      });
    }
    if (totalBytes !== undefined && bytes !== totalBytes) {
      await rm(partPath, { force: true });
      throw new RemoteError({
        kind: 'network',
        code: 'IncompleteBody',
        message: `Could not download ${describeUrl(url)}: got ${bytes} of ${totalBytes} bytes`,
        retryable: true,
      });
    }
    await rename(partPath, destPath);
    options.onProgress?.({ bytes, totalBytes });
    return { bytes };
  }
}
