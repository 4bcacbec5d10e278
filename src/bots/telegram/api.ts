import type { Telegram } from 'telegraf';
import { TelegramError } from 'telegraf';
import { sleep } from '../../core/clock.ts';
import type { Logger } from '../../core/ports.ts';

/** How calls are retried. */
export interface ApiRetryOptions {
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  /** A rate limit asking for a longer wait than this fails the call instead. */
  readonly maxRetryAfterMs: number;
  /** Base of the exponential backoff after a server or network error. */
  readonly backoffMs: number;
  readonly logger: Logger;
  /** Aborts every wait (shutdown). */
  readonly signal?: AbortSignal;
  /** Told of every call that succeeded, e.g. to keep a chat's message budget. */
  readonly onSuccess?: (method: string, payload: unknown) => void;
}

export const DEFAULT_API_RETRY = {
  maxAttempts: 8,
  maxRetryAfterMs: 5 * 60_000,
  backoffMs: 1_000,
} as const satisfies Omit<ApiRetryOptions, 'logger'>;

/** Answers to a tap stop working after a few seconds: waiting longer for them is useless. */
const SHORT_LIVED_METHODS: ReadonlyMap<string, number> = new Map([['answerCallbackQuery', 10_000]]);

/** The wait a 429 asks for, in milliseconds; `undefined` for any other error. */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof TelegramError) || error.code !== 429) return undefined;
  const seconds = error.parameters?.retry_after;
  return (typeof seconds === 'number' && seconds >= 0 ? seconds : 5) * 1000;
}

/** A failure on Telegram's side or on the way there, worth another try. */
function isTransient(error: unknown): boolean {
  if (error instanceof TelegramError) return error.code >= 500;
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'FetchError' ||
    /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|socket hang up/i.test(error.message)
  );
}

/** "message is not modified": the edit asked for what the message already shows. */
export function isNotModified(error: unknown): boolean {
  return (
    error instanceof TelegramError && error.code === 400 && /message is not modified/i.test(error.description)
  );
}

/** The message cannot be edited any more: deleted, too old, or the chat is gone or blocked us. */
export function isGone(error: unknown): boolean {
  if (!(error instanceof TelegramError)) return false;
  if (error.code === 403) return true;
  return (
    error.code === 400 &&
    /message to edit not found|message can't be edited|message_id_invalid|chat not found|message to delete not found/i.test(
      error.description,
    )
  );
}

/** The chat refuses the bot for good (blocked, kicked, deleted): retrying cannot help. */
export function isChatClosed(error: unknown): boolean {
  return (
    error instanceof TelegramError &&
    (error.code === 403 ||
      (error.code === 400 && /chat not found|have no rights|not enough rights/i.test(error.description)))
  );
}

/** The Bot API refused the token. */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof TelegramError && error.code === 401;
}

/** A short, token-free description of a Bot API failure for logs. */
export function describeApiError(error: unknown): string {
  if (error instanceof TelegramError) return `${error.code}: ${error.description}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Makes every Bot API call of this client wait out 429s (`retry_after`) and retry server and
 * network failures with backoff. Telegraf itself does so only for getUpdates, which is left alone.
 */
export function retryingCalls(telegram: Telegram, options: ApiRetryOptions): void {
  const call = telegram.callApi.bind(telegram) as (
    method: string,
    payload: unknown,
    extra: unknown,
  ) => Promise<unknown>;
  const retrying = async (method: string, payload: unknown, extra: { signal?: AbortSignal } = {}) => {
    if (method === 'getUpdates') return call(method, payload, extra);
    const signal =
      options.signal && extra.signal
        ? AbortSignal.any([options.signal, extra.signal])
        : (extra.signal ?? options.signal);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await call(method, payload, extra);
        options.onSuccess?.(method, payload);
        return result;
      } catch (error) {
        if (attempt >= options.maxAttempts || signal?.aborted) throw error;
        const asked = retryAfterMs(error);
        let waitMs: number;
        if (asked !== undefined) {
          const cap = SHORT_LIVED_METHODS.get(method) ?? options.maxRetryAfterMs;
          if (asked > cap) throw error;
          // A little extra so the retry lands after the window, not on its edge.
          waitMs = asked + 50 + Math.random() * 200;
        } else if (isTransient(error) && !SHORT_LIVED_METHODS.has(method)) {
          waitMs = options.backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        } else {
          throw error;
        }
        options.logger.debug('retrying a Bot API call', {
          method,
          attempt,
          waitMs: Math.round(waitMs),
          error: describeApiError(error),
        });
        await sleep(waitMs, signal);
      }
    }
  };
  telegram.callApi = retrying as Telegram['callApi'];
}
