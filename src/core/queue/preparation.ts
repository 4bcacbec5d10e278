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
 * ahead of its turn, so a lane never waits for it. One preparation per job at a time.
 */
export class Preparation {
  private readonly inFlight = new Map<string, Promise<HostedMedia>>();

  constructor(
    private readonly deps: PreparationDeps,
    private readonly book: JobBook,
    private readonly signal: AbortSignal,
  ) {}

  /** Resolves with the job's hosted media, saved on the job while it still waits. */
  prepare(job: RestyleJob): Promise<HostedMedia> {
    const existing = this.inFlight.get(job.id);
    if (existing) return existing;
    const promise = this.run(job);
    this.inFlight.set(job.id, promise);
    const forget = () => this.inFlight.delete(job.id);
    promise.then(forget, forget);
    return promise;
  }

  /** Starts preparing the given waiting jobs that still need it; failures wait for the job's turn. */
  ahead(jobIds: readonly string[]): void {
    for (const id of jobIds) {
      const job = this.book.get(id);
      if (job?.state.kind !== 'waiting' || job.state.media || this.inFlight.has(id)) continue;
      this.prepare(job).catch(() => undefined);
    }
  }

  /** Resolves once every preparation under way has ended. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private async run(job: RestyleJob): Promise<HostedMedia> {
    const { deps, signal } = this;
    const plan = job.plan ?? (job.changes.length > 0 ? await this.legacyPlan(job) : undefined);
    let path = job.inputPath;
    try {
      if (plan) {
        path = deps.tempPath('.mp4');
        await deps.transcoder.fit(job.inputPath, path, plan, signal);
        await this.checkFitted(job, path);
      }
      const media = await deps.host.host(path, { signal });
      const latest = this.book.get(job.id);
      if (latest?.state.kind === 'waiting') await this.book.update(job.id, { kind: 'waiting', media });
      return media;
    } finally {
      if (path !== job.inputPath) await deps.files.remove(path);
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
