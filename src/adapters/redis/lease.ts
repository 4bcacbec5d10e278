import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from '../../core/ports.ts';

/** Options of a lease held by one instance at a time. */
export interface RedisLeaseOptions {
  readonly redisUrl: string;
  readonly key: string;
  /** How long the lease lives without renewal: a holder that dies frees it after this. */
  readonly ttlMs?: number;
  /** How often an instance standing by tries to take it. */
  readonly pollMs?: number;
  readonly logger: Logger;
}

const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Something only one instance may do at a time (e.g. be the Discord gateway), decided by a key
 * in Redis that its holder renews every third of its time to live.
 */
export class RedisLease {
  private readonly redis: Redis;
  private readonly token = randomUUID();
  private readonly ttlMs: number;
  private renewal: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisLeaseOptions) {
    this.redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
    this.redis.on('error', () => undefined);
    this.ttlMs = options.ttlMs ?? 15_000;
  }

  /** Takes the lease if it is free; the holder keeps it until `release`, or `onLost` says it lapsed. */
  async tryAcquire(onLost: () => void): Promise<boolean> {
    const taken = await this.redis.set(this.options.key, this.token, 'PX', this.ttlMs, 'NX');
    if (taken !== 'OK') return false;
    this.renewal = setInterval(() => void this.renew(onLost), this.ttlMs / 3);
    this.renewal.unref();
    return true;
  }

  /** Waits until the lease is taken (true) or the signal aborts (false); Redis errors are waited out. */
  async acquire(signal: AbortSignal, onLost: () => void): Promise<boolean> {
    while (!signal.aborted) {
      try {
        if (await this.tryAcquire(onLost)) return true;
      } catch (error) {
        this.options.logger.debug('could not reach Redis for a lease; trying again', {
          key: this.options.key,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      await sleep(this.options.pollMs ?? 2_000, undefined, { signal }).catch(() => undefined);
    }
    return false;
  }

  /** Gives the lease back (if held) and closes the connection. */
  async release(): Promise<void> {
    clearInterval(this.renewal);
    await this.redis.eval(RELEASE, 1, this.options.key, this.token).catch(() => undefined);
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async renew(onLost: () => void): Promise<void> {
    const renewed = await this.redis
      .eval(RENEW, 1, this.options.key, this.token, String(this.ttlMs))
      .catch(() => undefined);
    // A failed call may be a blip; a lease found in other hands is gone for good.
    if (renewed === 0) {
      clearInterval(this.renewal);
      onLost();
    }
  }
}
