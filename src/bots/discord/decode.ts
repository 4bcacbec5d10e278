import { mayHoldClip } from '../shared/clip-files.ts';
/** A video attached to a Discord message or command, as Discord describes it (hints only). */
export interface DiscordClip {
  readonly attachmentId: string;
  readonly filename: string;
  /** Signed CDN URL: it expires, and it is never stored or logged. */
  readonly url: string;
  readonly sizeBytes: number;
  readonly contentType: string | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly durationSec: number | undefined;
}

/** The fields of a Discord attachment this bot reads (API or discord.js shape). */
export interface AttachmentLike {
  readonly id: string;
  readonly name?: string | null;
  readonly filename?: string;
  readonly url: string;
  readonly size: number;
  readonly contentType?: string | null;
  readonly content_type?: string;
  readonly width?: number | null;
  readonly height?: number | null;
  readonly duration?: number | null;
  readonly duration_secs?: number;
}

/**
 * The attachment as a clip when it may hold one (a video, or a GIF or WebP that may be animated, by
 * content type or file name); `undefined` for other images, audio, documents. The file is probed after download: this is only a first filter.
 */
export function clipFromAttachment(attachment: AttachmentLike | null | undefined): DiscordClip | undefined {
  if (!attachment) return undefined;
  const filename = attachment.filename ?? attachment.name ?? 'video';
  const contentType = attachment.content_type ?? attachment.contentType ?? undefined;
  if (!mayHoldClip(filename, contentType)) return undefined;
  return {
    attachmentId: attachment.id,
    filename,
    url: attachment.url,
    sizeBytes: attachment.size,
    contentType,
    width: attachment.width ?? undefined,
    height: attachment.height ?? undefined,
    durationSec: attachment.duration_secs ?? attachment.duration ?? undefined,
  };
}

/** The first video among a message's attachments. */
export function clipFromAttachments(attachments: Iterable<AttachmentLike>): DiscordClip | undefined {
  for (const attachment of attachments) {
    const clip = clipFromAttachment(attachment);
    if (clip) return clip;
  }
  return undefined;
}
