import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { RedisLease } from './adapters/redis/lease.ts';
import { RedisUpdateClaims } from './adapters/redis/update-claims.ts';
import { DiscordBot } from './bots/discord/bot.ts';
import type { BotDeps } from './bots/shared/deps.ts';
import { TelegramBot } from './bots/telegram/bot.ts';
import type { AppConfig } from './config.ts';
import type { DeliverySink, Logger } from './core/ports.ts';
import type { RestyleService } from './core/queue/service.ts';
import { createService } from './wiring.ts';

// What the command line needs of the bots, so that it imports no bot module itself.
export { registerDiscordCommands } from './bots/discord/register.ts';
export { isUnauthorized as isTelegramUnauthorized } from './bots/telegram/api.ts';

/** The running service: the shared queue and the chat bots in front of it. */
export interface App {
  readonly service: RestyleService;
  readonly telegram: TelegramBot | undefined;
  readonly discord: DiscordBot | undefined;
  /** Stops the bots, then the queue (everything stays resumable), then closes the store. */
  stop(): Promise<void>;
}

/**
 * Starts the service: the queue resumes every unfinished job (their status messages go on), then
 * each configured bot starts taking updates. Rejects when a bot cannot start (e.g. a wrong token).
 */
export async function startApp(
  config: AppConfig,
  logger: Logger,
  options: { readonly role?: 'all' | 'chat' } = {},
): Promise<App> {
  const sinks = new Map<string, DeliverySink>();
  const wired = await createService(config, logger, sinks, { role: options.role ?? 'all' });
  const { service, deps } = wired;
  const botDeps: BotDeps = {
    service,
    store: wired.store,
    probe: wired.resultProbe,
    transcoder: deps.transcoder,
    downloader: deps.downloader,
    files: deps.files,
    tempPath: deps.tempPath,
    inputsDir: join(config.RESTYLE_DATA_DIR, 'inputs'),
    videoLimits: deps.limits,
    logger,
    fps: config.RESTYLE_FPS,
    maxWaitingPerUser: config.QUEUE_MAX_WAITING_PER_USER,
  };
  let telegram: TelegramBot | undefined;
  if (config.TELEGRAM_BOT_TOKEN) {
    telegram = new TelegramBot({
      token: config.TELEGRAM_BOT_TOKEN,
      apiRoot: config.TELEGRAM_API_ROOT,
      fileLimits: {
        kind: config.TELEGRAM_API_LIMITS,
        maxDownloadBytes: config.TELEGRAM_MAX_DOWNLOAD_BYTES,
        maxUploadBytes: config.TELEGRAM_MAX_UPLOAD_BYTES,
      },
      webhook: config.TELEGRAM_WEBHOOK_URL
        ? {
            url: config.TELEGRAM_WEBHOOK_URL,
            host: config.TELEGRAM_WEBHOOK_HOST,
            port: config.TELEGRAM_WEBHOOK_PORT,
            secretToken: config.TELEGRAM_WEBHOOK_SECRET,
          }
        : undefined,
      // Several instances behind one webhook URL: each update is claimed in Redis by one of them.
      updateClaims: config.REDIS_URL
        ? new RedisUpdateClaims({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX })
        : undefined,
      allowedChats: config.TELEGRAM_ALLOWED_CHATS,
      dailyQuota: config.TELEGRAM_DAILY_QUOTA,
      statusIntervalMs: config.TELEGRAM_STATUS_INTERVAL_MS,
      ...botDeps,
    });
    sinks.set('telegram', telegram.sink);
  }
  let discord: DiscordBot | undefined;
  if (config.DISCORD_TOKEN) {
    discord = new DiscordBot({
      token: config.DISCORD_TOKEN,
      apiRoot: config.DISCORD_API_ROOT,
      allowedGuilds: config.DISCORD_ALLOWED_GUILDS,
      dailyQuota: config.DISCORD_DAILY_QUOTA,
      statusIntervalMs: config.DISCORD_STATUS_INTERVAL_MS,
      maxUploadBytes: config.DISCORD_MAX_UPLOAD_BYTES,
      clipsDir: join(config.RESTYLE_DATA_DIR, 'clips'),
      ...botDeps,
    });
    sinks.set('discord', discord.sink);
  }
  // One gateway per bot token: with several instances on one Redis, the one holding this lease
  // serves Discord and the others stand by to take over.
  const gateway =
    discord && config.REDIS_URL && config.DISCORD_TOKEN
      ? new RedisLease({
          redisUrl: config.REDIS_URL,
          key: `${config.REDIS_PREFIX}:discord:gateway:${fingerprint(config.DISCORD_TOKEN)}`,
          logger,
        })
      : undefined;
  const standingBy = new AbortController();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    standingBy.abort();
    await Promise.all([telegram?.stop(), discord?.stop()]);
    await gateway?.release();
    await service.stop();
    await wired.close();
  };
  try {
    // Jobs of a platform not configured now stay in the store for when it is.
    await service.start((job) => sinks.has(job.delivery.platform));
    // Every stored job: unfinished ones are followed again, recently ended ones get their final status.
    const stored = await wired.store.list();
    await Promise.all([telegram?.resume(stored), discord?.resume(stored)]);
    await Promise.all([
      telegram?.launch(),
      discord && launchDiscord(discord, gateway, standingBy.signal, logger),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { service, telegram, discord, stop };
}

/**
 * Starts the Discord bot: at once when it runs alone; else its interrupted requests are finished
 * at once and it logs in once this instance holds the gateway lease — now if it is free, or later,
 * in the background, when the instance holding it stops.
 */
async function launchDiscord(
  discord: DiscordBot,
  gateway: RedisLease | undefined,
  standingBy: AbortSignal,
  logger: Logger,
): Promise<void> {
  if (!gateway) return discord.launch();
  await discord.resumeRequests();
  const lost = () => {
    logger.error('the Discord gateway lease went to another instance; Discord stops here');
    void discord.stop();
  };
  if (await gateway.tryAcquire(lost)) return discord.connect();
  logger.info('another instance serves Discord; standing by to take over');
  void gateway.acquire(standingBy, lost).then(async (held) => {
    if (!held || standingBy.aborted) return;
    logger.info('taking Discord over');
    await discord.connect().catch((error: unknown) => {
      logger.error('the Discord bot could not start', {
        error: error instanceof Error ? error.message : String(error),
      });
    });
  });
}

/** A short, stable name for a secret (never the secret itself). */
function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 12);
}
