import type { FitPlan } from './fit.ts';
import type { JobFailure, RestyleJob } from './job.ts';
import type { ProbeResult } from './limits.ts';
import type { HostedMedia } from './media.ts';

/** Time, injectable so tests can drive it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with an AbortedError when the signal fires. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Structured log fields; values are redacted by the logger before they are written. */
export type LogFields = Record<string, unknown>;

/** Where the software tells operators what happened. Implementations redact secrets. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Reads a local file into facts, without following references inside it. */
export interface VideoProbe {
  /** Resolves with facts or the reason there are none; rejects only on infrastructure failure. */
  probe(path: string, signal?: AbortSignal): Promise<ProbeResult>;
}

/** Transcodes a file so it complies with the limits. */
export interface Transcoder {
  /** Writes `outputPath` by applying `plan` to `inputPath`; resolves once the file is complete. */
  fit(inputPath: string, outputPath: string, plan: FitPlan, signal?: AbortSignal): Promise<void>;
}

/** Turns a local file into a URL the backend can read. */
export interface MediaHost {
  /**
   * True when hosted media can only be read with the key that hosted it (DashScope's temporary
   * upload): `host` then needs the lane, and another lane must host the file again.
   */
  readonly perLane: boolean;
  /**
   * Resolves once the file is reachable at the returned URL; `laneId` names the lane (key) that will
   * submit it, required when `perLane`; `jobId` the job it is for.
   */
  host(
    path: string,
    options?: { signal?: AbortSignal; laneId?: string; jobId?: string },
  ): Promise<HostedMedia>;
  /** Removes what was hosted for the job, once it has ended (hosts whose files expire need not). */
  release?(jobId: string): Promise<void>;
}

/** What the backend is asked to do. */
export interface RestyleRequest {
  readonly media: HostedMedia;
  /** The model's style id. */
  readonly styleId: number;
  readonly fps: number;
}

/** Task status, normalised to lower case. `unknown` means the task is gone or never existed. */
export type TaskStatus =
  | 'pending'
  | 'running'
  | 'suspended'
  | 'succeeded'
  | 'failed'
  | 'canceled'
  | 'unknown';

/** A task status as last seen. */
export interface TaskSnapshot {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly requestId: string | undefined;
  /** Present once `succeeded`. */
  readonly outputUrl?: string;
  /** Present once `failed`. */
  readonly failure?: { readonly code: string; readonly message: string };
  /** Seconds of video billed, once `succeeded`. */
  readonly billedSec?: number;
}

/** The restyling service (DashScope's video-style-transform). */
export interface RestyleBackend {
  /** Creates a remote task; resolves with its first snapshot. Never more than one submit per second. */
  submit(request: RestyleRequest, signal?: AbortSignal): Promise<TaskSnapshot>;
  /** Reads the task's current status. */
  check(taskId: string, signal?: AbortSignal): Promise<TaskSnapshot>;
  /** Cancels a task that is still pending. */
  cancel(taskId: string, signal?: AbortSignal): Promise<void>;
  /**
   * Tasks of this account created at or after `sinceMs`, oldest first: finds a task whose submit
   * reply was lost in a crash, so it is adopted instead of submitted again.
   */
  tasksCreatedSince(sinceMs: number, signal?: AbortSignal): Promise<readonly TaskSnapshot[]>;
}

/** Progress of a transfer, in bytes. */
export interface TransferProgress {
  readonly bytes: number;
  readonly totalBytes: number | undefined;
}

/** Downloads a URL to a local file, streaming, with a size cap. */
export interface Downloader {
  /** Resolves with the byte count once `destPath` is complete; rejects (and removes it) past `maxBytes`. */
  download(
    url: string,
    destPath: string,
    options: { maxBytes: number; signal?: AbortSignal; onProgress?: (progress: TransferProgress) => void },
  ): Promise<{ bytes: number }>;
}

/** Small keyed records with a time to live; typed access goes through `records.ts` scopes. */
export interface RecordStore {
  /** Reads a small record; `undefined` when absent or expired. */
  getRecord<T>(key: string): Promise<T | undefined>;
  /** Writes a small record; it expires after `ttlMs` when given. */
  setRecord<T>(key: string, value: T, ttlMs?: number): Promise<void>;
  /** Removes a record; resolves also when it did not exist. */
  deleteRecord(key: string): Promise<void>;
  /** Every live record whose key starts with `prefix`, in no particular order. */
  listRecords(prefix: string): Promise<Array<{ readonly key: string; readonly value: unknown }>>;
}

/** Durable job state and small service records (speed model, result cache, chat records). */
export interface JobStore extends RecordStore {
  /** Writes the job; resolves once it is durable. Terminal jobs may expire after a while. */
  save(job: RestyleJob): Promise<void>;
  get(id: string): Promise<RestyleJob | undefined>;
  /** Every stored job, in no particular order. */
  list(): Promise<RestyleJob[]>;
  delete(id: string): Promise<void>;
  /** Releases connections and file handles. */
  close(): Promise<void>;
}

/** File operations the service needs (hashing inputs, keeping results). */
export interface ServiceFiles {
  /** sha256 of a file's bytes, hex. */
  hash(path: string): Promise<string>;
  /** Where a job's result is kept until delivered (survives restarts). */
  resultPath(jobId: string): string;
  /** Removes a file if it exists. */
  remove(path: string): Promise<void>;
  /** True when the file exists. */
  exists(path: string): Promise<boolean>;
}

/** What a sink sent, recorded by core right after `deliver` resolves so a result is never sent twice. */
export interface DeliveryReceipt {
  /** The platform's id of the message carrying the result, when there is one. */
  readonly messageId?: string | number | undefined;
  /**
   * The platform cannot tell whether an interrupted hand-over reached the requester, and nothing
   * was sent again: the requester is told so and offered the result again.
   */
  readonly uncertain?: boolean | undefined;
}

/** Hands a finished result to whoever asked, on their platform. */
export interface DeliverySink {
  /**
   * Resolves once the requester has the result (with what was sent, when there is something to
   * name); rejects when it cannot be handed over. Core never calls it again for a job once it resolved.
   * `beforeSend` is awaited right before the call the platform cannot take back (the upload), so
   * a crash after it is known to have left the hand-over in doubt.
   */
  deliver(
    job: RestyleJob,
    resultPath: string,
    signal?: AbortSignal,
    beforeSend?: () => Promise<void>,
  ): Promise<DeliveryReceipt | undefined>;
  /**
   * A hand-over a crash interrupted: the platform may have accepted the result already. Resolves
   * with the message found, or sent when there is none; a platform that cannot look resolves with
   * an `uncertain` receipt rather than send twice. Without it, core calls `deliver` again.
   */
  resumeInterrupted?(
    job: RestyleJob,
    resultPath: string,
    signal?: AbortSignal,
  ): Promise<DeliveryReceipt | undefined>;
}

/** What a lane is asked to run: plain data, so a lane may live in another process. */
export type LaneOrder =
  /** Submit a new task for the hosted media, then follow it to its end. */
  | {
      readonly kind: 'submit';
      readonly jobId: string;
      readonly media: HostedMedia;
      readonly styleId: number;
      readonly fps: number;
      /** Expected time from submit to the task's end (ETAs, polling). */
      readonly expectedMs: number;
    }
  /** Follow a task this lane submitted before a restart; it is never submitted again. */
  | {
      readonly kind: 'follow';
      readonly jobId: string;
      readonly taskId: string;
      readonly submittedAtMs: number;
      readonly remote: 'pending' | 'running';
      readonly expectedMs: number;
    };

/** A new task as reported by a lane, once it exists. */
export interface LaneTask {
  readonly taskId: string;
  readonly submittedAtMs: number;
  readonly remote: 'pending' | 'running';
  readonly requestId: string | undefined;
}

/** How the owner of a run keeps the job's state durable while the lane works. */
export interface LaneRunHooks {
  /** Called just before the submit; the lane submits only once it resolves (the ambiguity is on record). */
  submitting(startedAtMs: number): Promise<void>;
  /** Called once the task exists; the lane polls only once it resolves (the task id is on record). */
  submitted(task: LaneTask): Promise<void>;
  /** Each remote status seen while the task is not yet terminal. */
  status(remote: 'pending' | 'running'): void;
}

/** What is known of a run so far; a lane in another process keeps it current from its events. */
export interface LaneRunRecord {
  readonly laneId: string;
  readonly jobId: string;
  readonly expectedMs: number;
  readonly taskId: string | undefined;
  readonly submittedAtMs: number | undefined;
  readonly remote: 'pending' | 'running' | undefined;
  /** Who asked the run to stop (a requester key); `undefined` while nobody has. */
  readonly canceledBy: string | undefined;
}

/** How a run ended, as a value: expected ends never reject. */
export type LaneOutcome =
  | {
      readonly kind: 'succeeded';
      readonly taskId: string;
      readonly outputUrl: string;
      readonly billedSec: number | undefined;
      /** Submit to end as measured by this run; `undefined` for a task followed after a restart. */
      readonly taskMs: number | undefined;
    }
  | { readonly kind: 'failed'; readonly failure: JobFailure }
  /**
   * The backend refused the lane's key (auth, arrears, access): the job is not at fault. The lane
   * has set itself aside; the job goes back in line (no task) or is followed again once the key is
   * back (`taskId`: a task exists and stays with this key).
   */
  | { readonly kind: 'key-refused'; readonly failure: JobFailure; readonly taskId: string | undefined }
  /** Stopped on behalf of `by`; `remote` says what became of the task at the backend. */
  | { readonly kind: 'canceled'; readonly by: string; readonly remote: 'none' | 'canceled' | 'running' }
  /** The owner is shutting down: the job keeps its saved state and resumes at the next start. */
  | { readonly kind: 'interrupted' };

/** One job's run on a lane, from submit (or resume) to the task's end. */
export interface LaneRun {
  readonly record: LaneRunRecord;
  /** Resolves with how the run ended; never rejects. */
  readonly outcome: Promise<LaneOutcome>;
  /** Asks the run to stop on behalf of `by`; a task still pending is canceled at the backend too. */
  cancel(by: string): void;
}

/** A lane's capacity, held by one owner until its run ends or it is released. */
export interface LaneSlot {
  /** Starts a run in this slot; the slot frees itself when the run ends. `signal` interrupts (shutdown). */
  run(order: LaneOrder, hooks: LaneRunHooks, signal: AbortSignal): LaneRun;
  /** Gives the slot back without running anything. */
  release(): void;
}

/** Whether a lane's key can be used: ready, or set aside after a refusal until `retryAtMs`. */
export type LaneHealth =
  | { readonly state: 'ready' }
  | { readonly state: 'out'; readonly code: string; readonly sinceMs: number; readonly retryAtMs: number };

/**
 * One remote slot in front of the backend (one DashScope key): one task at a time, submits spaced
 * out. The queue offers a lane its next job only once the lane has capacity; the lane runs submit →
 * poll → end with its own backend and answers with a value. Implementations may live in-process
 * (`InProcessLane`) or elsewhere (a shared queue), as long as orders, records and outcomes are data.
 */
export interface Lane {
  /** Stable id, saved on the job while its task runs, so a task is always followed by the lane that submitted it. */
  readonly id: string;
  /**
   * Resolves with a slot once the lane can take a job (free, its key not set aside, and its submit
   * spacing passed); rejects when aborted.
   */
  acquire(signal: AbortSignal): Promise<LaneSlot>;
  /** Whether the lane's key is usable now. */
  health(): LaneHealth;
  /** The key was refused outside a run (e.g. uploading an input with it): the lane sets itself aside. */
  setAside(failure: JobFailure): void;
  /**
   * After a crash between sending a submit and saving its reply: the task `jobId`'s submit created
   * (for an in-process lane: the oldest task this lane created at or after `sinceMs` whose id is not
   * in `knownTaskIds`), or `undefined` when the submit never arrived.
   */
  lostSubmit(
    jobId: string,
    sinceMs: number,
    knownTaskIds: ReadonlySet<string>,
    signal: AbortSignal,
  ): Promise<TaskSnapshot | undefined>;
}

/** How a claim on an incoming update went. */
export type UpdateClaim =
  /** Handle it now, then call `done`. */
  | 'mine'
  /** Another handler (in this process or another instance) holds it: ask to have it sent again later. */
  | 'busy'
  /** Handled already: answer it as received and do nothing. */
  | 'done';

/**
 * Claims on incoming platform updates (e.g. Telegram's `update_id`), so that each is handled once
 * however often and to however many instances it is delivered. A claim not marked done within
 * its hold (the holder crashed) lapses, so the update's next delivery is handled.
 */
export interface UpdateClaims {
  claim(id: string): Promise<UpdateClaim>;
  /** Marks an update handled (after its handler, also a failed one) and frees its hold. */
  done(id: string): Promise<void>;
  close?(): Promise<void>;
}
