import { isAbort } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';

/** Work a bot starts after answering an update; failures are logged, and shutdown can wait for it. */
export class BackgroundWork {
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly logger: Logger,
    /** Names the work in logs, e.g. `telegram`. */
    private readonly label: string,
    private readonly describe: (error: unknown) => string = String,
  ) {}

  /** Starts `work` without waiting for it. */
  spawn(work: () => Promise<unknown>): void {
    const promise = work()
      .catch((error: unknown) => {
        if (!isAbort(error))
          this.logger.error(`${this.label} background work failed`, { error: this.describe(error) });
      })
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }

  /** Resolves once everything started so far has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
