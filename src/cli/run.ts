import { loadConfig, loadDotEnv, secretsOf } from '../config.ts';
import { createLogger } from '../logger.ts';
import { t } from '../text/index.ts';
import { type CliIo, EXIT, terminalLocale } from './common.ts';

/**
 * `restyle run` (`npm start`): serves the chat bots until SIGINT/SIGTERM, then stops taking
 * updates and leaves every unfinished job resumable for the next start.
 */
export async function runCommand(io: CliIo): Promise<number> {
  loadDotEnv();
  if (!io.env.TELEGRAM_BOT_TOKEN && !io.env.DISCORD_TOKEN) {
    io.stderr.write(`${t(terminalLocale(io.env), 'cli.run.noBot')}\n`);
    return EXIT.failed;
  }
  const config = loadConfig(io.env);
  const secrets = secretsOf(config);
  const logger = createLogger({ level: config.LOG_LEVEL, secrets });
  // The bots come in through the composition root only: the command line imports no bot itself.
  const { startApp, isTelegramUnauthorized } = await import('../app.ts');
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp(config, logger);
  } catch (error) {
    if (isTelegramUnauthorized(error)) {
      logger.error('Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): check the token from @BotFather');
    } else {
      logger.error('the service could not start', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return EXIT.failed;
  }
  logger.info('restyle service running; Ctrl-C or SIGTERM stops it');
  await new Promise<void>((resolve) => {
    if (io.interrupt.aborted) resolve();
    io.interrupt.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info('stopping: unfinished jobs stay queued for the next start');
  await app.stop();
  return EXIT.ok;
}
