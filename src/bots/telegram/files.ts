import { copyFile, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Telegram } from 'telegraf';
import { TelegramError } from 'telegraf';
import { TooLargeError } from '../../adapters/http/download.ts';
import { isAbort } from '../../core/errors.ts';
import type { Downloader } from '../../core/ports.ts';
import { describeApiError } from './api.ts';

/** Why a Telegram file could not be fetched. `message` never holds the token or the file URL. */
export class TelegramFileError extends Error {
  override readonly name = 'TelegramFileError';
  constructor(
    readonly reason: 'too-big' | 'unavailable',
    message: string,
    /** Bytes, when known. */
    readonly sizeBytes?: number,
  ) {
    super(message);
  }
}

/**
 * Fetches files people sent to the bot. The download URL contains the bot token: it is built here,
 * used once, and never returned, logged or put in an error.
 */
export class TelegramFileFetcher {
  constructor(
    private readonly telegram: Telegram,
    private readonly downloader: Downloader,
  ) {}

  /** Writes the file to `destPath`; rejects with a TelegramFileError, or an abort. */
  async fetch(
    fileId: string,
    destPath: string,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<{ bytes: number }> {
    let file: Awaited<ReturnType<Telegram['getFile']>>;
    try {
      file = await this.telegram.getFile(fileId);
    } catch (error) {
      if (error instanceof TelegramError && /file is too big/i.test(error.description)) {
        throw new TelegramFileError('too-big', 'Telegram refuses to hand out a file this big');
      }
      throw new TelegramFileError('unavailable', `getFile failed: ${describeApiError(error)}`);
    }
    const { file_path: filePath, file_size: fileSize } = file;
    if (fileSize !== undefined && fileSize > options.maxBytes) {
      throw new TelegramFileError('too-big', `the file has ${fileSize} bytes`, fileSize);
    }
    if (!filePath) throw new TelegramFileError('unavailable', 'Telegram gave no path for the file');
    // A self-hosted Bot API server in --local mode answers with a path on its own disk.
    if (isAbsolute(filePath)) return this.copyLocal(filePath, destPath, options.maxBytes);
    const url = (await this.telegram.getFileLink(file).catch(() => undefined))?.href;
    if (!url) throw new TelegramFileError('unavailable', 'could not build the file link');
    try {
      return await this.downloader.download(url, destPath, options);
    } catch (error) {
      if (isAbort(error)) throw error;
      if (error instanceof TooLargeError) {
        throw new TelegramFileError(
          'too-big',
          `the file has more than ${options.maxBytes} bytes`,
          error.sizeBytes,
        );
      }
      // Downloader messages name the host and path with the token masked; keep only the gist.
      throw new TelegramFileError(
        'unavailable',
        `the download failed${error instanceof Error && 'code' in error ? ` (${String(error.code)})` : ''}`,
      );
    }
  }

  private async copyLocal(source: string, destPath: string, maxBytes: number): Promise<{ bytes: number }> {
    const { size } = await stat(source).catch(() => {
      throw new TelegramFileError('unavailable', 'the Bot API server named a file this machine cannot read');
    });
    if (size > maxBytes) throw new TelegramFileError('too-big', `the file has ${size} bytes`, size);
    await copyFile(source, destPath);
    return { bytes: size };
  }
}
