import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HttpDownloader, TooLargeError } from './adapters/http/download.ts';
import {
  describeFitChange,
  describeRemoteError,
  describeViolation,
  fitHint,
  formatBytes,
  formatClock,
  localeFrom,
} from './bots/shared/messages.ts';
import { ProgressReporter } from './cli/progress.ts';
import { ConfigError, loadConfig, loadDotEnv } from './config.ts';
import { isAbort, RemoteError } from './core/errors.ts';
import { FIXABLE_CODES, type LimitViolation } from './core/limits.ts';
import { RestyleAbortedError, restyleFile } from './core/runner.ts';
import { type Locale, parseStyle, STYLES, type Style } from './core/styles.ts';
import { createLogger, redact } from './logger.ts';
import { createRunnerDeps } from './wiring.ts';

/** Exit codes of the `restyle` command. */
export const EXIT = {
  ok: 0,
  /** A remote or other failure. */
  failed: 1,
  /** Input or arguments rejected before any remote call. */
  rejected: 2,
  /** Interrupted with Ctrl-C. */
  interrupted: 130,
} as const;

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
  /** Fires on Ctrl-C / SIGTERM. */
  readonly interrupt: AbortSignal;
}

const USAGE = `restyle — turn videos into cartoons with DashScope's video-style-transform

Usage:
  restyle video <file-or-url> --style <id|slug|alias> [--fps 15..25] [--out FILE] [--fit] [--json]
  restyle styles                 list the styles
  restyle run                    run the chat bots (the service)
  restyle help

Options of "video":
  -s, --style   style id (0-7), slug or alias: ${STYLES.map((style) => style.slug).join(', ')}
      --fps     output frame rate, 15 to 25 (default 15)
  -o, --out     output file (default: <input>.<style>.mp4 in the current folder)
      --fit     trim, scale, crop, re-encode or compress a clip that breaks a limit
      --json    print the result (or the rejection) as JSON on stdout
      --lang    en or zh (default: from LANG)

Exit codes: 0 done, 2 input or arguments rejected (nothing was sent), 1 remote or other failure,
130 interrupted (a task still queued at DashScope is canceled).
Configuration comes from the environment or .env: DASHSCOPE_API_KEY (required), DASHSCOPE_BASE_URL,
DASHSCOPE_WORKSPACE; see README.md.`;

class UsageError extends Error {}

function defaultIo(): CliIo {
  const controller = new AbortController();
  let interrupted = 0;
  const onSignal = () => {
    interrupted += 1;
    // A second Ctrl-C while cleaning up leaves at once.
    if (interrupted > 1) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, interrupt: controller.signal };
}

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'video':
        return await videoCommand(rest, io);
      case 'styles':
        return stylesCommand(io, localeFrom(io.env.LC_ALL || io.env.LANG));
      case 'run':
        return runCommand(io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(`${USAGE}\n`);
        return command === undefined ? EXIT.rejected : EXIT.ok;
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr.write(`${error.message}\n\nRun "restyle help" for usage.\n`);
      return EXIT.rejected;
    }
    io.stderr.write(`Unexpected error: ${redact(String(error instanceof Error ? error.stack : error))}\n`);
    return EXIT.failed;
  }
}

function stylesCommand(io: CliIo, locale: Locale): number {
  for (const style of STYLES) {
    io.stdout.write(
      `${style.id}  ${style.slug.padEnd(20)} ${style.names[locale]}  (${style.aliases.join(', ')})\n`,
    );
  }
  return EXIT.ok;
}

function runCommand(io: CliIo): number {
  io.stderr.write(
    'restyle run serves the chat bots, and no chat platform is available in this version yet:\n' +
      '  the Telegram bot (TELEGRAM_BOT_TOKEN) and the Discord bot (DISCORD_TOKEN) are still to come.\n' +
      'Use "restyle video <file> --style <style>" to restyle a file meanwhile.\n',
  );
  return EXIT.failed;
}

interface VideoArgs {
  readonly input: string;
  readonly style: Style;
  readonly fps: number;
  readonly out: string | undefined;
  readonly fit: boolean;
  readonly json: boolean;
  readonly locale: Locale;
}

function parseVideoArgs(args: readonly string[], env: NodeJS.ProcessEnv): VideoArgs {
  let parsed: ReturnType<
    typeof parseArgs<{
      options: {
        style: { type: 'string'; short: 's' };
        fps: { type: 'string' };
        out: { type: 'string'; short: 'o' };
        fit: { type: 'boolean' };
        json: { type: 'boolean' };
        lang: { type: 'string' };
      };
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        style: { type: 'string', short: 's' },
        fps: { type: 'string' },
        out: { type: 'string', short: 'o' },
        fit: { type: 'boolean' },
        json: { type: 'boolean' },
        lang: { type: 'string' },
      },
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const problems: string[] = [];
  if (positionals.length !== 1) problems.push('Give exactly one video file or https URL.');
  let style: Style | undefined;
  if (values.style === undefined) {
    problems.push(`--style is required: one of ${STYLES.map((s) => `${s.id} ${s.slug}`).join(', ')}.`);
  } else {
    style = parseStyle(values.style);
    if (!style) {
      problems.push(
        `Unknown style "${values.style}". Styles: ${STYLES.map((s) => `${s.id} ${s.slug}`).join(', ')} (aliases such as 3d, manga, ink also work).`,
      );
    }
  }
  const fps = values.fps === undefined ? 15 : Number(values.fps);
  if (!Number.isInteger(fps) || fps < 15 || fps > 25) {
    problems.push(`--fps must be a whole number from 15 to 25 (got "${values.fps}").`);
  }
  if (values.lang !== undefined && !['en', 'zh'].includes(values.lang)) {
    problems.push(`--lang must be en or zh (got "${values.lang}").`);
  }
  if (problems.length > 0 || !style) throw new UsageError(problems.join('\n'));
  return {
    input: positionals[0]!,
    style,
    fps,
    out: values.out,
    fit: values.fit ?? false,
    json: values.json ?? false,
    locale: localeFrom(values.lang ?? env.LC_ALL ?? env.LC_MESSAGES ?? env.LANG),
  };
}

function isUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

function defaultOutput(input: string, style: Style): string {
  const name = isUrl(input) ? basename(new URL(input).pathname) || 'video' : basename(input);
  const stem = name.slice(0, name.length - extname(name).length) || 'video';
  return resolve(`${stem}.${style.slug}.mp4`);
}

function violationJson(violation: LimitViolation, locale: Locale) {
  return {
    ...violation,
    fixable: FIXABLE_CODES.has(violation.code),
    message: describeViolation(violation, locale),
  };
}

async function videoCommand(args: readonly string[], io: CliIo): Promise<number> {
  const options = parseVideoArgs(args, io.env);
  const { locale } = options;
  const say = (line: string) => io.stderr.write(`${line}\n`);
  const reject = (violations: readonly LimitViolation[], unfixable: boolean) => {
    const fixable = !unfixable && violations.every((violation) => FIXABLE_CODES.has(violation.code));
    say(locale === 'zh' ? '视频不符合要求，未发送任何请求：' : 'The video was not sent, because:');
    for (const violation of violations) say(`  - ${describeViolation(violation, locale)}`);
    say(fitHint(fixable && !options.fit, locale));
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({ ok: false, violations: violations.map((v) => violationJson(v, locale)) })}\n`,
      );
    }
    return EXIT.rejected;
  };

  if (!isUrl(options.input)) {
    if (!existsSync(options.input) || !statSync(options.input).isFile()) {
      throw new UsageError(`No such file: ${options.input}`);
    }
  }
  loadDotEnv();
  const config = loadConfig(io.env);
  const secrets = [config.DASHSCOPE_API_KEY];
  const logger = createLogger({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, secrets });
  const workDir = join(config.RESTYLE_WORK_DIR, randomUUID());
  await mkdir(workDir, { recursive: true });
  const progress = new ProgressReporter(io.stderr, locale);
  try {
    const deps = createRunnerDeps(config, logger, workDir);
    let inputPath = options.input;
    if (isUrl(options.input)) {
      const maxBytes = options.fit ? 4 * deps.limits.maxSizeBytes : deps.limits.maxSizeBytes;
      inputPath = join(workDir, `input${extname(new URL(options.input).pathname).slice(0, 6) || '.mp4'}`);
      try {
        await new HttpDownloader().download(options.input, inputPath, { maxBytes, signal: io.interrupt });
      } catch (error) {
        if (error instanceof TooLargeError) {
          return reject(
            [{ code: 'file-too-large', sizeBytes: error.sizeBytes, maxSizeBytes: deps.limits.maxSizeBytes }],
            false,
          );
        }
        if (error instanceof RemoteError) {
          say(redact(error.message, secrets));
          return EXIT.rejected;
        }
        throw error;
      }
    }
    const outputPath = options.out ? resolve(options.out) : defaultOutput(options.input, options.style);
    const outcome = await restyleFile(
      deps,
      { path: inputPath, style: options.style, fps: options.fps, fit: options.fit, outputPath },
      {
        signal: io.interrupt,
        onProgress: (event) => progress.update(event),
      },
    );
    progress.stop();
    if (outcome.kind === 'rejected') return reject(outcome.violations, outcome.unfixable ?? false);
    if (outcome.changes.length > 0) {
      say(locale === 'zh' ? '已调整视频以符合要求：' : 'The clip was adjusted to fit the limits:');
      for (const change of outcome.changes) say(`  - ${describeFitChange(change, locale)}`);
    }
    say(
      locale === 'zh'
        ? `完成，用时 ${formatClock(outcome.elapsedMs)}：${outcome.outputPath}（${formatBytes(outcome.bytes)}，${options.style.names.zh}）`
        : `Done in ${formatClock(outcome.elapsedMs)}: ${outcome.outputPath} (${formatBytes(outcome.bytes)}, ${options.style.names.en})`,
    );
    io.stdout.write(
      options.json
        ? `${JSON.stringify({
            ok: true,
            output: outcome.outputPath,
            bytes: outcome.bytes,
            style: { id: options.style.id, slug: options.style.slug },
            fps: options.fps,
            taskId: outcome.taskId,
            requestId: outcome.requestId,
            billedSec: outcome.billedSec,
            elapsedMs: outcome.elapsedMs,
            changes: outcome.changes.map((change) => ({
              ...change,
              message: describeFitChange(change, locale),
            })),
          })}\n`
        : `${outcome.outputPath}\n`,
    );
    return EXIT.ok;
  } catch (error) {
    progress.stop();
    if (error instanceof RestyleAbortedError || isAbort(error)) {
      const remote = error instanceof RestyleAbortedError ? error.remote : 'none';
      const taskId = error instanceof RestyleAbortedError ? error.taskId : undefined;
      say(
        remote === 'canceled'
          ? `Interrupted; the queued task ${taskId} was canceled at DashScope.`
          : remote === 'running'
            ? `Interrupted; task ${taskId} was already running at DashScope and cannot be canceled there.`
            : 'Interrupted; nothing is left running at DashScope.',
      );
      return EXIT.interrupted;
    }
    if (error instanceof RemoteError) {
      say(redact(`${locale === 'zh' ? '失败' : 'Failed'}: ${describeRemoteError(error, locale)}`, secrets));
      const trace = [
        `code ${error.code}`,
        error.status === undefined ? undefined : `HTTP ${error.status}`,
        error.requestId === undefined ? undefined : `request id ${error.requestId}`,
        error.taskId === undefined ? undefined : `task ${error.taskId}`,
      ].filter(Boolean);
      say(`  (${trace.join(', ')})`);
      if (options.json) {
        io.stdout.write(
          `${JSON.stringify({ ok: false, error: { kind: error.kind, code: error.code, status: error.status, requestId: error.requestId, taskId: error.taskId, message: redact(error.message, secrets) } })}\n`,
        );
      }
      return EXIT.failed;
    }
    throw error;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
