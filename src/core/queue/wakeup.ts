import { AbortedError } from '../errors.ts';

/** Lets loops sleep until something they wait for may have happened. */
export class Wakeup {
  private readonly sleepers = new Set<() => void>();

  /** Wakes every sleeper; each checks its condition again. */
  poke(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** Resolves once `condition` holds, checked now and after each poke; rejects when `signal` aborts. */
  async until(condition: () => boolean, signal: AbortSignal): Promise<void> {
    while (!condition()) {
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) {
          reject(new AbortedError());
          return;
        }
        const wake = () => {
          this.sleepers.delete(wake);
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.sleepers.delete(wake);
          reject(new AbortedError());
        };
        this.sleepers.add(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
