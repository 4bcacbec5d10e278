import { Redis } from 'ioredis';

/** The Redis every machine here runs; tests and benchmarks of the Redis-backed parts use it. */
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

/** True when the Redis at `url` answers a PING (no retries: a quick yes or no). */
export async function redisReachable(url = LOCAL_REDIS_URL): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
