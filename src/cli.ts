import { localeFrom } from './bots/shared/messages.ts';
import { type CliIo, EXIT, UsageError } from './cli/common.ts';
import { discordCommand } from './cli/discord.ts';
import { jobsCommand, resumeCommand } from './cli/jobs.ts';
import { runCommand } from './cli/run.ts';
import { videoCommand } from './cli/video.ts';
import { ConfigError } from './config.ts';
import { type Locale, STYLES } from './core/styles.ts';
import { redact } from './logger.ts';

export { EXIT } from './cli/common.ts';

const USAGE = `restyle — turn videos into cartoons with DashScope's video-style-transform

Usage:
  restyle video <file-or-url>... --style <id|slug|alias> [--fps 15..25] [--out FILE | --out-dir DIR] [--fit] [--json]
  restyle jobs [--all] [--json]  list jobs from the store (state, position, ETA, task id)
  restyle resume                 finish the command line's unfinished jobs after a crash
  restyle styles                 list the styles
  restyle run                    run the chat bots (the service)
  restyle discord register [--guild ID]
                                 register the Discord commands (guild: instant, for development)
  restyle help

Options of "video":
  -s, --style   style id (0-7), slug or alias: ${STYLES.map((style) => style.slug).join(', ')}
      --fps     output frame rate, 15 to 25 (default 15)
  -o, --out     output file of a single input (default: <input>.<style>.mp4 in the current folder)
      --out-dir folder for the outputs of several inputs (default: the current folder)
      --fit     trim, scale, crop, re-encode or compress a clip that breaks a limit
      --json    print each result (or rejection) as one JSON line on stdout
      --lang    en or zh (default: from LANG)

Every input goes through the durable queue (STORE_URL): after a crash, "restyle resume" finishes
the jobs without submitting any of them twice.

Exit codes: 0 done, 2 input or arguments rejected (nothing was sent), 1 remote or other failure,
130 interrupted (a task still queued at DashScope is canceled).
Configuration comes from the environment or .env: DASHSCOPE_API_KEY (required), DASHSCOPE_BASE_URL,
DASHSCOPE_WORKSPACE, STORE_URL; see README.md.`;

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
      case 'jobs':
        return await jobsCommand(rest, io);
      case 'resume':
        return await resumeCommand(rest, io);
      case 'styles':
        return stylesCommand(io, localeFrom(io.env.LC_ALL || io.env.LANG));
      case 'discord':
        return await discordCommand(rest, io);
      case 'run':
        return await runCommand(io);
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
