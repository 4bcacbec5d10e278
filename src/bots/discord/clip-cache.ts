import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { TooLargeError } from '../../adapters/http/download.ts';
import { isAbort } from '../../core/errors.ts';
import type { Downloader, JobStore, Logger } from '../../core/ports.ts';
import { defineScope, openScope, type RecordScope } from '../../core/records.ts';
import { videoExtension } from '../shared/clip-files.ts';
import type { ClipFetch } from '../shared/surface.ts';
import type { DiscordClip } from './decode.ts';

/** Clips are kept a day for "another style" and "adjust and restyle". */
export const CLIP_TTL_MS = 24 * 3_600_000;
/** Clips bigger than this are not fetched at all (fitting could not bring them under 100 MB well). */
export const MAX_FETCH_BYTES = 400_000_000;

const KeptClipSchema = z.object({ path: z.string(), filename: z.string(), ownerId: z.string() });
/** A clip kept on disk, by id. */
export type KeptClip = z.infer<typeof KeptClipSchema>;
const CLIPS = defineScope({ name: 'discord.clip', schema: KeptClipSchema, ttlMs: CLIP_TTL_MS });

/** How a clip download ended. */
export type CacheFetch = Exclude<ClipFetch, { kind: 'lost' }>;

/**
 * Clips downloaded from Discord, kept on disk for a day under a short id. Signed CDN URLs expire
 * and are never stored: a clip is downloaded once, while its URL is fresh, and used from here.
 */
export class ClipCache {
  private readonly clips: RecordScope<KeptClip>;
  /** Downloads under way, by clip id. */
  private readonly downloads = new Map<string, Promise<CacheFetch>>();

  constructor(
    private readonly options: {
      readonly dir: string;
      readonly store: JobStore;
      readonly downloader: Downloader;
      readonly logger: Logger;
    },
  ) {
    this.clips = openScope(options.store, CLIPS);
  }

  /** A new clip id. */
  static newId(): string {
    return randomBytes(9).toString('base64url');
  }

  /** Creates the folder and removes clips older than a day, and downloads a crash cut short. */
  async open(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    const names = await readdir(this.options.dir).catch(() => [] as string[]);
    const now = Date.now();
    for (const name of names) {
      const path = join(this.options.dir, name);
      const info = await stat(path).catch(() => undefined);
      // Nothing downloads before open: a partial file is what a crash left.
      if (name.endsWith('.part') || (info && now - info.mtimeMs > CLIP_TTL_MS))
        await rm(path, { force: true });
    }
  }

  /** Downloads an attachment as clip `clipId` (once: a second call waits for the first). */
  download(clipId: string, clip: DiscordClip, ownerId: string, signal: AbortSignal): Promise<CacheFetch> {
    const running = this.downloads.get(clipId);
    if (running) return running;
    const promise = this.fetch(clipId, clip, ownerId, signal).finally(() => this.downloads.delete(clipId));
    this.downloads.set(clipId, promise);
    return promise;
  }

  /** The kept clip when its file is there; waits for a download under way. */
  async get(clipId: string): Promise<KeptClip | undefined> {
    const running = this.downloads.get(clipId);
    if (running) await running.catch(() => undefined);
    const kept = await this.clips.get(clipId);
    if (!kept) return undefined;
    const exists = await stat(kept.path).then(
      () => true,
      () => false,
    );
    return exists ? kept : undefined;
  }

  /** True when the clip is kept, or on its way (a download under way); does not wait. */
  async available(clipId: string): Promise<boolean> {
    if (this.downloads.has(clipId)) return true;
    return (await this.get(clipId)) !== undefined;
  }

  /** Gives a job its own copy of a kept clip: a hard link costs nothing, a copy when links are not possible. */
  async copyTo(kept: KeptClip, destPath: string): Promise<void> {
    await rm(destPath, { force: true });
    await link(kept.path, destPath).catch(() => copyFile(kept.path, destPath));
  }

  private async fetch(
    clipId: string,
    clip: DiscordClip,
    ownerId: string,
    signal: AbortSignal,
  ): Promise<CacheFetch> {
    if (clip.sizeBytes > MAX_FETCH_BYTES) {
      return { kind: 'too-big', sizeBytes: clip.sizeBytes, platformMaxBytes: MAX_FETCH_BYTES };
    }
    const path = join(this.options.dir, `${clipId}${videoExtension(clip.filename) ?? '.mp4'}`);
    try {
      const { bytes } = await this.options.downloader.download(clip.url, path, {
        maxBytes: MAX_FETCH_BYTES,
        signal,
      });
      await this.clips.set(clipId, { path, filename: clip.filename, ownerId });
      return { kind: 'fetched', bytes };
    } catch (error) {
      await rm(path, { force: true });
      if (isAbort(error)) throw error;
      if (error instanceof TooLargeError) {
        return { kind: 'too-big', sizeBytes: error.sizeBytes, platformMaxBytes: MAX_FETCH_BYTES };
      }
      // The URL is signed: only the gist of the error is kept.
      const reason = error instanceof Error && 'code' in error ? String(error.code) : 'download failed';
      this.options.logger.warn('could not download a discord attachment', { clipId, reason });
      return { kind: 'unavailable', reason };
    }
  }
}
