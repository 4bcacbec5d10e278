import type { FitPlan } from './fit.ts';
import type { RestyleJob } from './job.ts';
import type { ProbeResult } from './limits.ts';

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

/** A URL the backend can fetch a local file from. */
export interface HostedMedia {
  readonly url: string;
  /** True for `oss://` URLs that need DashScope's resolve header. */
  readonly ossResolve: boolean;
}

/** Turns a local file into a URL the backend can read. */
export interface MediaHost {
  /** Resolves once the file is reachable at the returned URL. */
  host(path: string, options?: { signal?: AbortSignal }): Promise<HostedMedia>;
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
