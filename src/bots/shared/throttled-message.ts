import type { Logger } from '../../core/ports.ts';

/** How one chat message is changed on its platform. */
export interface MessageEditor<V> {
  /** Shows the view in the message; resolves once the platform accepted it. */
  apply(view: V): Promise<void>;
  /** How long the platform asked us to wait, when the error is a rate limit. */
  retryAfterMs(error: unknown): number | undefined;
  /** True when the message can no longer be edited (deleted, too old): editing stops. */
  isGone(error: unknown): boolean;
}

/** Options of a throttled message. */
export interface ThrottledMessageOptions<V> {
  /** Least time between two edits; a function is asked before every edit (e.g. to share a chat's budget). */
  readonly minIntervalMs: number | (() => number);
  /** Two views with the same key look the same: the second is never sent. */
  readonly key: (view: V) => string;
  /** A final view is the last one: later views are ignored once it is shown. */
  readonly isFinal: (view: V) => boolean;
  /** Extra wait from now before any edit, asked before each one (e.g. a chat's shared budget). */
  readonly holdMs?: () => number;
  readonly logger: Logger;
  /** Names the message in logs. */
  readonly label: string;
}

/**
 * A status message that follows a changing view without flooding the platform: edits happen only
 * when the view looks different, at most once per interval, always with the newest view, and wait
 * out rate limits (the newest view is sent once the wait is over). A final view is always shown.
 */
export class ThrottledMessage<V> {
  private shownKey: string | undefined;
  private pending: V | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private lastEditAtMs = Number.NEGATIVE_INFINITY;
  private blockedUntilMs = 0;
  private finished = false;
  private closed = false;
  private retriedFinal = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly editor: MessageEditor<V>,
    private readonly options: ThrottledMessageOptions<V>,
    /** What the message shows already, if anything. */
    initial?: V,
  ) {
    if (initial !== undefined) {
      this.shownKey = options.key(initial);
      this.lastEditAtMs = Date.now();
    }
  }

  /** True once a final view was shown, or the message is gone. */
  get done(): boolean {
    return this.finished;
  }

  /** Asks for the message to show `view`; returns at once. */
  show(view: V): void {
    if (this.finished || this.closed) return;
    const key = this.options.key(view);
    if (this.pending !== undefined && this.options.isFinal(this.pending)) return;
    if (this.pending === undefined && key === this.shownKey && !this.inFlight) return;
    this.pending = view;
    this.schedule();
  }

  /** Resolves once nothing is waiting to be sent. */
  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops sending; a view not yet sent is dropped. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    if (!this.inFlight) this.release();
  }

  private busy(): boolean {
    return this.pending !== undefined || this.timer !== undefined || this.inFlight !== undefined;
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private schedule(): void {
    if (this.timer || this.inFlight || this.closed) return;
    const now = Date.now();
    const { minIntervalMs } = this.options;
    const intervalMs = typeof minIntervalMs === 'function' ? minIntervalMs() : minIntervalMs;
    const delayMs = Math.max(
      0,
      this.lastEditAtMs + intervalMs - now,
      this.blockedUntilMs - now,
      this.options.holdMs?.() ?? 0,
    );
    this.timer = setTimeout(() => this.flush(), delayMs);
  }

  private flush(): void {
    this.timer = undefined;
    const view = this.pending;
    this.pending = undefined;
    if (view === undefined || this.closed) {
      this.release();
      return;
    }
    if ((this.options.holdMs?.() ?? 0) > 0) {
      // The budget was used up while we waited: wait again, still with the newest view.
      this.pending ??= view;
      this.schedule();
      return;
    }
    const key = this.options.key(view);
    if (key === this.shownKey) {
      if (this.options.isFinal(view)) this.finished = true;
      this.release();
      return;
    }
    this.inFlight = this.editor
      .apply(view)
      .then(
        () => {
          this.shownKey = key;
          this.lastEditAtMs = Date.now();
          if (this.options.isFinal(view)) this.finished = true;
        },
        (error: unknown) => {
          const waitMs = this.editor.retryAfterMs(error);
          if (waitMs !== undefined) {
            this.blockedUntilMs = Date.now() + waitMs;
            // Keep the newest view: a later show() may already have replaced this one.
            this.pending ??= view;
            return;
          }
          this.lastEditAtMs = Date.now();
          if (this.editor.isGone(error)) {
            this.finished = true;
            this.pending = undefined;
            return;
          }
          this.options.logger.warn('could not update a status message', {
            message: this.options.label,
            error: error instanceof Error ? error.message : String(error),
          });
          // A final view must still reach the user: try it once more after the interval.
          if (this.options.isFinal(view) && !this.retriedFinal) {
            this.retriedFinal = true;
            this.pending ??= view;
          }
        },
      )
      .finally(() => {
        this.inFlight = undefined;
        if (this.pending !== undefined && !this.finished && !this.closed) this.schedule();
        else this.release();
      });
  }
}
