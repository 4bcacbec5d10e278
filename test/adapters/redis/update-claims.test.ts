// Update claims shared in Redis (several Telegram webhook instances behind one load balancer), and
// the store's claims of the embedded default, on the same contract.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisUpdateClaims } from '../../../src/adapters/redis/update-claims.ts';
import { StoreUpdateClaims } from '../../../src/bots/shared/update-claims.ts';
import { MemoryJobStore } from '../../fakes/memory-store.ts';
import { LOCAL_REDIS_URL, redisReachable } from '../../helpers/redis.ts';

/** Unique to this file's run: its keys never meet another's. */
const PREFIX = `restyle-test-claims-${process.pid}-${randomUUID().slice(0, 8)}`;

const redisUp = await redisReachable();
if (!redisUp) console.warn(`Redis at ${LOCAL_REDIS_URL} unreachable: skipping the shared update-claim tests`);

const opened: RedisUpdateClaims[] = [];
function instance(holdMs?: number): RedisUpdateClaims {
  const claims = new RedisUpdateClaims({ redisUrl: LOCAL_REDIS_URL, prefix: PREFIX, holdMs });
  opened.push(claims);
  return claims;
}

afterAll(async () => {
  await Promise.all(opened.map((claims) => claims.close()));
});

describe.skipIf(!redisUp)('update claims shared in Redis', () => {
  it('gives an update delivered to three instances at once to exactly one of them', async () => {
    const instances = [instance(), instance(), instance()];
    const claims = await Promise.all(instances.map((claims) => claims.claim('bot:101')));
    expect(claims.filter((claim) => claim === 'mine')).toHaveLength(1);
    expect(claims.filter((claim) => claim === 'busy')).toHaveLength(2);
    const holder = instances[claims.indexOf('mine')]!;
    await holder.done('bot:101');
    expect(await Promise.all(instances.map((claims) => claims.claim('bot:101')))).toEqual([
      'done',
      'done',
      'done',
    ]);
    // Another update is free for anyone.
    expect(await instances[2]!.claim('bot:102')).toBe('mine');
  });

  it('lets a claim whose holder died lapse, so the next delivery is handled', async () => {
    const dying = instance(300);
    const other = instance(300);
    expect(await dying.claim('bot:201')).toBe('mine');
    expect(await other.claim('bot:201')).toBe('busy');
    await delay(450);
    expect(await other.claim('bot:201')).toBe('mine');
    await other.done('bot:201');
    expect(await dying.claim('bot:201')).toBe('done');
  });
});

describe('update claims of one process (the store)', () => {
  it('knows a handled update after a restart, and one being handled meanwhile', async () => {
    const store = new MemoryJobStore();
    const claims = new StoreUpdateClaims(store);
    expect(await claims.claim('bot:1')).toBe('mine');
    expect(await claims.claim('bot:1')).toBe('busy');
    await claims.done('bot:1');
    expect(await claims.claim('bot:1')).toBe('done');
    // A process that died mid-handler never marked it: the update is handled when it comes again.
    expect(await claims.claim('bot:2')).toBe('mine');
    const restarted = new StoreUpdateClaims(store);
    expect(await restarted.claim('bot:2')).toBe('mine');
    expect(await restarted.claim('bot:1')).toBe('done');
  });
});
