import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { FakeDashScope } from '../fakes/dashscope/server.ts';

const BIN = resolve('bin/restyle.js');

/** The outcome of one `restyle` process. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly fake: FakeDashScope;
  readonly key: string;
  /** The working directory, where outputs land. */
  readonly cwd: string;
  readonly env?: Record<string, string>;
  readonly onSpawn?: (child: ReturnType<typeof spawn>) => void;
}

/** Runs `restyle` as a real process against a fake DashScope. */
export function runRestyle(args: readonly string[], options: CliOptions): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        DASHSCOPE_BASE_URL: options.fake.baseUrl,
        DASHSCOPE_API_KEY: options.key,
        // The fake is quick: estimate accordingly so polling is dense early.
        DASHSCOPE_SEC_PER_VIDEO_SEC: '0.1',
        DASHSCOPE_TASK_OVERHEAD_SEC: '0.5',
        LANG: 'en_US.UTF-8',
        ...options.env,
      },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    options.onSpawn?.(child);
  });
}
