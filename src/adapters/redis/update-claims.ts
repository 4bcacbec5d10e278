import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { UpdateClaim, UpdateClaims } from '../../core/ports.ts';

/** Options of update claims shared by every instance on one Redis. */
export interface RedisUpdateClaimsOptions {
  readonly redisUrl: string;
  /** Keys start with it (`<prefix>:update:<id>`), so several deployments can share a Redis. */
  readonly prefix: string;
  /** How long a claim holds without being marked done: an instance that dies frees it after this. */
  readonly holdMs?: number;
  /** How long a handled update is remembered; Telegram keeps unconfirmed updates for 24 hours. */
  readonly keepMs?: number;
}

const DONE = 'done';

/**
 * Update claims shared by every instance behind one load balancer: the first instance to claim an
 * update holds it (`SET NX` with a time to live) until it marks it done; any other delivery of it
 * meanwhile is `busy` (the webhook asks Telegram to send it again later), and `done` after.
 */
export class RedisUpdateClaims implements UpdateClaims {
  private readonly redis: Redis;
  private readonly holder = `hold:${randomUUID()}`;
  private readonly holdMs: number;
  private readonly keepMs: number;

  constructor(private readonly options: RedisUpdateClaimsOptions) {
    this.redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
    this.holdMs = options.holdMs ?? 60_000;
    this.keepMs = options.keepMs ?? 24 * 3_600_000;
  }

  async claim(id: string): Promise<UpdateClaim> {
    const key = this.key(id);
    if ((await this.redis.set(key, this.holder, 'PX', this.holdMs, 'NX')) === 'OK') return 'mine';
    return (await this.redis.get(key)) === DONE ? 'done' : 'busy';
  }

  async done(id: string): Promise<void> {
    await this.redis.set(this.key(id), DONE, 'PX', this.keepMs);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private key(id: string): string {
    return `${this.options.prefix}:update:${id}`;
  }
}
