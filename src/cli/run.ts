import { type AppConfig, loadConfig, loadDotEnv, secretsOf } from '../config.ts';
import type { Logger } from '../core/ports.ts';
import { createLogger } from '../logger.ts';
import { t } from '../text/index.ts';
import { type CliIo, EXIT, terminalLocale, UsageError } from './common.ts';

/** What `restyle run` runs: everything, only the chat side, or only the DashScope workers. */
type Role = 'all' | 'chat' | 'worker';
const ROLES: readonly Role[] = ['all', 'chat', 'worker'];

/**
 * `restyle run [--role all|chat|worker]` (`npm start`): serves until SIGINT/SIGTERM, then stops
 * taking updates and leaves every unfinished job resumable for the next start. With `REDIS_URL`,
 * `chat` runs the bots and queue without workers and `worker` runs only the shared lanes' workers.
 */
export async function runCommand(args: readonly string[], io: CliIo): Promise<number> {
  loadDotEnv();
  const locale = terminalLocale(io.env);
  const role = roleOf(args, locale);
  if (role !== 'worker' && !io.env.TELEGRAM_BOT_TOKEN && !io.env.DISCORD_TOKEN) {
    io.stderr.write(`${t(locale, 'cli.run.noBot')}\n`);
    return EXIT.failed;
  }
  const config = loadConfig(io.env);
  if (role !== 'all' && !config.REDIS_URL)
    throw new UsageError(t(locale, 'cli.run.roleNeedsRedis', { role }));
  const logger = createLogger({ level: config.LOG_LEVEL, secrets: secretsOf(config) });
  const stop =
    role === 'worker' ? await startWorker(config, logger) : await startService(config, logger, role);
  if (!stop) return EXIT.failed;
  await new Promise<void>((resolve) => {
    if (io.interrupt.aborted) resolve();
    io.interrupt.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info('stopping: unfinished jobs stay queued for the next start');
  await stop();
  return EXIT.ok;
}

/** `--role ROLE` or `--role=ROLE`; `all` when absent. */
function roleOf(args: readonly string[], locale: ReturnType<typeof terminalLocale>): Role {
  let role = 'all';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--role') role = args[++i] ?? '';
    else if (arg.startsWith('--role=')) role = arg.slice('--role='.length);
    else throw new UsageError(t(locale, 'cli.run.unknownOption', { option: arg }));
  }
  if (!ROLES.includes(role as Role)) throw new UsageError(t(locale, 'cli.run.badRole', { role }));
  return role as Role;
}

/** The bots and the queue (with this process's lane workers unless `chat`); `undefined` when it could not start. */
async function startService(config: AppConfig, logger: Logger, role: 'all' | 'chat') {
  // The bots come in through the composition root only: the command line imports no bot itself.
  const { startApp, isTelegramUnauthorized } = await import('../app.ts');
  try {
    const app = await startApp(config, logger, { role });
    logger.info('restyle service running; Ctrl-C or SIGTERM stops it', { role });
    return () => app.stop();
  } catch (error) {
    if (isTelegramUnauthorized(error)) {
      logger.error('Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): check the token from @BotFather');
    } else {
      logger.error('the service could not start', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return undefined;
  }
}

/** Only the workers of the shared lanes, for every key of the pool. */
async function startWorker(config: AppConfig, logger: Logger) {
  const { keyPool } = await import('../adapters/dashscope/key-pool.ts');
  const { startLaneWorkers } = await import('../wiring.ts');
  const pool = keyPool(config.DASHSCOPE_KEYS, {
    baseUrl: config.DASHSCOPE_BASE_URL,
    workspace: config.DASHSCOPE_WORKSPACE,
    logger,
  });
  let workers: Awaited<ReturnType<typeof startLaneWorkers>>;
  try {
    workers = await startLaneWorkers(config, pool, logger);
  } catch (error) {
    logger.error('the worker could not start', {
      error: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
  logger.info('restyle worker running on the shared lanes; Ctrl-C or SIGTERM stops it', {
    keys: pool.length,
  });
  return () => workers.stop();
}
