import { RemoteError } from './errors.ts';
import type { FitChange, FitPlan } from './fit.ts';
import type { LimitViolation } from './limits.ts';
import type { HostedMedia } from './media.ts';

/** Who asked: fairness and per-user caps are keyed by `key` (e.g. `telegram:12345`, `cli:alice`). */
export interface Requester {
  readonly key: string;
  /** Shown to operators; never used for decisions. */
  readonly name?: string;
  /** May cancel anyone's job. */
  readonly operator?: boolean;
}

/**
 * Where the result goes, opaque to core: each platform stores what it needs to deliver (chat id,
 * message id, output path…). Never a secret or a platform file URL.
 */
export type Delivery = Readonly<Record<string, string | number | boolean | null>> & {
  readonly platform: string;
};

/** A failure, as stored: enough to explain it and to trace it with DashScope. */
export interface JobFailure {
  readonly kind: string;
  readonly code: string;
  readonly message: string;
  readonly requestId?: string | undefined;
  readonly taskId?: string | undefined;
}

/** A job's state; `updatedAtMs` is on the job. */
export type JobState =
  /** Accepted and checked; waiting for the lane. `media` is set once fitted and hosted. */
  | { readonly kind: 'waiting'; readonly media?: HostedMedia | undefined }
  /** Written just before the submit call, so a crash here is known to be ambiguous. */
  | {
      readonly kind: 'submitting';
      readonly media: HostedMedia;
      readonly startedAtMs: number;
      /** The lane (DashScope key) submitting it; absent in records written before lanes had ids. */
      readonly laneId?: string | undefined;
    }
  /** The remote task exists; its id is saved, it is never submitted again. */
  | {
      readonly kind: 'submitted';
      readonly taskId: string;
      readonly submittedAtMs: number;
      readonly remote: 'pending' | 'running';
      /** The lane whose key owns the task: only it may poll or cancel it. Absent in older records. */
      readonly laneId?: string | undefined;
    }
  /** The task succeeded; the result is being fetched. */
  | {
      readonly kind: 'fetching';
      readonly taskId: string;
      readonly outputUrl: string;
      readonly billedSec?: number;
    }
  /** The result is local and waits to be handed to the requester. */
  | {
      readonly kind: 'fetched';
      readonly taskId: string;
      readonly resultPath: string;
      readonly cached: boolean;
      /** Where DashScope keeps the result (for about 24 h): a link to offer when it cannot be uploaded. */
      readonly outputUrl?: string;
    }
  | {
      readonly kind: 'delivered';
      readonly taskId: string;
      readonly cached: boolean;
      readonly atMs: number;
      /** A crash interrupted the hand-over and the platform could not tell whether it arrived. */
      readonly uncertain?: boolean;
    }
  | { readonly kind: 'failed'; readonly failure: JobFailure }
  | { readonly kind: 'canceled'; readonly by: string; readonly remote: 'none' | 'canceled' | 'running' }
  | { readonly kind: 'rejected'; readonly violations: readonly LimitViolation[] };

/** The name of a job state. */
export type JobStateKind = JobState['kind'];

/** States after which nothing more happens to a job. */
export const TERMINAL_STATES: ReadonlySet<JobStateKind> = new Set([
  'delivered',
  'failed',
  'canceled',
  'rejected',
]);

/** True once nothing more happens to the job. */
export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.has(state.kind);
}

/**
 * True while a requester may still cancel the job: waiting, starting, or submitted but not yet
 * running at DashScope (a running task cannot be stopped, and is billed anyway).
 */
export function isCancelable(state: JobState): boolean {
  return (
    state.kind === 'waiting' ||
    state.kind === 'submitting' ||
    (state.kind === 'submitted' && state.remote === 'pending')
  );
}

/** One restyle request as the queue and the store know it. */
export interface RestyleJob {
  readonly id: string;
  /** Arrival order across the whole service (fairness ties, restart order). */
  readonly seq: number;
  readonly requester: Requester;
  readonly delivery: Delivery;
  /** Local path of the input (a copy the service owns). */
  readonly inputPath: string;
  /** sha256 of the input's bytes: the result cache key, with style and fps. */
  readonly inputHash: string;
  readonly styleId: number;
  readonly fps: number;
  /** Clip length once fitted, for ETAs and polling. */
  readonly durationSec: number;
  /** What fitting will change (empty when the clip complies as it is). */
  readonly changes: readonly FitChange[];
  /** How to fit the clip, decided once at intake; absent when it complies (and in older records). */
  readonly plan?: FitPlan | undefined;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly state: JobState;
}

/** The stored form of a failure: a RemoteError keeps its code and ids, anything else is `internal`. */
export function failureOf(error: unknown): JobFailure {
  if (error instanceof RemoteError) {
    return {
      kind: error.kind,
      code: error.code,
      message: error.message,
      requestId: error.requestId,
      taskId: error.taskId,
    };
  }
  return {
    kind: 'internal',
    code: 'InternalError',
    message: error instanceof Error ? error.message : String(error),
  };
}
