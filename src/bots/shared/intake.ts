import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isAbort } from '../../core/errors.ts';
import type { Requester, RestyleJob } from '../../core/job.ts';
import type { VideoLimits } from '../../core/limits.ts';
import type { JobStore, Logger, ServiceFiles } from '../../core/ports.ts';
import type { JobEvent, RequestOutcome, RestyleService } from '../../core/queue/service.ts';
import { openScope, type RecordScope } from '../../core/records.ts';
import type { Locale } from '../../core/styles.ts';
import { BackgroundWork } from './background.ts';
import type { DailyQuota } from './quota.ts';
import {
  type ChatSurface,
  INTAKE_SCOPE,
  INTAKE_TAKEN_SCOPE,
  type IntakeNotice,
  type IntakeRecord,
} from './surface.ts';

/** A clip is downloaded up to this many times the model's size limit, so fitting can compress it. */
export const FIT_DOWNLOAD_FACTOR = 4;

/** What the intake takes from the service it runs in. */
export interface ChatIntakeOptions {
  readonly service: RestyleService;
  readonly store: JobStore;
  readonly files: Pick<ServiceFiles, 'remove'>;
  /** Where clips are downloaded to; a job owns its input until it ends. */
  readonly inputsDir: string;
  readonly videoLimits: VideoLimits;
  readonly quota: DailyQuota;
  /** Clips one person may have waiting, counting those still being checked. */
  readonly maxWaitingPerUser: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** A request a platform decoded: who, which style, and its own fields for the clip and the answers. */
export interface ChatRequest {
  /**
   * Stable for one request: the same id for an update delivered twice (e.g. `telegram-<update>`),
   * or for a picker picked again (`discord-pick-<ref>`); an id seen within a day is a duplicate.
   */
  readonly id: string;
  readonly requester: Requester;
  readonly locale: Locale;
  readonly styleId: number;
  readonly fps: number;
  readonly fit: boolean;
  readonly clip: IntakeRecord['clip'];
  readonly address: IntakeRecord['address'];
  /** The clip's file extension, e.g. `.mp4`. */
  readonly extension: string;
}

/** How `accept` ended: taken in, answered with a final message, or already taken in before. */
export type AcceptOutcome = 'accepted' | 'answered' | 'duplicate';

/**
 * The one intake of every chat platform: quota and per-user cap → record → acknowledgement →
 * download → the queue's answer → following the job. The request is in the store before the
 * requester hears anything, so after a crash at any point `resume` finishes it or says why not.
 */
export class ChatIntake {
  private readonly records: RecordScope<IntakeRecord>;
  private readonly taken: RecordScope<{ atMs: number }>;
  private readonly inFlight = new Map<string, IntakeRecord>();
  private readonly background: BackgroundWork;
  private readonly shutdown = new AbortController();
  private readonly now: () => number;
  /** Once `resume` has loaded every stored request, those not in `inFlight` are gone from the store too. */
  private resumed = false;

  constructor(
    private readonly options: ChatIntakeOptions,
    private readonly surface: ChatSurface,
  ) {
    this.records = openScope(options.store, INTAKE_SCOPE);
    this.taken = openScope(options.store, INTAKE_TAKEN_SCOPE);
    this.background = new BackgroundWork(options.logger, `${surface.platform} intake`);
    this.now = options.now ?? Date.now;
    mkdirSync(options.inputsDir, { recursive: true });
  }

  /**
   * Takes a request in: checks quota and cap (answering at once when they refuse), records it,
   * acknowledges it, and goes on in the background. Resolves once the requester was answered.
   */
  async accept(request: ChatRequest): Promise<AcceptOutcome> {
    if (this.inFlight.has(request.id)) return 'duplicate';
    const record: IntakeRecord = {
      id: request.id,
      platform: this.surface.platform,
      requester: { ...request.requester },
      locale: request.locale,
      styleId: request.styleId,
      fps: request.fps,
      fit: request.fit,
      clip: request.clip,
      address: request.address,
      inputPath: join(this.options.inputsDir, `${safeName(request.id)}${request.extension}`),
      downloaded: false,
      createdAtMs: this.now(),
    };
    // The place is held before anything is awaited, so a burst from one person counts itself.
    const ahead = this.pendingFor(record.requester.key);
    const capRefusal = this.capRefusal(record, ahead);
    if (capRefusal) {
      await this.surface.notify(record, capRefusal);
      return 'answered';
    }
    this.inFlight.set(record.id, record);
    try {
      if (await this.seenBefore(record.id)) {
        this.inFlight.delete(record.id);
        return 'duplicate';
      }
      const quotaRefusal = await this.quotaRefusal(record, ahead);
      if (quotaRefusal) {
        this.inFlight.delete(record.id);
        await this.surface.notify(record, quotaRefusal);
        return 'answered';
      }
      // Durable before the requester hears anything: a crash from here on is finished by `resume`.
      await this.records.set(record.id, record);
      const acknowledged = { ...record, address: await this.surface.notify(record, { kind: 'checking' }) };
      this.inFlight.set(record.id, acknowledged);
      await this.records.set(record.id, acknowledged);
      this.background.spawn(() => this.process(acknowledged));
      return 'accepted';
    } catch (error) {
      this.inFlight.delete(record.id);
      await this.records.delete(record.id).catch(() => undefined);
      throw error;
    }
  }

  /**
   * True when a request with this id is being taken in, or was within a day (queued, or ended
   * with a message): a platform answers it as a duplicate instead of starting it again.
   */
  async known(id: string): Promise<boolean> {
    return this.inFlight.has(id) || (await this.seenBefore(id));
  }

  /** Recorded before a restart and not resumed yet, or already taken in. */
  private async seenBefore(id: string): Promise<boolean> {
    // Until `resume` has run, a request recorded before a restart is only in the store.
    if (!this.resumed && (await this.records.get(id))) return true;
    return (await this.taken.get(id)) !== undefined;
  }

  /** Finishes every request a crash left between acknowledgement and the queue. Call once, after launch. */
  async resume(): Promise<number> {
    const stored = await this.records.list((error) => {
      this.options.logger.warn('dropping an unreadable intake record', { error: error.message });
      void this.records.delete(error.id).catch(() => undefined);
    });
    const mine = stored
      .map((entry) => entry.value)
      .filter((record) => record.platform === this.surface.platform);
    if (mine.length === 0) {
      this.resumed = true;
      return 0;
    }
    const jobs = new Map<string, RestyleJob>();
    for (const job of await this.options.store.list()) {
      if (typeof job.delivery.intakeId === 'string') jobs.set(job.delivery.intakeId, job);
    }
    let resumed = 0;
    for (const record of mine) {
      if (this.inFlight.has(record.id)) continue;
      if (jobs.has(record.id)) {
        // The queue took it just before the crash: the job carries it from here.
        await this.forget(record);
        continue;
      }
      resumed += 1;
      this.options.logger.info('resuming a request interrupted by a restart', {
        intakeId: record.id,
        downloaded: record.downloaded,
      });
      this.inFlight.set(record.id, record);
      this.background.spawn(async () => {
        const address = await this.surface.notify(record, { kind: 'checking' });
        await this.process({ ...record, address });
      });
    }
    this.resumed = true;
    return resumed;
  }

  /** Requests of one person still being taken in (not yet in the queue). */
  pendingFor(requesterKey: string): number {
    let count = 0;
    for (const record of this.inFlight.values()) if (record.requester.key === requesterKey) count += 1;
    return count;
  }

  /** Resolves once every request started so far is queued or answered. */
  settled(): Promise<void> {
    return this.background.settled();
  }

  /** Stops taking requests in; those under way stay recorded for the next start. */
  async stop(): Promise<void> {
    this.shutdown.abort();
    await this.background.settled();
  }

  /** A refusal when the person has as many clips waiting or being checked as the cap allows. */
  private capRefusal(record: IntakeRecord, ahead: number): IntakeNotice | undefined {
    const cap = this.options.maxWaitingPerUser;
    if (record.requester.operator) return undefined;
    const waiting = this.options.service
      .jobsOf(record.requester.key)
      .filter((job) => job.state.kind === 'waiting').length;
    return waiting + ahead >= cap ? { kind: 'refused', reason: 'user-cap', limit: cap } : undefined;
  }

  /** A refusal when today's quota is used up, counting the person's clips still being checked. */
  private async quotaRefusal(record: IntakeRecord, ahead: number): Promise<IntakeNotice | undefined> {
    const { quota } = this.options;
    const left = await quota.left(record.requester.key);
    if (left === undefined || left - ahead > 0) return undefined;
    return { kind: 'quota-used', perDay: quota.perDay, resetInMs: quota.resetInMs() };
  }

  /** Download → request → answer, for a recorded request; every ending removes the record. */
  private async process(record: IntakeRecord): Promise<void> {
    let current = record;
    try {
      if (!current.downloaded) {
        const notice = await this.download(current);
        if (notice === 'aborted') return;
        if (notice) {
          await this.finish(current, notice);
          return;
        }
        current = { ...current, downloaded: true };
        this.inFlight.set(current.id, current);
        await this.records.set(current.id, current);
      }
      if (this.shutdown.signal.aborted) return;
      await this.request(current);
    } catch (error) {
      if (isAbort(error) || this.shutdown.signal.aborted) return;
      this.options.logger.error('could not take a chat request in', {
        intakeId: current.id,
        requester: current.requester.key,
        error: error instanceof Error ? error.message : String(error),
      });
      await this.finish(current, { kind: 'internal-error' }).catch(() => undefined);
    }
  }

  /** Fetches the clip; resolves with the notice that ends the request when it cannot be had. */
  private async download(record: IntakeRecord): Promise<IntakeNotice | 'aborted' | undefined> {
    // A crash mid-download leaves a partial file under the same name.
    await this.options.files.remove(record.inputPath);
    const maxBytes = this.options.videoLimits.maxSizeBytes * FIT_DOWNLOAD_FACTOR;
    let fetched: Awaited<ReturnType<ChatSurface['fetchClip']>>;
    try {
      fetched = await this.surface.fetchClip(record, record.inputPath, maxBytes, this.shutdown.signal);
    } catch (error) {
      if (isAbort(error) || this.shutdown.signal.aborted) return 'aborted';
      throw error;
    }
    switch (fetched.kind) {
      case 'fetched':
        return undefined;
      case 'too-big':
        return {
          kind: 'download-too-large',
          sizeBytes: fetched.sizeBytes,
          maxBytes: fetched.platformMaxBytes ?? maxBytes,
        };
      case 'unavailable':
        this.options.logger.warn('could not download a clip', {
          intakeId: record.id,
          requester: record.requester.key,
          reason: fetched.reason,
        });
        return { kind: 'download-failed' };
      case 'lost':
        return { kind: 'interrupted' };
    }
  }

  /** Asks the queue; a job takes the request over, anything else ends it with a message. */
  private async request(record: IntakeRecord): Promise<void> {
    let jobId: string | undefined;
    const missed: JobEvent[] = [];
    const outcome: RequestOutcome = await this.options.service.request(
      {
        requester: record.requester,
        delivery: { ...this.surface.deliveryOf(record), intakeId: record.id },
        inputPath: record.inputPath,
        styleId: record.styleId,
        fps: record.fps,
        fit: record.fit,
      },
      (event) => (jobId ? this.surface.handle(jobId, event) : missed.push(event)),
    );
    switch (outcome.kind) {
      case 'rejected':
        await this.finish(record, {
          kind: 'rejected',
          violations: outcome.violations,
          fixable: !outcome.unfixable && !record.fit,
        });
        return;
      case 'refused':
        await this.finish(record, { kind: 'refused', reason: outcome.reason, limit: outcome.limit });
        return;
      case 'duplicate':
        await this.finish(record, { kind: 'duplicate' });
        return;
      case 'queued':
      case 'cached':
        jobId = outcome.job.id;
        this.surface.follow(record, outcome.job, missed);
        if (outcome.kind === 'queued') await this.options.quota.spend(record.requester.key);
        await this.forget(record);
        return;
    }
  }

  /** Ends a request without a job: its input goes, the requester is told, the record goes. */
  private async finish(record: IntakeRecord, notice: IntakeNotice): Promise<void> {
    await this.options.files.remove(record.inputPath);
    await this.surface.notify(record, notice);
    await this.forget(record);
  }

  /** The request is taken in: its record goes, a note that it was stays for a day. */
  private async forget(record: IntakeRecord): Promise<void> {
    await this.taken.set(record.id, { atMs: this.now() });
    await this.records.delete(record.id);
    this.inFlight.delete(record.id);
  }
}

/** An id as a file name: letters, digits, `-` and `_` only. */
function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '_');
}
