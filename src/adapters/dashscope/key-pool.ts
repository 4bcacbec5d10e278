import { createHash } from 'node:crypto';
import type { Clock, Logger } from '../../core/ports.ts';
import { DashScopeBackend } from './backend.ts';
import { DashScopeTempUpload, TempUploadHost } from './upload.ts';

/** One DashScope key of the pool: its lane id (never the key itself), backend and temporary upload. */
export interface PooledKey {
  readonly laneId: string;
  readonly backend: DashScopeBackend;
  readonly upload: DashScopeTempUpload;
}

/** What every key of the pool shares. */
export interface KeyPoolOptions {
  readonly baseUrl: string;
  readonly workspace?: string | undefined;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/**
 * A lane id for a key: a short fingerprint, stable across restarts so a task is always followed
 * with the key that submitted it, and safe to log (the key cannot be recovered from it).
 */
export function laneIdOfKey(apiKey: string): string {
  return `key-${createHash('sha256').update(apiKey).digest('hex').slice(0, 10)}`;
}

/** The pool: one backend and upload per distinct key, in the order given. */
export function keyPool(apiKeys: readonly string[], options: KeyPoolOptions): PooledKey[] {
  const distinct = [...new Set(apiKeys.map((key) => key.trim()).filter((key) => key !== ''))];
  if (distinct.length === 0) throw new Error('the DashScope key pool is empty');
  return distinct.map((apiKey) => {
    const backend = new DashScopeBackend({
      apiKey,
      baseUrl: options.baseUrl,
      workspace: options.workspace,
      logger: options.logger,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    return { laneId: laneIdOfKey(apiKey), backend, upload: new DashScopeTempUpload(backend.client) };
  });
}

/** The temporary upload of the pool as a media host: each lane uploads with its own key. */
export function poolUploadHost(pool: readonly PooledKey[]): TempUploadHost {
  return new TempUploadHost(new Map(pool.map((key) => [key.laneId, key.upload])));
}
