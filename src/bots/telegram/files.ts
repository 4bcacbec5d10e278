import { copyFile, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Telegram } from 'telegraf';
import { TelegramError } from 'telegraf';
import { TooLargeError } from '../../adapters/http/download.ts';
import { isAbort } from '../../core/errors.ts';
import type { Downloader } from '../../core/ports.ts';
import type { ClipFetch } from '../shared/surface.ts';
import { describeApiError } from './api.ts';
import type { TelegramServerLimits } from './limits.ts';

/**
 * Fetches files people sent to the bot. The download URL contains the bot token: it is built here,
 * used once, and never returned, logged or put in an outcome. What getFile shows about the server
 * (an absolute path from a `--local` server, "file is too big" from the cloud) updates `limits`.
 */
export class TelegramFileFetcher {
  constructor(
    private readonly telegram: Telegram,
    private readonly downloader: Downloader,
    private readonly limits: TelegramServerLimits,
  ) {}

  /**
   * Writes the file to `destPath`, at most `maxBytes`. `claimedBytes` is the size the update gave:
   * a file over the server's download limit is refused without asking when the limit is known.
   */
  async fetch(
    fileId: string,
    destPath: string,
    options: { maxBytes: number; claimedBytes?: number | undefined; signal?: AbortSignal },
  ): Promise<ClipFetch> {
    const { claimedBytes } = options;
    const platformTooBig = (sizeBytes: number | undefined): ClipFetch => ({
      kind: 'too-big',
      sizeBytes,
      platformMaxBytes: this.limits.maxDownloadBytes,
    });
    if (claimedBytes !== undefined && !this.limits.worthAsking(claimedBytes))
      return platformTooBig(claimedBytes);
    let file: Awaited<ReturnType<Telegram['getFile']>>;
    try {
      file = await this.telegram.getFile(fileId);
    } catch (error) {
      if (isAbort(error)) throw error;
      if (error instanceof TelegramError && /file is too big/i.test(error.description)) {
        this.limits.sawTooBig();
        return platformTooBig(claimedBytes);
      }
      return { kind: 'unavailable', reason: `getFile failed: ${describeApiError(error)}` };
    }
    const { file_path: filePath, file_size: fileSize } = file;
    // A self-hosted Bot API server in --local mode answers with a path on its own disk.
    if (filePath && isAbsolute(filePath)) this.limits.sawLocalPath();
    if (fileSize !== undefined && fileSize > this.limits.maxDownloadBytes) return platformTooBig(fileSize);
    if (fileSize !== undefined && fileSize > options.maxBytes)
      return { kind: 'too-big', sizeBytes: fileSize };
    if (!filePath) return { kind: 'unavailable', reason: 'Telegram gave no path for the file' };
    if (isAbsolute(filePath)) return this.copyLocal(filePath, destPath, options.maxBytes);
    const url = (await this.telegram.getFileLink(file).catch(() => undefined))?.href;
    if (!url) return { kind: 'unavailable', reason: 'could not build the file link' };
    try {
      const { bytes } = await this.downloader.download(url, destPath, options);
      return { kind: 'fetched', bytes };
    } catch (error) {
      if (isAbort(error)) throw error;
      if (error instanceof TooLargeError) return { kind: 'too-big', sizeBytes: error.sizeBytes };
      // Downloader messages name the host and path with the token masked; keep only the gist.
      const code = error instanceof Error && 'code' in error ? ` (${String(error.code)})` : '';
      return { kind: 'unavailable', reason: `the download failed${code}` };
    }
  }

  private async copyLocal(source: string, destPath: string, maxBytes: number): Promise<ClipFetch> {
    const info = await stat(source).catch(() => undefined);
    if (!info) {
      return { kind: 'unavailable', reason: 'the Bot API server named a file this machine cannot read' };
    }
    if (info.size > maxBytes) return { kind: 'too-big', sizeBytes: info.size };
    await copyFile(source, destPath);
    return { kind: 'fetched', bytes: info.size };
  }
}
