import { createHash } from 'node:crypto';

/** A per-route bucket: `limit` requests per `windowMs`, counted per major parameter. */
export interface BucketRule {
  readonly limit: number;
  readonly windowMs: number;
}

/** Rate limits as the fake enforces them (wall-clock time, since clients wait in real time). */
export interface RateLimitRules {
  /** Requests per second one bot token may make outside interaction routes; 0 turns it off. */
  globalPerSecond: number;
  /** Buckets by `METHOD /route/template` (e.g. `POST /channels/:channel_id/messages`). */
  routes: Record<string, BucketRule>;
  /** The bucket of any route not in `routes`. */
  fallback: BucketRule;
}

/** Defaults close to what Discord reports in its headers. */
export const DEFAULT_RATE_LIMITS: RateLimitRules = {
  globalPerSecond: 50,
  routes: {
    'POST /channels/:channel_id/messages': { limit: 5, windowMs: 5000 },
    'PATCH /channels/:channel_id/messages/:message_id': { limit: 5, windowMs: 5000 },
    'DELETE /channels/:channel_id/messages/:message_id': { limit: 5, windowMs: 1000 },
    'POST /channels/:channel_id/typing': { limit: 5, windowMs: 5000 },
    'POST /webhooks/:application_id/:token': { limit: 5, windowMs: 2000 },
    'PATCH /webhooks/:application_id/:token/messages/:message_id': { limit: 5, windowMs: 2000 },
    'DELETE /webhooks/:application_id/:token/messages/:message_id': { limit: 5, windowMs: 2000 },
  },
  fallback: { limit: 50, windowMs: 1000 },
};

/** Which 429 scope an answer reports in `X-RateLimit-Scope`. */
export type RateLimitScope = 'user' | 'global' | 'shared';

/** The outcome of counting a request. */
export interface RateLimitVerdict {
  readonly headers: Record<string, string>;
  readonly limited?: {
    readonly retryAfterSec: number;
    readonly global: boolean;
    readonly scope: RateLimitScope;
  };
  readonly bucket?: {
    readonly hash: string;
    readonly limit: number;
    readonly remaining: number;
    readonly resetAfterSec: number;
  };
}

interface Window {
  count: number;
  resetAt: number;
}

const seconds = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);

/** Counts requests per bucket and globally, and produces Discord's rate-limit headers. */
export class RateLimiter {
  private readonly buckets = new Map<string, Window>();
  private global: Window = { count: 0, resetAt: 0 };

  /** A bucket's `X-RateLimit-Bucket` value: the same for every major parameter of a route. */
  static hash(routeKey: string): string {
    return createHash('sha256').update(routeKey).digest('hex').slice(0, 32);
  }

  take(
    rules: RateLimitRules,
    routeKey: string,
    major: string,
    countsGlobally: boolean,
    now = Date.now(),
  ): RateLimitVerdict {
    if (countsGlobally && rules.globalPerSecond > 0) {
      if (now >= this.global.resetAt) this.global = { count: 0, resetAt: now + 1000 };
      if (this.global.count >= rules.globalPerSecond) {
        const retryAfterMs = this.global.resetAt - now;
        return {
          headers: {
            'retry-after': String(Math.ceil(retryAfterMs / 1000)),
            'x-ratelimit-global': 'true',
            'x-ratelimit-scope': 'global',
          },
          limited: { retryAfterSec: retryAfterMs / 1000, global: true, scope: 'global' },
        };
      }
    }
    const rule = rules.routes[routeKey] ?? rules.fallback;
    const hash = RateLimiter.hash(rules.routes[routeKey] ? routeKey : 'fallback');
    const key = `${hash}:${major}`;
    let window = this.buckets.get(key);
    if (!window || now >= window.resetAt) {
      window = { count: 0, resetAt: now + rule.windowMs };
      this.buckets.set(key, window);
    }
    const resetAfterMs = window.resetAt - now;
    const headers = (remaining: number): Record<string, string> => ({
      'x-ratelimit-limit': String(rule.limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': (window.resetAt / 1000).toFixed(3),
      'x-ratelimit-reset-after': seconds(resetAfterMs),
      'x-ratelimit-bucket': hash,
    });
    if (window.count >= rule.limit) {
      return {
        headers: {
          ...headers(0),
          'retry-after': String(Math.ceil(resetAfterMs / 1000)),
          'x-ratelimit-scope': 'user',
        },
        limited: { retryAfterSec: resetAfterMs / 1000, global: false, scope: 'user' },
        bucket: { hash, limit: rule.limit, remaining: 0, resetAfterSec: resetAfterMs / 1000 },
      };
    }
    window.count += 1;
    if (countsGlobally) this.global.count += 1;
    const remaining = rule.limit - window.count;
    return {
      headers: headers(remaining),
      bucket: { hash, limit: rule.limit, remaining, resetAfterSec: resetAfterMs / 1000 },
    };
  }
}
