// The service under test as a child process (`node bin/restyle.js run`, what `npm start` runs),
// killed with SIGKILL and started again on the same data dir and store.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** mulberry32: a small seedable PRNG, so a seed gives the same kill schedule and user choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Helpers over one random stream. */
export class Rng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = seededRandom(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next();
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/**
 * The service process, restartable; its output goes to one log file across restarts. `env` is
 * its whole environment (the caller filters what it takes from its own).
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> | undefined;
  private readonly log: WriteStream;
  starts = 0;

  constructor(
    private readonly env: Record<string, string>,
    logPath: string,
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts `restyle run`; resolves at once (readiness is the caller's to watch). */
  start(): number {
    if (this.child) throw new Error('the service is already running');
    this.starts += 1;
    const startedAt = Date.now();
    this.log.write(`\n===== start #${this.starts} at ${new Date(startedAt).toISOString()} =====\n`);
    const child = spawn(process.execPath, ['bin/restyle.js', 'run'], {
      cwd: process.cwd(),
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.child = child;
    this.exited = once(child, 'exit');
    return startedAt;
  }

  /** SIGKILL, as a crash or an OOM kill would; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.log.write(`===== SIGKILL at ${new Date().toISOString()} =====\n`);
    child.kill('SIGKILL');
    await this.exited;
    this.child = undefined;
  }

  /** SIGTERM, the clean stop; SIGKILL after `graceMs`. Resolves with the exit code. */
  async stop(graceMs = 20_000): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    this.log.write(`===== SIGTERM at ${new Date().toISOString()} =====\n`);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const [code] = (await this.exited) as [number | null];
    clearTimeout(timer);
    this.child = undefined;
    return code;
  }

  /** Whether the process ended on its own (a crash at start, a fatal error). */
  get died(): boolean {
    return this.child !== undefined && this.child.exitCode !== null;
  }

  async close(): Promise<void> {
    await this.kill();
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  /** Runs another `restyle` command with the same environment; resolves with its stdout. */
  async cli(args: readonly string[]): Promise<string> {
    const { stdout } = await execFileAsync(process.execPath, ['bin/restyle.js', ...args], {
      cwd: process.cwd(),
      env: this.env,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }
}
