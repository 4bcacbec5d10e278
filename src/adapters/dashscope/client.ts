import { Agent, type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { systemClock } from '../../core/clock.ts';
import type { Clock, Logger } from '../../core/ports.ts';
import { DEFAULT_RETRY, MinIntervalGate, type RetryOptions, withRetry } from '../../core/retry.ts';
import { classifyDashScopeError, DashScopeError, parseRetryAfterMs, transportError } from './errors.ts';
import { errorReply } from './wire.ts';

/** Options of the DashScope HTTP client. */
export interface DashScopeClientOptions {
  readonly apiKey: string;
  /** e.g. `https://dashscope.aliyuncs.com`; paths start with `/api/v1`. */
  readonly baseUrl: string;
  /** Sent as `X-DashScope-WorkSpace` on every call when set. */
  readonly workspace?: string | undefined;
  readonly dispatcher?: Dispatcher;
  /** Time allowed for response headers, and between body chunks. */
  readonly requestTimeoutMs?: number;
  readonly retry?: RetryOptions;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly random?: () => number;
}

export const DEFAULT_CLIENT_OPTIONS = {
  requestTimeoutMs: 30_000,
} as const;

/** One reply, decoded. */
export interface Reply<T> {
  readonly data: T;
  readonly requestId: string | undefined;
  readonly status: number;
}

/** A call to make. */
export interface CallSpec<S extends z.ZodType> {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: Record<string, string>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly schema: S;
  /** What the call does, for messages: "submit the task". */
  readonly what: string;
  readonly signal?: AbortSignal | undefined;
}

let sharedAgent: Agent | undefined;
function defaultDispatcher(): Agent {
  sharedAgent ??= new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  return sharedAgent;
}

/** Submit gates, one per account, shared by every client in the process. */
const submitGates = new Map<string, MinIntervalGate>();

/** The gate that keeps submits of one account at most one per `intervalMs`. */
export function submitGateFor(accountKey: string, intervalMs: number, clock: Clock): MinIntervalGate {
  let gate = submitGates.get(accountKey);
  if (!gate) {
    gate = new MinIntervalGate(intervalMs, () => clock.now(), clock.sleep);
    submitGates.set(accountKey, gate);
  }
  return gate;
}

/** Low-level DashScope HTTP: authentication, JSON, typed errors, retries. */
export class DashScopeClient {
  readonly options: DashScopeClientOptions;
  readonly clock: Clock;
  private readonly dispatcher: Dispatcher;
  private readonly origin: string;

  constructor(options: DashScopeClientOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.dispatcher = options.dispatcher ?? defaultDispatcher();
    this.origin = options.baseUrl.replace(/\/+$/, '');
  }

  /** Makes one call; resolves with the decoded reply or rejects with a DashScopeError. */
  async callOnce<S extends z.ZodType>(spec: CallSpec<S>): Promise<Reply<z.infer<S>>> {
    const url = new URL(this.origin + spec.path);
    for (const [name, value] of Object.entries(spec.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.apiKey}`,
      'user-agent': 'restyle-bot',
      ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(this.options.workspace ? { 'x-dashscope-workspace': this.options.workspace } : {}),
      ...spec.headers,
    };
    const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_CLIENT_OPTIONS.requestTimeoutMs;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? null : JSON.stringify(spec.body),
        dispatcher: this.dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(spec.signal ? { signal: spec.signal } : {}),
      });
    } catch (error) {
      if (spec.signal?.aborted) throw error;
      throw transportError(error, `Could not ${spec.what}`);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      if (spec.signal?.aborted) throw error;
      throw transportError(error, `Could not ${spec.what}`);
    }
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const requestIdHeader = response.headers['x-request-id'] ?? response.headers['x-dashscope-request-id'];
    if (response.statusCode >= 400) {
      const reply = errorReply.safeParse(json);
      const code = (reply.success && reply.data.code) || `HTTP${response.statusCode}`;
      const { kind, retryable } = classifyDashScopeError(response.statusCode, code);
      const message = (reply.success && reply.data.message) || `HTTP ${response.statusCode} from DashScope`;
      throw new DashScopeError({
        kind,
        retryable,
        code,
        message: `Could not ${spec.what}: ${message}`,
        status: response.statusCode,
        requestId: (reply.success ? reply.data.request_id : undefined) ?? firstHeader(requestIdHeader),
        retryAfterMs: parseRetryAfterMs(response.headers['retry-after'], this.clock.now()),
      });
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) {
      throw new DashScopeError({
        kind: 'server',
        retryable: true,
        code: 'UnexpectedReply',
        message: `Could not ${spec.what}: DashScope answered HTTP ${response.statusCode} with an unexpected body`,
        status: response.statusCode,
        requestId: firstHeader(requestIdHeader),
      });
    }
    const requestId = (parsed.data as { request_id?: string }).request_id ?? firstHeader(requestIdHeader);
    return { data: parsed.data, requestId, status: response.statusCode };
  }

  /** Makes a call, retrying throttling, 5xx, timeouts and network errors with backoff and jitter. */
  call<S extends z.ZodType>(
    spec: CallSpec<S>,
    hooks: {
      beforeAttempt?: () => Promise<void>;
      onError?: (error: unknown) => void;
      retry?: RetryOptions;
    } = {},
  ): Promise<Reply<z.infer<S>>> {
    return withRetry(
      async () => {
        await hooks.beforeAttempt?.();
        try {
          return await this.callOnce(spec);
        } catch (error) {
          hooks.onError?.(error);
          throw error;
        }
      },
      {
        isRetryable: (error) => error instanceof DashScopeError && error.retryable,
        retryAfterMs: (error) => (error instanceof DashScopeError ? error.retryAfterMs : undefined),
        onRetry: (error, attempt, delayMs) =>
          this.options.logger?.warn('dashscope call failed, retrying', {
            what: spec.what,
            attempt,
            delayMs,
            code: (error as DashScopeError).code,
            requestId: (error as DashScopeError).requestId,
          }),
        retry: hooks.retry ?? this.options.retry ?? DEFAULT_RETRY,
        sleep: this.clock.sleep,
        ...(spec.signal ? { signal: spec.signal } : {}),
        ...(this.options.random ? { random: this.options.random } : {}),
      },
    );
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
