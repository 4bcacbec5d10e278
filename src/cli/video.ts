import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { HttpDownloader, TooLargeError } from '../adapters/http/download.ts';
import { loadConfig, loadDotEnv, secretsOf } from '../config.ts';
import { assertNever, RemoteError } from '../core/errors.ts';
import { isTerminal, type RestyleJob } from '../core/job.ts';
import { DEFAULT_LIMITS, FIXABLE_CODES, type LimitViolation } from '../core/limits.ts';
import type { RequestOutcome } from '../core/queue/service.ts';
import type { Locale, Style } from '../core/styles.ts';
import { createLogger, redact } from '../logger.ts';
import { describeFitChange, describeViolation, fitHint, formatBytes, formatClock, t } from '../text/index.ts';
import { CLI_REQUESTER, type CliIo, cliSinks, describeEnd, EXIT, exitCodeFor } from './common.ts';
import { ProgressReporter, progressFromStatus } from './progress.ts';
import { isUrl, parseVideoArgs, type VideoArgs } from './video-args.ts';

function inputName(input: string): string {
  return isUrl(input) ? basename(new URL(input).pathname) || 'video' : basename(input);
}

function outputName(input: string, style: Style): string {
  const name = inputName(input);
  const stem = name.slice(0, name.length - extname(name).length) || 'video';
  return `${stem}.${style.slug}.mp4`;
}

function violationJson(violation: LimitViolation, locale: Locale) {
  return {
    ...violation,
    fixable: FIXABLE_CODES.has(violation.code),
    message: describeViolation(violation, locale),
  };
}

/** One input's path through the command: its request outcome, then its job's end. */
interface Entry {
  readonly input: string;
  readonly name: string;
  outcome: RequestOutcome | { kind: 'download-failed'; message: string } | undefined;
  job: RestyleJob | undefined;
  /** A copy fetched from a URL, removed once its job ended. */
  downloaded?: string;
}

/** `restyle video`: checks every input, queues them, shows progress and writes the outputs. */
export async function videoCommand(args: readonly string[], io: CliIo): Promise<number> {
  const options = parseVideoArgs(args, io.env);
  const { locale } = options;
  loadDotEnv();
  const config = loadConfig(io.env);
  const secrets = secretsOf(config);
  // The command says every outcome in the user's language; log lines (English, for operators) only
  // when asked for with LOG_LEVEL.
  const level = io.env.LOG_LEVEL === undefined ? 'error' : config.LOG_LEVEL;
  const logger = createLogger({ level, secrets });
  const { createService } = await import('../wiring.ts');
  // Nobody waits at a terminal for a refused key to come back: with every key refused, jobs end.
  const wired = await createService(config, logger, cliSinks(io.env), { keysOut: 'fail' });
  const { service } = wired;
  const many = options.inputs.length > 1;
  const startedAtMs = Date.now();
  const entries: Entry[] = options.inputs.map((input) => ({
    input,
    name: inputName(input),
    outcome: undefined,
    job: undefined,
  }));
  let interrupted = false;
  const cancelQueued = () => {
    for (const entry of entries) {
      const job = jobOf(entry);
      if (job) void service.cancel(job.id, CLI_REQUESTER);
    }
  };
  const onInterrupt = () => {
    interrupted = true;
    cancelQueued();
  };
  io.interrupt.addEventListener('abort', onInterrupt, { once: true });
  try {
    await service.start(() => false);
    const outDir = resolve(options.outDir ?? '.');
    if (options.outDir) mkdirSync(outDir, { recursive: true });
    const inputsDir = join(config.RESTYLE_DATA_DIR, 'inputs');
    const reporters: ProgressReporter[] = [];
    const reporterOf = new Map<string, ProgressReporter>();
    // Positions move when other jobs leave the queue: one coalesced signal, then read on demand.
    const unsubscribe = service.onChange(() => {
      for (const [jobId, reporter] of reporterOf) {
        const status = service.status(jobId);
        if (status?.position !== undefined)
          reporter.update(progressFromStatus(status, startedAtMs, Date.now()));
      }
    });
    for (const entry of entries) {
      if (interrupted) break;
      let inputPath = resolve(entry.input);
      if (isUrl(entry.input)) {
        // Kept under the data folder, not a temp folder: `restyle resume` may need it after a crash.
        mkdirSync(inputsDir, { recursive: true });
        inputPath = resolve(inputsDir, `${randomUUID()}${extname(entry.name).slice(0, 6) || '.mp4'}`);
        entry.downloaded = inputPath;
        try {
          await new HttpDownloader().download(entry.input, inputPath, {
            maxBytes: options.fit ? 4 * DEFAULT_LIMITS.maxSizeBytes : DEFAULT_LIMITS.maxSizeBytes,
            signal: io.interrupt,
          });
        } catch (error) {
          if (error instanceof TooLargeError) {
            entry.outcome = {
              kind: 'rejected',
              unfixable: false,
              violations: [
                {
                  code: 'file-too-large',
                  sizeBytes: error.sizeBytes,
                  maxSizeBytes: DEFAULT_LIMITS.maxSizeBytes,
                },
              ],
            };
            continue;
          }
          if (error instanceof RemoteError) {
            entry.outcome = { kind: 'download-failed', message: redact(error.message, secrets) };
            continue;
          }
          throw error;
        }
      }
      const outPath = options.out
        ? resolve(options.out)
        : join(outDir, outputName(entry.input, options.style));
      const reporter = new ProgressReporter(
        io.stderr,
        locale,
        many ? false : undefined,
        10_000,
        many ? `${entry.name}: ` : '',
      );
      reporters.push(reporter);
      if (!many) reporter.update({ phase: 'probing', elapsedMs: Date.now() - startedAtMs });
      entry.outcome = await service.request(
        {
          requester: CLI_REQUESTER,
          delivery: { platform: 'cli', outPath, input: entry.name },
          inputPath,
          styleId: options.style.id,
          fps: options.fps,
          fit: options.fit,
        },
        (event) => {
          if ('status' in event) reporter.update(progressFromStatus(event.status, startedAtMs, Date.now()));
          else if (event.type === 'fetched')
            reporter.update({ phase: 'fetching', elapsedMs: Date.now() - startedAtMs });
        },
      );
      if (entry.outcome.kind === 'queued') reporterOf.set(entry.outcome.job.id, reporter);
      if (entry.outcome.kind !== 'queued' && entry.outcome.kind !== 'cached') reporter.stop();
    }
    // Ctrl-C may have come while an input was still being checked.
    if (interrupted) cancelQueued();
    await Promise.all(
      entries.map(async (entry) => {
        const job = jobOf(entry);
        if (job) entry.job = await service.settled(job.id);
      }),
    );
    unsubscribe();
    for (const reporter of reporters) reporter.stop();
    for (const entry of entries) {
      if (entry.downloaded && (!entry.job || isTerminal(entry.job.state)))
        await rm(entry.downloaded, { force: true });
    }
    return report(entries, options, io, interrupted, Date.now() - startedAtMs, secrets);
  } finally {
    io.interrupt.removeEventListener('abort', onInterrupt);
    await service.stop();
    await wired.close();
  }
}

/** The job an entry was queued (or answered from the cache) as. */
function jobOf(entry: Entry): RestyleJob | undefined {
  const { outcome } = entry;
  return outcome?.kind === 'queued' || outcome?.kind === 'cached' ? outcome.job : undefined;
}

/** Why the queue did not take an input, on one line. */
function refusedLine(outcome: Extract<RequestOutcome, { kind: 'refused' }>, locale: Locale): string {
  switch (outcome.reason) {
    case 'user-cap':
      return t(locale, 'cli.refused.userCap', { limit: outcome.limit });
    case 'queue-full':
      return t(locale, 'cli.refused.queueFull', { limit: outcome.limit });
    case 'stopped':
      return t(locale, 'cli.refused.stopped');
    default:
      return assertNever(outcome.reason);
  }
}

function report(
  entries: readonly Entry[],
  options: VideoArgs,
  io: CliIo,
  interrupted: boolean,
  elapsedMs: number,
  secrets: readonly string[],
): number {
  const { locale } = options;
  const say = (line: string) => io.stderr.write(`${line}\n`);
  const many = entries.length > 1;
  const codes: number[] = [];
  for (const entry of entries) {
    const prefix = many ? `${entry.name}: ` : '';
    const outcome = entry.outcome;
    if (!outcome) continue;
    if (outcome.kind === 'download-failed') {
      say(`${prefix}${outcome.message}`);
      codes.push(EXIT.rejected);
      if (options.json)
        io.stdout.write(
          `${JSON.stringify({ input: entry.input, ok: false, error: { message: outcome.message } })}\n`,
        );
      continue;
    }
    if (outcome.kind === 'rejected') {
      const fixable = !outcome.unfixable && !options.fit;
      say(`${prefix}${t(locale, 'cli.rejected')}`);
      for (const violation of outcome.violations) {
        say(t(locale, 'cli.item', { text: describeViolation(violation, locale) }));
      }
      say(fitHint(fixable, locale));
      if (options.json) {
        io.stdout.write(
          `${JSON.stringify({ input: entry.input, ok: false, violations: outcome.violations.map((v) => violationJson(v, locale)) })}\n`,
        );
      }
      codes.push(EXIT.rejected);
      continue;
    }
    if (outcome.kind === 'refused') {
      say(`${prefix}${refusedLine(outcome, locale)}`);
      codes.push(EXIT.failed);
      continue;
    }
    if (outcome.kind === 'duplicate') {
      // Given twice: the first entry's job is restyled once and reported there.
      const first = entries.find((other) => other !== entry && jobOf(other)?.id === outcome.job.id);
      say(`${prefix}${t(locale, 'cli.duplicate', { input: first?.name ?? outcome.job.id })}`);
      if (options.json)
        io.stdout.write(`${JSON.stringify({ input: entry.input, ok: true, sameAs: first?.input })}\n`);
      continue;
    }
    const job = entry.job ?? outcome.job;
    const end = describeEnd(job, locale, secrets);
    if (job.state.kind === 'delivered') {
      if (job.changes.length > 0) {
        say(`${prefix}${t(locale, 'cli.adjusted')}`);
        for (const change of job.changes)
          say(t(locale, 'cli.item', { text: describeFitChange(change, locale) }));
      }
      const outPath = String(job.delivery.outPath);
      const bytes = existsSync(outPath) ? statSync(outPath).size : 0;
      const done = { elapsed: formatClock(elapsedMs), path: outPath, size: formatBytes(bytes) };
      say(`${prefix}${t(locale, job.state.cached ? 'cli.done.cached' : 'cli.done', done)}`);
      io.stdout.write(
        options.json
          ? `${JSON.stringify({
              input: entry.input,
              ok: true,
              output: outPath,
              bytes,
              style: { id: options.style.id, slug: options.style.slug },
              fps: options.fps,
              taskId: job.state.taskId,
              cached: job.state.cached,
              elapsedMs,
              changes: job.changes.map((change) => ({
                ...change,
                message: describeFitChange(change, locale),
              })),
            })}\n`
          : `${outPath}\n`,
      );
    } else {
      for (const line of end) say(`${prefix}${line}`);
      if (options.json && job.state.kind === 'failed') {
        io.stdout.write(`${JSON.stringify({ input: entry.input, ok: false, error: job.state.failure })}\n`);
      }
    }
    codes.push(exitCodeFor(job));
  }
  if (interrupted) return EXIT.interrupted;
  if (codes.includes(EXIT.failed)) return EXIT.failed;
  if (codes.includes(EXIT.rejected)) return EXIT.rejected;
  return EXIT.ok;
}
