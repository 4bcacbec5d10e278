import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { RecordStore } from '../../core/ports.ts';
import { defineScope, openScope, type RecordScope } from '../../core/records.ts';

/** A clip someone sent, kept so buttons can refer to it by a short id. */
const ClipRecordSchema = z.object({
  clip: z.object({
    kind: z.enum(['video', 'animation', 'video_note', 'document']),
    fileId: z.string(),
    fileUniqueId: z.string(),
    fileSizeBytes: z.number().optional(),
    fileName: z.string().optional(),
    mimeType: z.string().optional(),
  }),
  chatId: z.number(),
  messageId: z.number(),
  threadId: z.number().nullable(),
  /** Who asked for it: only they may pick its first style. */
  ownerId: z.number(),
});
/** A clip someone sent, as kept for its buttons. */
export type ClipRecord = z.infer<typeof ClipRecordSchema>;

/** Clips, for a week of "another style" buttons. */
const CLIPS = defineScope({ name: 'telegram.clip', schema: ClipRecordSchema, ttlMs: 7 * 24 * 3_600_000 });
/**
 * Pickers and rejections whose buttons already started a job (`<chat>:<message>`), with the request
 * that did: the same tap delivered again after a crash goes on, another tap does not.
 */
const CLAIMS = defineScope({ name: 'telegram.claim', schema: z.string(), ttlMs: 7 * 24 * 3_600_000 });

/** Claims remembered in memory; far more than can be tapped before their buttons are gone. */
const MAX_CLAIMS_HERE = 10_000;

/** The clips the Telegram bot's buttons refer to, and the pickers that already started a job. */
export class TelegramClips {
  private readonly clips: RecordScope<ClipRecord>;
  private readonly claims: RecordScope<string>;
  /** Claims made in this process, so two taps in one batch of updates cannot both pass. */
  private readonly claimedHere = new Map<string, string>();

  constructor(store: RecordStore) {
    this.clips = openScope(store, CLIPS);
    this.claims = openScope(store, CLAIMS);
  }

  /** Keeps a clip; resolves with its short id for callback data. */
  async save(record: ClipRecord): Promise<string> {
    const clipId = randomBytes(9).toString('base64url');
    await this.clips.set(clipId, record);
    return clipId;
  }

  /** The clip, or `undefined` once it expired. */
  get(clipId: string): Promise<ClipRecord | undefined> {
    return this.clips.get(clipId);
  }

  /** True for the request that claims a picker first in this process (two taps in one batch). */
  claimHere(key: string, requestId: string): boolean {
    const here = this.claimedHere.get(key);
    if (here !== undefined) return here === requestId;
    this.claimedHere.set(key, requestId);
    if (this.claimedHere.size > MAX_CLAIMS_HERE)
      this.claimedHere.delete(this.claimedHere.keys().next().value!);
    return true;
  }

  /** True unless another request claimed the picker before a restart; records the claim. */
  async claimStored(key: string, requestId: string): Promise<boolean> {
    const stored = await this.claims.get(key);
    if (stored !== undefined) return stored === requestId;
    await this.claims.set(key, requestId);
    return true;
  }
}
