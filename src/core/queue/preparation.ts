import { type FitPlan, measuredChanges, planFit } from '../fit.ts';
import type { RestyleJob } from '../job.ts';
import { checkProbe, type VideoLimits } from '../limits.ts';
import type { HostedMedia } from '../media.ts';
import type { MediaHost, ServiceFiles, Transcoder, VideoProbe } from '../ports.ts';
import type { JobBook } from './job-book.ts';

/** What preparing a clip needs. */
export interface PreparationDeps {
  readonly probe: VideoProbe;
  readonly transcoder: Transcoder;
  readonly host: MediaHost;
  readonly files: Pick<ServiceFiles, 'remove'>;
  readonly limits: VideoLimits;
  /** Makes a fresh temporary file name. */
  readonly tempPath: (suffix: string) => string;
}

/**
 * Fits a waiting clip by the plan decided at intake and hosts it where the backend can read it,
 * ahead of its turn, so a lane never waits for it. Media a key alone can read (DashScope's
 * temporary upload) is hosted ahead for the lane expected to take the job; the fitted file is kept,
 * so a job another lane takes is hosted again for it at once. One preparation per job at a time.
 */
export class Preparation {
  private readonly inFlight = new Map<string, Promise<HostedMedia | undefined>>();
  /** Fitted files kept for hosting at the job's turn (per-lane hosts), by job id. */
  private readonly fitted = new Map<string, { readonly inputPath: string; readonly path: Promise<string> }>();

  constructor(
    private readonly deps: PreparationDeps,
    private readonly book: JobBook,
    private readonly signal: AbortSignal,
  ) {}

  /** Resolves with media `laneId` can submit, saved on the job while it still waits. */
  async prepare(job: RestyleJob, laneId: string): Promise<HostedMedia> {
    const current = this.book.get(job.id) ?? job;
    const saved = current.state.kind === 'waiting' ? current.state.media : undefined;
    if (saved && readableBy(saved, laneId)) return saved;
    const media = await this.once(job, laneId);
    if (!media) throw new Error(`job ${job.id}: nothing was hosted for lane ${laneId}`);
    return media;
  }

  /**
   * Starts preparing the given waiting jobs (the head of the line, in order) that still need it;
   * `laneFor(i)` is the lane expected to take the i-th, for media only its key can read.
   * Failures wait for the job's turn.
   */
  ahead(jobIds: readonly string[], laneFor: (index: number) => string | undefined): void {
    for (const [index, id] of jobIds.entries()) {
      const job = this.book.get(id);
      if (job?.state.kind !== 'waiting' || job.state.media || this.inFlight.has(id)) continue;
      const laneId = this.deps.host.perLane ? laneFor(index) : undefined;
      if (this.deps.host.perLane && laneId === undefined) {
        if (job.plan) this.fittedFile(job).catch(() => undefined);
        continue;
      }
      this.once(job, laneId).catch(() => undefined);
    }
  }

  /** Forgets a job that left the line: its kept fitted file is removed. */
  release(jobId: string): void {
    const kept = this.fitted.get(jobId);
    if (!kept) return;
    this.fitted.delete(jobId);
    kept.path
      .then((path) => (path === kept.inputPath ? undefined : this.deps.files.remove(path)))
      .catch(() => undefined);
  }

  /** Resolves once every preparation under way has ended. */
  async drain(): Promise<void> {
    await Promise.allSettled([
      ...this.inFlight.values(),
      ...[...this.fitted.values()].map((kept) => kept.path),
    ]);
  }

  /** One hosting per job at a time; a second caller shares it when it is for the same lane. */
  private once(job: RestyleJob, laneId: string | undefined): Promise<HostedMedia | undefined> {
    const existing = this.inFlight.get(job.id);
    if (existing) {
      return existing.then((media) => (media && readableBy(media, laneId) ? media : this.once(job, laneId)));
    }
    const promise = this.run(job, laneId);
    this.inFlight.set(job.id, promise);
    const forget = () => {
      if (this.inFlight.get(job.id) === promise) this.inFlight.delete(job.id);
    };
    promise.then(forget, forget);
    return promise;
  }

  private async run(job: RestyleJob, laneId: string | undefined): Promise<HostedMedia> {
    const { deps, signal } = this;
    const keep = deps.host.perLane;
    const path = keep ? await this.fittedFile(job) : await this.fit(job);
    try {
      const media = await deps.host.host(path, {
        signal,
        jobId: job.id,
        ...(laneId === undefined ? {} : { laneId }),
      });
      const latest = this.book.get(job.id);
      if (latest?.state.kind === 'waiting') await this.book.update(job.id, { kind: 'waiting', media });
      return media;
    } finally {
      if (!keep && path !== job.inputPath) await deps.files.remove(path);
    }
  }

  /** The job's fitted file, made once and kept until `release` (the input itself when no fit is planned). */
  private fittedFile(job: RestyleJob): Promise<string> {
    const kept = this.fitted.get(job.id);
    if (kept) return kept.path;
    const entry = { inputPath: job.inputPath, path: this.fit(job) };
    this.fitted.set(job.id, entry);
    entry.path.catch(() => {
      if (this.fitted.get(job.id) === entry) this.fitted.delete(job.id);
    });
    return entry.path;
  }

  /** Applies the job's fit plan into a new file; the input itself when there is none. */
  private async fit(job: RestyleJob): Promise<string> {
    const { deps, signal } = this;
    const plan = job.plan ?? (job.changes.length > 0 ? await this.legacyPlan(job) : undefined);
    if (!plan) return job.inputPath;
    const path = deps.tempPath('.mp4');
    try {
      await deps.transcoder.fit(job.inputPath, path, plan, signal);
      await this.checkFitted(job, path);
      return path;
    } catch (error) {
      await deps.files.remove(path);
      throw error;
    }
  }

  /**
   * Probes the fitted file as the intake would: a clip fitting could not bring within the limits is
   * never paid for. Records what fitting really changed (the length kept, the size reached).
   */
  private async checkFitted(job: RestyleJob, path: string): Promise<void> {
    const probed = await this.deps.probe.probe(path, this.signal);
    const violations = checkProbe(probed, this.deps.limits);
    if (probed.kind !== 'video' || violations.length > 0) {
      const codes = violations.map((violation) => violation.code).join(', ');
      throw new Error(`the fitted clip still breaks the model's limits (${codes})`);
    }
    await this.book.revise(job.id, {
      changes: measuredChanges(job.changes, probed.facts),
      durationSec: probed.facts.durationSec,
    });
  }

  /** Jobs saved before the plan travelled with them: plan again from a fresh probe. */
  private async legacyPlan(job: RestyleJob): Promise<FitPlan | undefined> {
    const probed = await this.deps.probe.probe(job.inputPath, this.signal);
    return probed.kind === 'video' ? planFit(probed.facts, this.deps.limits) : undefined;
  }
}

/** True when a lane may submit this media: it is bound to no key, or to this lane's. */
function readableBy(media: HostedMedia, laneId: string | undefined): boolean {
  return media.laneId === undefined || media.laneId === laneId;
}
