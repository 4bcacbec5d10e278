import { AbortedError, isAbort, RemoteError, throwIfAborted } from './errors.ts';
import { type FitChange, planFit } from './fit.ts';
import { allFixable, checkProbe, type LimitViolation, type VideoFacts, type VideoLimits } from './limits.ts';
import { expectedTaskMs, nextPollDelayMs, type PollScheduleOptions, type ProcessingSpeed } from './poll.ts';
import type {
  Clock,
  Downloader,
  HostedMedia,
  Logger,
  MediaHost,
  RestyleBackend,
  TaskSnapshot,
  Transcoder,
  VideoProbe,
} from './ports.ts';
import type { Style } from './styles.ts';

/** Everything one restyle needs from outside. */
export interface RunnerDeps {
  readonly probe: VideoProbe;
  readonly transcoder: Transcoder;
  readonly host: MediaHost;
  readonly backend: RestyleBackend;
  readonly downloader: Downloader;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits: VideoLimits;
  readonly speed: ProcessingSpeed;
  readonly poll?: PollScheduleOptions;
  /** A task not terminal after this long is given up on. */
  readonly taskTimeoutMs: number;
  /** Largest result accepted from the backend. */
  readonly maxResultBytes: number;
  /** Where temporary files (fitted clips) go. */
  readonly workDir: string;
  /** Makes a fresh file name in `workDir`. */
  readonly tempPath: (suffix: string) => string;
}

/** Steps of a restyle, in order. */
export type Phase =
  | 'probing'
  | 'fitting'
  | 'uploading'
  | 'submitting'
  | 'pending'
  | 'running'
  | 'fetching'
  | 'done';

/** A progress report; `etaMs` is the estimated time left until the result is local. */
export interface ProgressEvent {
  readonly phase: Phase;
  /** Since the run started. */
  readonly elapsedMs: number;
  readonly etaMs?: number | undefined;
  /** Estimated fraction of the remote work done, while pending or running. */
  readonly fraction?: number | undefined;
  readonly taskId?: string | undefined;
  readonly bytes?: number | undefined;
  readonly totalBytes?: number | undefined;
}

/** A clip checked (and fitted when asked) and ready to submit. */
export interface PreparedClip {
  readonly kind: 'ready';
  readonly path: string;
  readonly facts: VideoFacts;
  /** What `fit` changed; empty when the clip complied as it was. */
  readonly changes: readonly FitChange[];
}

/** A clip that cannot be submitted, with every reason. */
export interface RejectedClip {
  readonly kind: 'rejected';
  readonly violations: readonly LimitViolation[];
  /** Set when `fit` was asked but some violations cannot be repaired. */
  readonly unfixable?: boolean;
}

/**
 * Probes a local clip and checks it against the limits; with `fit`, repairs what can be repaired
 * by transcoding into `workDir`. Never calls the backend.
 */
export async function prepareClip(
  deps: Pick<RunnerDeps, 'probe' | 'transcoder' | 'limits' | 'tempPath' | 'logger'>,
  input: { readonly path: string; readonly fit: boolean },
  options: { signal?: AbortSignal; onPhase?: (phase: 'probing' | 'fitting') => void } = {},
): Promise<PreparedClip | RejectedClip> {
  options.onPhase?.('probing');
  const probed = await deps.probe.probe(input.path, options.signal);
  const violations = checkProbe(probed, deps.limits);
  if (probed.kind === 'video' && violations.length === 0) {
    return { kind: 'ready', path: input.path, facts: probed.facts, changes: [] };
  }
  if (probed.kind === 'unreadable' || !input.fit) return { kind: 'rejected', violations };
  if (!allFixable(violations)) return { kind: 'rejected', violations, unfixable: true };
  const plan = planFit(probed.facts, deps.limits);
  if (!plan) return { kind: 'ready', path: input.path, facts: probed.facts, changes: [] };
  throwIfAborted(options.signal);
  options.onPhase?.('fitting');
  const fittedPath = deps.tempPath('.mp4');
  await deps.transcoder.fit(input.path, fittedPath, plan, options.signal);
  const reprobed = await deps.probe.probe(fittedPath, options.signal);
  const remaining = checkProbe(reprobed, deps.limits);
  if (reprobed.kind === 'unreadable' || remaining.length > 0) {
    deps.logger.warn('fitted clip still breaks limits', { remaining: remaining.map((v) => v.code) });
    return { kind: 'rejected', violations: remaining, unfixable: true };
  }
  return { kind: 'ready', path: fittedPath, facts: reprobed.facts, changes: plan.changes };
}

/** Estimated fraction of the remote work done after `elapsedMs`, never reaching 1 before the end. */
export function estimateFraction(elapsedMs: number, expectedMs: number): number {
  if (expectedMs <= 0) return 0;
  const linear = elapsedMs / expectedMs;
  // Past the estimate, approach 99 % asymptotically instead of sitting at 100 %.
  return linear < 0.9 ? linear : Math.min(0.99, 0.9 + 0.09 * (1 - Math.exp(-(linear - 0.9) * 3)));
}

/** Options of `awaitTask`. */
export interface AwaitTaskOptions {
  /** When the task was submitted (clock ms). */
  readonly submittedAtMs: number;
  readonly expectedMs: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called after each successful status query. */
  readonly onStatus?: (snapshot: TaskSnapshot) => void;
}

/**
 * Polls the task until it is terminal: resolves with the SUCCEEDED snapshot (which carries the
 * output URL), or rejects with a RemoteError (FAILED, canceled, gone, timed out) or when aborted.
 * Transient query failures do not end the wait.
 */
export async function awaitTask(
  deps: Pick<RunnerDeps, 'backend' | 'clock' | 'logger' | 'poll' | 'taskTimeoutMs'>,
  taskId: string,
  options: AwaitTaskOptions,
): Promise<TaskSnapshot & { outputUrl: string }> {
  const { clock, backend, logger } = deps;
  let unknownStreak = 0;
  for (;;) {
    const elapsedMs = clock.now() - options.submittedAtMs;
    if (elapsedMs > deps.taskTimeoutMs) {
      throw new RemoteError({
        kind: 'timeout',
        code: 'TaskTimeout',
        message: `The task did not finish within ${Math.round(deps.taskTimeoutMs / 1000)} s`,
        taskId,
      });
    }
    await clock.sleep(nextPollDelayMs(elapsedMs, options.expectedMs, deps.poll), options.signal);
    let snapshot: TaskSnapshot;
    try {
      snapshot = await backend.check(taskId, options.signal);
    } catch (error) {
      if (isAbort(error) || options.signal?.aborted) throw error;
      if (error instanceof RemoteError && error.retryable) {
        logger.warn('status query failed; polling on', {
          taskId,
          code: error.code,
          requestId: error.requestId,
        });
        continue;
      }
      throw error;
    }
    unknownStreak = snapshot.status === 'unknown' ? unknownStreak + 1 : 0;
    switch (snapshot.status) {
      case 'succeeded':
        if (!snapshot.outputUrl) {
          throw new RemoteError({
            kind: 'task-failed',
            code: 'NoOutput',
            message: 'The task succeeded without an output video URL',
            taskId,
            requestId: snapshot.requestId,
          });
        }
        return { ...snapshot, outputUrl: snapshot.outputUrl };
      case 'failed':
        throw new RemoteError({
          kind: 'task-failed',
          code: snapshot.failure?.code ?? 'UnknownError',
          message: snapshot.failure?.message ?? 'The task failed',
          taskId,
          requestId: snapshot.requestId,
        });
      case 'canceled':
        throw new RemoteError({
          kind: 'task-failed',
          code: 'Canceled',
          message: 'The task was canceled',
          taskId,
        });
      case 'unknown':
        // A task seen once as UNKNOWN right after submit may be a replica lagging; twice is gone.
        if (unknownStreak >= 2) {
          throw new RemoteError({
            kind: 'task-lost',
            code: 'UNKNOWN',
            message: 'DashScope no longer knows the task (expired or never created)',
            taskId,
            requestId: snapshot.requestId,
          });
        }
        break;
      case 'pending':
      case 'running':
      case 'suspended':
        options.onStatus?.(snapshot);
        break;
    }
  }
}

/** What one restyle asks for. */
export interface RestyleInput {
  readonly path: string;
  readonly style: Style;
  readonly fps: number;
  readonly fit: boolean;
  readonly outputPath: string;
}

/** The end of a restyle that ran. */
export interface RestyleDone {
  readonly kind: 'done';
  readonly outputPath: string;
  readonly bytes: number;
  readonly taskId: string;
  readonly requestId: string | undefined;
  readonly facts: VideoFacts;
  readonly changes: readonly FitChange[];
  readonly billedSec: number | undefined;
  readonly elapsedMs: number;
}

/** Options of `restyleFile`. */
export interface RestyleOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Called once the remote task exists, before polling starts. */
  readonly onSubmitted?: (snapshot: TaskSnapshot) => void;
}

/** Thrown when a restyle is aborted; tells whether a remote task was left behind. */
export class RestyleAbortedError extends AbortedError {
  constructor(
    readonly taskId: string | undefined,
    /** `canceled`: the PENDING task was canceled remotely; `running`: it could no longer be. */
    readonly remote: 'none' | 'canceled' | 'running',
  ) {
    super('The restyle was interrupted');
  }
}

/**
 * Restyles one local clip end to end: prepare → host → submit → poll → fetch the result to
 * `outputPath`. Resolves with the result or the rejection; rejects with RemoteError on remote
 * failure and RestyleAbortedError when aborted (a PENDING task is canceled remotely).
 */
export async function restyleFile(
  deps: RunnerDeps,
  input: RestyleInput,
  options: RestyleOptions = {},
): Promise<RestyleDone | RejectedClip> {
  const { clock, signal } = { clock: deps.clock, signal: options.signal };
  const startedAtMs = clock.now();
  const report = (event: Omit<ProgressEvent, 'elapsedMs'>) =>
    options.onProgress?.({ ...event, elapsedMs: clock.now() - startedAtMs });
  let taskId: string | undefined;
  let lastStatus: TaskSnapshot['status'] | undefined;
  try {
    const prepared = await prepareClip(deps, input, {
      ...(signal ? { signal } : {}),
      onPhase: (phase) => report({ phase }),
    });
    if (prepared.kind === 'rejected') return prepared;
    const expectedMs = expectedTaskMs(prepared.facts.durationSec, deps.speed);
    report({ phase: 'uploading', etaMs: expectedMs });
    const media: HostedMedia = await deps.host.host(prepared.path, signal ? { signal } : {});
    report({ phase: 'submitting', etaMs: expectedMs });
    const submitted = await deps.backend.submit({ media, styleId: input.style.id, fps: input.fps }, signal);
    const submittedAtMs = clock.now();
    taskId = submitted.taskId;
    lastStatus = submitted.status;
    deps.logger.info('task submitted', { taskId, requestId: submitted.requestId, style: input.style.slug });
    options.onSubmitted?.(submitted);
    report({ phase: 'pending', taskId, etaMs: expectedMs, fraction: 0 });
    const finished = await awaitTask(deps, submitted.taskId, {
      submittedAtMs,
      expectedMs,
      signal,
      onStatus: (snapshot) => {
        lastStatus = snapshot.status;
        const runMs = clock.now() - submittedAtMs;
        report({
          phase: snapshot.status === 'running' ? 'running' : 'pending',
          taskId,
          fraction: estimateFraction(runMs, expectedMs),
          etaMs: Math.max(0, expectedMs - runMs),
        });
      },
    });
    lastStatus = 'succeeded';
    report({ phase: 'fetching', taskId });
    const { bytes } = await deps.downloader.download(finished.outputUrl, input.outputPath, {
      maxBytes: deps.maxResultBytes,
      ...(signal ? { signal } : {}),
      onProgress: (progress) =>
        report({ phase: 'fetching', taskId, bytes: progress.bytes, totalBytes: progress.totalBytes }),
    });
    const elapsedMs = clock.now() - startedAtMs;
    report({ phase: 'done', taskId, bytes });
    return {
      kind: 'done',
      outputPath: input.outputPath,
      bytes,
      taskId: finished.taskId,
      requestId: finished.requestId,
      facts: prepared.facts,
      changes: prepared.changes,
      billedSec: finished.billedSec,
      elapsedMs,
    };
  } catch (error) {
    if (!(isAbort(error) || signal?.aborted)) throw error;
    if (taskId === undefined || lastStatus === 'succeeded') throw new RestyleAbortedError(taskId, 'none');
    if (lastStatus !== 'pending') throw new RestyleAbortedError(taskId, 'running');
    try {
      await deps.backend.cancel(taskId, AbortSignal.timeout(5_000));
      deps.logger.info('pending task canceled', { taskId });
      throw new RestyleAbortedError(taskId, 'canceled');
    } catch (cancelError) {
      if (cancelError instanceof RestyleAbortedError) throw cancelError;
      deps.logger.warn('could not cancel the task', { taskId, error: String(cancelError) });
      throw new RestyleAbortedError(taskId, 'running');
    }
  }
}
