import { type CliIo, EXIT, terminalLocale, UsageError } from './cli/common.ts';
import { ConfigError } from './config.ts';
import { type Locale, STYLES } from './core/styles.ts';
import { redact } from './logger.ts';
import { t } from './text/index.ts';

export { EXIT } from './cli/common.ts';

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
  const locale = terminalLocale(io.env);
  try {
    // Each command loads its own modules when it runs: a quicker start for the light ones.
    switch (command) {
      case 'video':
        return await (await import('./cli/video.ts')).videoCommand(rest, io);
      case 'jobs':
        return await (await import('./cli/jobs.ts')).jobsCommand(rest, io);
      case 'resume':
        return await (await import('./cli/jobs.ts')).resumeCommand(rest, io);
      case 'styles':
        return stylesCommand(io, locale);
      case 'discord':
        return await (await import('./cli/discord.ts')).discordCommand(rest, io);
      case 'run':
        return await (await import('./cli/run.ts')).runCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(
          `${t(locale, 'cli.help', { slugs: STYLES.map((style) => style.slug).join(', ') })}\n`,
        );
        return command === undefined ? EXIT.rejected : EXIT.ok;
      default:
        throw new UsageError(t(locale, 'cli.unknownCommand', { command }));
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      const said = error instanceof UsageError ? (error.locale ?? locale) : locale;
      io.stderr.write(`${t(said, 'cli.seeHelp', { problem: error.message })}\n`);
      return EXIT.rejected;
    }
    const detail = redact(String(error instanceof Error ? error.stack : error));
    io.stderr.write(`${t(locale, 'cli.unexpected', { error: detail })}\n`);
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
