import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Telegraf, Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { JobStore, Logger, UpdateClaims } from '../../core/ports.ts';
import { StoreUpdateClaims } from '../shared/update-claims.ts';
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
  /**
   * Who handles each update: the store by default (one process); claims shared in Redis when
   * several instances serve one webhook behind a load balancer.
   */
  readonly updateClaims?: UpdateClaims | undefined;
  readonly logger: Logger;
}

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;
/** Bot API methods that count against a chat's message limits. */
const COUNTED_METHODS = /^(send(?!ChatAction)|edit|copyMessage|forwardMessage)/;

/** Largest webhook body read; an update is a few kilobytes. */
const MAX_UPDATE_BYTES = 1024 * 1024;
/** Seconds a webhook call for an update another instance is handling asks Telegram to wait. */
const BUSY_RETRY_SEC = 2;

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
  private readonly claims: UpdateClaims;

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
    this.claims = options.updateClaims ?? new StoreUpdateClaims(options.store);
    // An update handled just before a crash comes again after the restart (its offset was never
    // confirmed), and a webhook call that timed out is retried, maybe to another instance: each
    // update is handled once. It is marked done after its handler, which records any request
    // before answering, so a crash mid-handler hands the update over again (once its claim
    // lapses) and the request's own record keeps it from being taken twice. Webhook calls are
    // claimed before telegraf sees them (see `onWebhookCall`), polled updates here.
    if (!options.webhook) {
      this.telegraf.use(async (ctx, next) => {
        const id = this.updateId(ctx.update.update_id);
        if ((await this.claims.claim(id)) !== 'mine') return;
        try {
          await next();
        } finally {
          await this.claims.done(id);
        }
      });
    }
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
      // Derived from the token when unset: the same on every instance behind one webhook URL, and
      // across restarts, yet no way back to the token.
      const secretToken =
        webhook.secretToken ??
        createHash('sha256').update(`restyle-webhook:${this.options.token}`).digest('hex');
      const callback = this.telegraf.webhookCallback(path, { secretToken });
      const server = createServer((req, res) => {
        const onHook = new URL(req.url ?? '/', 'http://localhost').pathname === path;
        if (onHook && req.headers['x-telegram-bot-api-secret-token'] !== secretToken) {
          // Not Telegram: it always sends the secret we registered.
          res.writeHead(403).end();
          return;
        }
        if (!onHook) {
          res.writeHead(404).end();
          return;
        }
        this.onWebhookCall(req, res, callback).catch((error: unknown) => {
          logger.error('telegram webhook call failed', { error: describeApiError(error) });
          if (!res.headersSent) res.writeHead(500);
          res.end();
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

  /**
   * One webhook call: claims its update first. Handled already → 200; being handled elsewhere →
   * 503 with Retry-After, so Telegram sends it again (and it is handled if that holder died);
   * else telegraf handles it and the claim is marked done.
   */
  private async onWebhookCall(
    req: IncomingMessage,
    res: ServerResponse,
    callback: ReturnType<Telegraf['webhookCallback']>,
  ): Promise<void> {
    let body = '';
    for await (const chunk of req) {
      body += String(chunk);
      if (body.length > MAX_UPDATE_BYTES) {
        res.writeHead(413).end();
        return;
      }
    }
    let update: { update_id?: unknown };
    try {
      update = JSON.parse(body) as { update_id?: unknown };
    } catch {
      res.writeHead(415).end();
      return;
    }
    if (typeof update?.update_id !== 'number') {
      res.writeHead(400).end();
      return;
    }
    const id = this.updateId(update.update_id);
    const claim = await this.claims.claim(id);
    if (claim === 'done') {
      res.writeHead(200).end();
      return;
    }
    if (claim === 'busy') {
      res.writeHead(503, { 'Retry-After': String(BUSY_RETRY_SEC) }).end();
      return;
    }
    try {
      await callback(Object.assign(req, { body: update as Update }), res);
    } finally {
      await this.claims.done(id);
    }
  }

  /** An update's id across bots: `<bot id>:<update id>`. */
  private updateId(updateId: number): string {
    return `${this.telegraf.botInfo?.id ?? 0}:${updateId}`;
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
    await this.claims.close?.();
  }
}
