import { spawn } from 'node:child_process';
import { AbortedError } from '../../core/errors.ts';
import { fileUrl } from './safe-input.ts';

/** How a child process ended. */
export interface ProcessOutcome {
  /** Exit code, or `undefined` when a signal ended it. */
  readonly exitCode: number | undefined;
  /** The signal that ended it, e.g. `SIGSEGV` when it crashed. */
  readonly signal: NodeJS.Signals | undefined;
  readonly stdout: string;
  /** The last bytes of stderr (older output is dropped). */
  readonly stderr: string;
  readonly timedOut: boolean;
}

const STDERR_KEEP_BYTES = 64 * 1024;

/**
 * Runs a command without a shell; resolves when it exits (or was killed for `timeoutMs`), rejects with
 * an AbortedError when `signal` fires (after killing it) and with the spawn error when it cannot start.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: {
    env?: Readonly<Record<string, string>>;
    signal?: AbortSignal | undefined;
    timeoutMs?: number;
    maxStdoutBytes?: number;
  } = {},
): Promise<ProcessOutcome> {
  return new Promise((resolvePromise, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stdoutOverflow = false;
    let stderr = Buffer.alloc(0);
    let timedOut = false;
    let aborted = false;
    let settled = false;

    const kill = (): void => {
      // SIGKILL: ffmpeg traps SIGTERM to finish writing its output, which we no longer want.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, options.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => {
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };

    child.stdout.on('data', (chunk: Buffer) => {
      if (stdoutOverflow) return;
      stdoutBytes += chunk.length;
      if (options.maxStdoutBytes !== undefined && stdoutBytes > options.maxStdoutBytes) {
        stdoutOverflow = true;
        kill();
        return;
      }
      stdoutChunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > STDERR_KEEP_BYTES) stderr = stderr.subarray(stderr.length - STDERR_KEEP_BYTES);
    });
    child.on('error', (error) => {
      if (settled) return;
      finish();
      reject(error);
    });
    child.on('close', (code, killSignal) => {
      if (settled) return;
      finish();
      if (aborted) {
        reject(new AbortedError());
        return;
      }
      const stderrText = stderr.toString('utf8');
      resolvePromise({
        exitCode: code ?? undefined,
        signal: killSignal ?? undefined,
        stdout: Buffer.concat(stdoutChunks).toString('utf8'),
        stderr: stdoutOverflow
          ? `${stderrText}\noutput larger than ${options.maxStdoutBytes} bytes`
          : stderrText,
        timedOut,
      });
    });
  });
}

/** The last meaningful lines of ffmpeg/ffprobe stderr, without `[demuxer @ 0x…]` prefixes or the input path. */
export function stderrSummary(stderr: string, path?: string, maxLines = 3): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.replace(/^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/i, '').trim())
    .map((line) => {
      if (path === undefined) return line;
      const url = fileUrl(path);
      for (const prefix of [`${url}: `, `${path}: `]) {
        if (line.startsWith(prefix)) return line.slice(prefix.length);
      }
      return line;
    })
    .filter((line) => line !== '' && !line.startsWith('Last message repeated'));
  const unique = [...new Set(lines)];
  return unique.slice(-maxLines).join('; ').slice(0, 300);
}
