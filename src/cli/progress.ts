import type { JobStatus } from '../core/queue/service.ts';
import type { Locale } from '../core/styles.ts';
import type { Phase, ProgressEvent } from '../core/task.ts';
import { describePhase, formatClock, percentOf, t } from '../text/index.ts';

/** A text bar: `███████░░░░░░░` for a fraction in [0, 1]. */
export function progressBar(fraction: number, width = 20): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** Between the columns of a progress line (a layout gap, in either language). */
export const PROGRESS_COLUMN_GAP = '  ';

/** One status line: phase, bar when known, elapsed and time left, in columns two spaces apart. */
export function formatProgressLine(event: ProgressEvent, locale: Locale): string {
  const parts = [describePhase(event.phase, locale)];
  if (event.position !== undefined) parts.push(t(locale, 'progress.position', { position: event.position }));
  if (event.held) {
    parts.push(t(locale, 'progress.held'));
    return parts.join(PROGRESS_COLUMN_GAP);
  }
  if (event.fraction !== undefined) {
    parts.push(`${progressBar(event.fraction)} ${percentOf(event.fraction)}%`);
  }
  const elapsed = formatClock(event.elapsedMs);
  parts.push(
    event.etaMs !== undefined && event.phase !== 'done'
      ? t(locale, 'progress.elapsedLeft', { elapsed, left: formatClock(event.etaMs) })
      : t(locale, 'progress.elapsed', { elapsed }),
  );
  return parts.join(PROGRESS_COLUMN_GAP);
}

/** Turns a job's status into a progress event; `elapsedMs` counts from `startedAtMs`. */
export function progressFromStatus(status: JobStatus, startedAtMs: number, nowMs: number): ProgressEvent {
  const { state } = status.job;
  const elapsedMs = nowMs - startedAtMs;
  const eta = status.etaMs === undefined ? {} : { etaMs: status.etaMs };
  switch (state.kind) {
    case 'waiting':
      return {
        phase: 'queued',
        elapsedMs,
        position: status.position,
        ...eta,
        ...(status.held ? { held: status.held } : {}),
      };
    case 'submitting':
      return { phase: 'submitting', elapsedMs, ...eta };
    case 'submitted':
      return {
        phase: state.remote === 'running' ? 'running' : 'pending',
        elapsedMs,
        taskId: state.taskId,
        fraction: status.fraction ?? 0,
        ...eta,
      };
    case 'fetching':
    case 'fetched':
      return { phase: 'fetching', elapsedMs, taskId: state.taskId };
    default:
      return { phase: 'done', elapsedMs };
  }
}

/** Shows progress on stderr: a live line on a terminal, plain lines otherwise. */
export class ProgressReporter {
  private last: ProgressEvent | undefined;
  private lastAtMs = 0;
  private lastPlainPhase: Phase | undefined;
  private lastPlainPosition: number | undefined;
  private lastPlainAtMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly locale: Locale,
    private readonly live: boolean = Boolean(stream.isTTY),
    /** In plain mode, repeat the line at most this often within one phase. */
    private readonly plainEveryMs = 10_000,
    /** Put before every line, e.g. the input's name when several run at once. */
    private readonly prefix = '',
  ) {}

  /** Takes a progress event from the runner. */
  update(event: ProgressEvent): void {
    this.last = event;
    this.lastAtMs = Date.now();
    if (this.live) {
      this.draw();
      this.timer ??= setInterval(() => this.draw(), 250);
      this.timer.unref();
      return;
    }
    const now = Date.now();
    const moved = event.phase !== this.lastPlainPhase || event.position !== this.lastPlainPosition;
    if (moved || now - this.lastPlainAtMs >= this.plainEveryMs) {
      this.lastPlainPhase = event.phase;
      this.lastPlainPosition = event.position;
      this.lastPlainAtMs = now;
      this.stream.write(`${this.prefix}${formatProgressLine(event, this.locale)}\n`);
    }
  }

  /** Ends the live line so later output starts on a fresh line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.live && this.last) {
      this.draw();
      this.stream.write('\n');
    }
    this.last = undefined;
  }

  private draw(): void {
    if (!this.last) return;
    // Keep the clock moving between events.
    const sinceMs = Date.now() - this.lastAtMs;
    const event: ProgressEvent = {
      ...this.last,
      elapsedMs: this.last.elapsedMs + sinceMs,
      ...(this.last.etaMs === undefined ? {} : { etaMs: Math.max(0, this.last.etaMs - sinceMs) }),
    };
    this.stream.write(`\r\x1b[K${formatProgressLine(event, this.locale)}`);
  }
}
