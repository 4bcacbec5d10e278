import { parseArgs } from 'node:util';
import { type AppConfig, loadConfig, loadDotEnv, secretsOf } from '../config.ts';
import { isTerminal, type RestyleJob } from '../core/job.ts';
import { estimateStored } from '../core/queue/estimator.ts';
import { loadSpeed, SpeedModel } from '../core/speed.ts';
import { styleById } from '../core/styles.ts';
import { createLogger } from '../logger.ts';
import { displayWidth, formatClock, padDisplay, t } from '../text/index.ts';
import {
  type CliIo,
  cliSinks,
  describeEnd,
  EXIT,
  exitCodeFor,
  terminalLocale,
  UsageError,
} from './common.ts';
import { ProgressReporter, progressFromStatus } from './progress.ts';

function speedFor(config: AppConfig): SpeedModel {
  return new SpeedModel({
    secPerVideoSec: config.DASHSCOPE_SEC_PER_VIDEO_SEC,
    overheadSec: config.DASHSCOPE_TASK_OVERHEAD_SEC,
  });
}

/** A row of `restyle jobs`. */
export interface JobRow {
  readonly id: string;
  readonly state: string;
  readonly position: number | undefined;
  readonly etaMs: number | undefined;
  readonly taskId: string | undefined;
  readonly input: string;
  readonly style: string;
  readonly requester: string;
  readonly updatedAt: string;
}

/** Rows for every stored job, oldest first; positions and ETAs as the queue would serve them. */
export function jobRows(jobs: readonly RestyleJob[], speed: SpeedModel, nowMs = Date.now()): JobRow[] {
  const estimates = estimateStored(jobs, speed, nowMs);
  return [...jobs]
    .sort((a, b) => a.seq - b.seq)
    .map((job) => {
      const state = job.state;
      const taskId =
        'taskId' in state ? state.taskId : state.kind === 'failed' ? state.failure.taskId : undefined;
      return {
        id: job.id,
        state: state.kind === 'submitted' ? `submitted (${state.remote})` : state.kind,
        position: estimates.get(job.id)?.position,
        etaMs: estimates.get(job.id)?.etaMs,
        taskId,
        input: String(job.delivery.input ?? job.inputPath),
        style: styleById(job.styleId)?.slug ?? String(job.styleId),
        requester: job.requester.key,
        updatedAt: new Date(job.updatedAtMs).toISOString(),
      };
    });
}

const COLUMNS = ['job', 'state', 'position', 'eta', 'task', 'style', 'input'] as const;

/** `restyle jobs`: lists stored jobs with state, position, ETA and task id. */
export async function jobsCommand(args: readonly string[], io: CliIo): Promise<number> {
  let json = false;
  let all = false;
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { json: { type: 'boolean' }, all: { type: 'boolean' } },
    });
    json = values.json ?? false;
    all = values.all ?? false;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  loadDotEnv();
  const config = loadConfig(io.env);
  const { createJobStore } = await import('../adapters/store/create-store.ts');
  const store = await createJobStore(config.STORE_URL);
  try {
    const speed = speedFor(config);
    await loadSpeed(store, speed);
    const rows = jobRows(await store.list(), speed).filter(
      (row) => all || !['delivered', 'canceled', 'rejected'].includes(row.state),
    );
    if (json) {
      io.stdout.write(`${JSON.stringify(rows)}\n`);
      return EXIT.ok;
    }
    const locale = terminalLocale(io.env);
    if (rows.length === 0) {
      io.stdout.write(`${t(locale, all ? 'cli.jobs.none' : 'cli.jobs.noneUnfinished')}\n`);
      return EXIT.ok;
    }
    const table = rows.map((row) => [
      row.id.slice(0, 8),
      row.state,
      row.position === undefined ? '' : `#${row.position}`,
      row.etaMs === undefined ? '' : `~${formatClock(row.etaMs)}`,
      row.taskId ?? '',
      row.style,
      row.input,
    ]);
    const header = COLUMNS.map((column) => t(locale, `cli.jobs.column.${column}`));
    const widths = header.map((title, column) =>
      Math.max(displayWidth(title), ...table.map((cells) => displayWidth(cells[column]!))),
    );
    for (const cells of [header, ...table]) {
      io.stdout.write(
        `${cells
          .map((cell, column) => padDisplay(cell, widths[column]!))
          .join('  ')
          .trimEnd()}\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

/** `restyle resume`: finishes the command line's unfinished jobs after a crash. */
export async function resumeCommand(args: readonly string[], io: CliIo): Promise<number> {
  const locale = terminalLocale(io.env);
  if (args.length > 0) throw new UsageError(t(locale, 'cli.resume.noArguments', { args: args.join(' ') }));
  loadDotEnv();
  const config = loadConfig(io.env);
  const secrets = secretsOf(config);
  const logger = createLogger({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, secrets });
  const { createService } = await import('../wiring.ts');
  const wired = await createService(config, logger, cliSinks(io.env));
  const { service } = wired;
  const startedAtMs = Date.now();
  const onInterrupt = () => void service.stop();
  io.interrupt.addEventListener('abort', onInterrupt, { once: true });
  try {
    const reporters = new Map<string, ProgressReporter>();
    const resumed = await service.start((job) => job.delivery.platform === 'cli' && !isTerminal(job.state));
    if (resumed.length === 0) {
      io.stderr.write(`${t(locale, 'cli.resume.nothing')}\n`);
      return EXIT.ok;
    }
    const count = resumed.length;
    io.stderr.write(`${t(locale, count === 1 ? 'cli.resume.one' : 'cli.resume.many', { count })}\n`);
    for (const job of resumed) {
      const reporter = new ProgressReporter(
        io.stderr,
        locale,
        false,
        10_000,
        `${String(job.delivery.input ?? job.id)}: `,
      );
      reporters.set(job.id, reporter);
      const status = service.status(job.id);
      if (status) reporter.update(progressFromStatus(status, startedAtMs, Date.now()));
      service.observe(job.id, (event) => {
        if ('status' in event) reporter.update(progressFromStatus(event.status, startedAtMs, Date.now()));
      });
    }
    const finished = await Promise.race([
      Promise.all(resumed.map((job) => service.settled(job.id))),
      new Promise<undefined>((resolve) => io.interrupt.addEventListener('abort', () => resolve(undefined))),
    ]);
    if (!finished) {
      io.stderr.write(`${t(locale, 'cli.resume.stopped')}\n`);
      return EXIT.interrupted;
    }
    let code: number = EXIT.ok;
    for (const job of finished) {
      const prefix = `${String(job.delivery.input ?? job.id)}: `;
      if (job.state.kind === 'delivered') io.stdout.write(`${String(job.delivery.outPath)}\n`);
      else for (const line of describeEnd(job, locale, secrets)) io.stderr.write(`${prefix}${line}\n`);
      code = Math.max(code, exitCodeFor(job) === EXIT.ok ? EXIT.ok : EXIT.failed);
    }
    return code;
  } finally {
    io.interrupt.removeEventListener('abort', onInterrupt);
    await service.stop();
    await wired.close();
  }
}
