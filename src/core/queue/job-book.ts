import { isTerminal, type JobState, type RestyleJob } from '../job.ts';
import type { Clock, JobStore } from '../ports.ts';

/** The jobs this process knows, each written to the store before anything acts on it. */
export class JobBook {
  private readonly jobs = new Map<string, RestyleJob>();
  /** Job ids per requester, so one person's jobs are found without reading everyone's. */
  private readonly byRequester = new Map<string, Set<string>>();

  constructor(
    private readonly store: JobStore,
    private readonly clock: Clock,
    /** Called once a job has durably reached a terminal state. */
    private readonly ended: (job: RestyleJob) => void = () => undefined,
  ) {}

  /** A job as last saved by this process. */
  get(jobId: string): RestyleJob | undefined {
    return this.jobs.get(jobId);
  }

  /** Takes a job loaded from the store, without writing it. */
  adopt(job: RestyleJob): void {
    this.keep(job);
  }

  /** Saves a new job; resolves once it is durable. */
  async add(job: RestyleJob): Promise<RestyleJob> {
    await this.store.save(job);
    this.keep(job);
    return job;
  }

  /** Moves the job (as last saved) to `state`; resolves once that is durable. */
  async update(jobId: string, state: JobState): Promise<RestyleJob> {
    const previous = this.require(jobId);
    const next: RestyleJob = { ...previous, state, updatedAtMs: this.clock.now() };
    this.jobs.set(jobId, next);
    await this.store.save(next);
    if (isTerminal(state) && !isTerminal(previous.state)) this.ended(next);
    return next;
  }

  /** Corrects what the job says about its clip once it has been fitted; resolves once durable. */
  async revise(jobId: string, facts: Pick<RestyleJob, 'changes' | 'durationSec'>): Promise<RestyleJob> {
    const next: RestyleJob = { ...this.require(jobId), ...facts, updatedAtMs: this.clock.now() };
    this.jobs.set(jobId, next);
    await this.store.save(next);
    return next;
  }

  /** Moves the job to `state` at once in memory and saves it in the background (for minor updates). */
  touch(jobId: string, state: JobState, onError: (error: unknown) => void): RestyleJob {
    const next: RestyleJob = { ...this.require(jobId), state };
    this.jobs.set(jobId, next);
    this.store.save(next).catch(onError);
    return next;
  }

  /** Unfinished jobs of one requester, oldest first. */
  unfinishedOf(requesterKey: string): RestyleJob[] {
    const jobs: RestyleJob[] = [];
    for (const id of this.byRequester.get(requesterKey) ?? []) {
      const job = this.jobs.get(id);
      if (job && !isTerminal(job.state)) jobs.push(job);
    }
    return jobs.sort((a, b) => a.seq - b.seq);
  }

  private keep(job: RestyleJob): void {
    this.jobs.set(job.id, job);
    const ids = this.byRequester.get(job.requester.key) ?? new Set<string>();
    ids.add(job.id);
    this.byRequester.set(job.requester.key, ids);
  }

  private require(jobId: string): RestyleJob {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`unknown job ${jobId}`);
    return job;
  }
}
