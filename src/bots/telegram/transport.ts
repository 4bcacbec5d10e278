import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Telegraf, Telegram } from 'telegraf';
import { z } from 'zod';
import type { JobStore, Logger } from '../../core/ports.ts';
import { defineScope, openScope } from '../../core/records.ts';
import { DEFAULT_API_RETRY, describeApiError, retryingCalls } from './api.ts';
import { GroupBudget } from './group-budget.ts';

/** Webhook mode: Telegram posts updates to `url`, served on `host:port`. */
export interface TelegramWebhook {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly secretToken?: string | undefined;
}

/** How the bot reaches the Bot API. */
export interface TelegramTransportOptions {
  readonly token: string;
  readonly apiRoot: string;
  readonly webhook?: TelegramWebhook | undefined;
  /** Retry settings of Bot API calls (tests shorten them). */
  readonly retry?: Partial<typeof DEFAULT_API_RETRY>;
  readonly store: JobStore;
  readonly logger: Logger;
}

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;
/** Bot API methods that count against a chat's message limits. */
const COUNTED_METHODS = /^(send(?!ChatAction)|edit|copyMessage|forwardMessage)/;

/** Updates handled, by `<bot id>:<update id>`; Telegram keeps unconfirmed updates for 24 hours. */
const HANDLED_UPDATES = defineScope({
  name: 'telegram.update',
  schema: z.literal(true),
  ttlMs: 24 * 3_600_000,
});

/**
 * The bot's connection to the Bot API: a client whose calls wait out 429s and retry transient
 * failures, a second one for status edits (whose throttle drops stale views instead), the group
 * budget fed by every counted call, long polling or a webhook server, and each update handled once.
 */
export class TelegramTransport {
  readonly telegraf: Telegraf;
  /** Calls made on our own: 429s and transient failures are retried. */
  readonly api: Telegram;
  /** Status edits: rate limits are handled by the throttle, which keeps only the newest view. */
  readonly editApi: Telegram;
  readonly groupBudget = new GroupBudget();
  private readonly shutdown = new AbortController();
  private webhookServer: Server | undefined;
  private polling: Promise<void> | undefined;
  private username = '';

  constructor(private readonly options: TelegramTransportOptions) {
    const telegramOptions = { apiRoot: options.apiRoot, webhookReply: false };
    this.telegraf = new Telegraf(options.token, { telegram: telegramOptions, handlerTimeout: 30_000 });
    this.api = this.telegraf.telegram;
    retryingCalls(this.api, {
      ...DEFAULT_API_RETRY,
      ...options.retry,
      logger: options.logger,
      signal: this.shutdown.signal,
      onSuccess: (method, payload) => {
        const chatId = (payload as { chat_id?: unknown } | undefined)?.chat_id;
        if (typeof chatId === 'number' && COUNTED_METHODS.test(method)) this.groupBudget.note(chatId);
      },
    });
    this.editApi = new Telegram(options.token, telegramOptions);
    const handled = openScope(options.store, HANDLED_UPDATES);
    // An update handled just before a crash comes again after the restart (its offset was never
    // confirmed), and a webhook call that timed out is retried: each update is handled once. It is
    // marked after its handler, which records any request before answering, so a crash mid-handler
    // hands the update over again and the request's own record keeps it from being taken twice.
    this.telegraf.use(async (ctx, next) => {
      const id = `${ctx.botInfo.id}:${ctx.update.update_id}`;
      if (await handled.get(id)) return;
      try {
        await next();
      } finally {
        await handled.set(id, true);
      }
    });
  }

  /** The bot's @username once launched. */
  get botUsername(): string {
    return this.username;
  }

  /** Identifies the bot; resolves before any update is taken. */
  async identify(): Promise<void> {
    const me = await this.api.getMe();
    this.username = me.username;
    this.telegraf.botInfo = me;
  }

  /** Starts long polling, or the webhook server and its registration. */
  async listen(): Promise<void> {
    const { webhook, logger } = this.options;
    if (webhook) {
      const path = new URL(webhook.url).pathname || '/';
      const secretToken = webhook.secretToken ?? randomBytes(24).toString('hex');
      const callback = this.telegraf.webhookCallback(path, { secretToken });
      const server = createServer((req, res) => {
        const onHook = new URL(req.url ?? '/', 'http://localhost').pathname === path;
        if (onHook && req.headers['x-telegram-bot-api-secret-token'] !== secretToken) {
          // Not Telegram: it always sends the secret we registered.
          res.writeHead(403).end();
          return;
        }
        void callback(req, res, () => {
          res.writeHead(404).end();
        });
      });
      this.webhookServer = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(webhook.port, webhook.host, () => resolve());
      });
      await this.api.setWebhook(webhook.url, {
        secret_token: secretToken,
        allowed_updates: [...ALLOWED_UPDATES],
      });
      logger.info('telegram bot listening for webhook calls', {
        username: this.username,
        port: this.webhookPort,
      });
      return;
    }
    // launch() removes any webhook first (keeping pending updates), then long-polls.
    this.polling = this.telegraf.launch({ allowedUpdates: [...ALLOWED_UPDATES] }).catch((error: unknown) => {
      if (!this.shutdown.signal.aborted)
        logger.error('telegram polling stopped', { error: describeApiError(error) });
    });
    logger.info('telegram bot polling for updates', { username: this.username });
  }

  /** The port the webhook server listens on (useful when configured as 0). */
  get webhookPort(): number | undefined {
    const address = this.webhookServer?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  /** Stops taking updates and retrying calls. */
  async stop(): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    this.shutdown.abort();
    const server = this.webhookServer;
    if (server) await new Promise((resolve) => server.close(resolve));
    try {
      if (this.polling) this.telegraf.stop('shutdown');
    } catch {
      // Not running.
    }
    await this.polling;
  }
}
