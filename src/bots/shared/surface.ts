import { z } from 'zod';
import type { Delivery, RestyleJob } from '../../core/job.ts';
import type { LimitViolation } from '../../core/limits.ts';
import type { JobEvent } from '../../core/queue/service.ts';
import { defineScope } from '../../core/records.ts';

/** JSON a platform keeps about a request: where its messages are, how to fetch its clip. Never a secret. */
const PlatformFields = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

/**
 * One chat request from its acknowledgement until it is a job (or ends with a message): written
 * before the requester is told anything, so a crash at any point after leaves it to be finished.
 */
export const IntakeRecordSchema = z.object({
  id: z.string().min(1),
  platform: z.string().min(1),
  requester: z.object({
    key: z.string().min(1),
    name: z.string().optional(),
    operator: z.boolean().optional(),
  }),
  locale: z.enum(['en', 'zh']),
  styleId: z.number().int(),
  fps: z.number().int(),
  fit: z.boolean(),
  /** What the platform needs to fetch the clip again (a Telegram file id, a kept clip's id…). */
  clip: PlatformFields,
  /** Where the platform answers: the status message once it exists, the message replied to… */
  address: PlatformFields,
  /** Where the clip is downloaded to; removed whenever the request ends without a job. */
  inputPath: z.string().min(1),
  /** True once the download completed. */
  downloaded: z.boolean(),
  createdAtMs: z.number(),
});

/** One chat request being taken in; see {@link IntakeRecordSchema}. */
export type IntakeRecord = z.infer<typeof IntakeRecordSchema>;

/** Requests between acknowledgement and queueing; a day is far longer than any intake takes. */
export const INTAKE_SCOPE = defineScope({
  name: 'chat.intake',
  schema: IntakeRecordSchema,
  ttlMs: 24 * 3_600_000,
});

/**
 * Requests already taken in (queued, or ended with a message), by id, for a day: a request with a
 * stable id — a Discord picker picked again after a crash hid the first answer — is then known
 * as a duplicate even after its record is gone.
 */
export const INTAKE_TAKEN_SCOPE = defineScope({
  name: 'chat.intake.taken',
  schema: z.object({ atMs: z.number() }),
  ttlMs: 24 * 3_600_000,
});

/** What the intake tells a requester about their request; each platform renders it in its own way. */
export type IntakeNotice =
  /** The acknowledgement: the clip is being fetched and checked. */
  | { readonly kind: 'checking' }
  | { readonly kind: 'quota-used'; readonly perDay: number; readonly resetInMs: number }
  /** The requester already has this clip in this style on its way: its own status follows it. */
  | { readonly kind: 'duplicate' }
  | {
      readonly kind: 'refused';
      readonly reason: 'user-cap' | 'queue-full' | 'stopped';
      readonly limit: number;
    }
  /** The clip breaks limits; `fixable` offers "adjust and restyle". */
  | { readonly kind: 'rejected'; readonly violations: readonly LimitViolation[]; readonly fixable: boolean }
  /** The platform will not hand the bot a file this big. */
  | { readonly kind: 'download-too-large'; readonly sizeBytes: number | undefined; readonly maxBytes: number }
  | { readonly kind: 'download-failed' }
  /** A restart cut the request short and the clip cannot be fetched again. */
  | { readonly kind: 'interrupted' }
  | { readonly kind: 'internal-error' };

/** How fetching a clip ended. */
export type ClipFetch =
  | { readonly kind: 'fetched'; readonly bytes: number }
  /** Bigger than asked for (`maxBytes`), or than the platform lets bots download (`platformMaxBytes`). */
  | { readonly kind: 'too-big'; readonly sizeBytes: number | undefined; readonly platformMaxBytes?: number }
  | { readonly kind: 'unavailable'; readonly reason: string }
  /** The clip's source is gone with a restart (e.g. a signed URL kept in memory only). */
  | { readonly kind: 'lost' };

/**
 * What the shared intake needs from a chat platform: show notices, fetch the clip, name the
 * delivery, and follow a queued job. A new platform implements this and routes into the intake.
 */
export interface ChatSurface {
  readonly platform: string;
  /**
   * Shows a notice where the requester sees it (the status message, or privately); resolves with
   * the request's address, updated when a message was created (e.g. the status message's id).
   */
  notify(request: IntakeRecord, notice: IntakeNotice): Promise<IntakeRecord['address']>;
  /** Writes the clip to `destPath`, at most `maxBytes`; aborts with the signal. */
  fetchClip(
    request: IntakeRecord,
    destPath: string,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<ClipFetch>;
  /** Where the job's result goes; the intake adds `intakeId` to it. */
  deliveryOf(request: IntakeRecord): Delivery;
  /** Starts following a queued (or cached) job in its status message, replaying what it missed. */
  follow(request: IntakeRecord, job: RestyleJob, missed: readonly JobEvent[]): void;
  /** Passes a job event to the job's status message once it is followed. */
  handle(jobId: string, event: JobEvent): void;
}
