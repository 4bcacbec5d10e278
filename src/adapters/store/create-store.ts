import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import KeyvRedis, { createClient } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { Keyv } from 'keyv';
import type { Logger } from '../../core/ports.ts';
import { KeyvJobStore, reasonOf, StoreError } from './keyv-store.ts';

export { StoreError };

/** Defaults of {@link createJobStore}. */
export const CREATE_JOB_STORE_DEFAULTS = {
  keyPrefix: 'restyle',
  connectTimeoutMs: 3_000,
  /** A Redis command waiting longer (e.g. during an outage) fails instead of hanging its caller. */
  commandTimeoutMs: 10_000,
  /** How long an SQLite statement waits for the other connection's lock. */
  sqliteBusyTimeoutMs: 5_000,
} as const satisfies Record<string, string | number>;

/** How {@link createJobStore} opens the store. */
export interface CreateJobStoreOptions {
  /** Names the two namespaces `<keyPrefix>-jobs` and `<keyPrefix>-records`: lower-case letters, digits, `-`. */
  readonly keyPrefix?: string;
  /** How long a terminal job is kept after its last save; 0 keeps it forever. Default: 7 days. */
  readonly terminalJobTtlMs?: number;
  /** Redis: how long to try to connect before giving up. */
  readonly connectTimeoutMs?: number;
  /** Redis: how long one command may take, reconnection included, before it fails. */
  readonly commandTimeoutMs?: number;
  /** Told when an open Redis connection fails and comes back. */
  readonly logger?: Logger;
}

const ACCEPTED_FORMS = 'sqlite://path/to/file.sqlite, redis://host:port[/db] or rediss://host:port[/db]';
const KEY_PREFIX = /^[a-z0-9][a-z0-9-]*$/;

/** The URL with any `user:password@` replaced by `***@`, safe to log. */
export function describeStoreUrl(url: string): string {
  // A path may hold an `@`; an SQLite URL holds no credentials.
  if (/^sqlite:/i.test(url)) return url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  // The last `@`: a password may contain unescaped `@` or `/`, and a Redis path never has one.
  const at = url.lastIndexOf('@');
  return at < scheme.length ? url : `${scheme}***@${url.slice(at + 1)}`;
}

/**
 * Opens the job store named by `storeUrl` (`sqlite://./data/restyle.sqlite`, `redis://host:6379/0`,
 * `rediss://…`); rejects with a StoreError naming the accepted forms, or saying what could not be
 * reached, credentials redacted.
 */
export async function createJobStore(
  storeUrl: string,
  options: CreateJobStoreOptions = {},
): Promise<KeyvJobStore> {
  const keyPrefix = options.keyPrefix ?? CREATE_JOB_STORE_DEFAULTS.keyPrefix;
  // Keyv splits keys at the first `:`, and SQLite's LIKE treats `_`, `%` and case loosely.
  if (!KEY_PREFIX.test(keyPrefix)) {
    throw new StoreError('store-url', `Invalid store key prefix "${keyPrefix}": use a-z, 0-9 and -`);
  }
  const scheme = /^([a-z]+):\/\//i.exec(storeUrl)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite':
      return openSqlite(storeUrl.slice('sqlite://'.length), keyPrefix, options);
    case 'redis':
    case 'rediss':
      return openRedis(storeUrl, keyPrefix, options);
    default:
      throw new StoreError(
        'store-url',
        `Unsupported store URL "${describeStoreUrl(storeUrl)}": use ${ACCEPTED_FORMS}`,
      );
  }
}

async function openSqlite(path: string, keyPrefix: string, options: CreateJobStoreOptions) {
  if (path === '') {
    throw new StoreError('store-url', `The SQLite store URL has no file path: use ${ACCEPTED_FORMS}`);
  }
  const opened: KeyvSqlite[] = [];
  const open = async (namespace: string, setup: string[]) => {
    const adapter = new KeyvSqlite({
      uri: `sqlite://${path}`,
      busyTimeout: CREATE_JOB_STORE_DEFAULTS.sqliteBusyTimeoutMs,
      // One query per listing: the adapter pages with OFFSET, which is quadratic (10,000 jobs took
      // 4.7 s at its default 10 per page) and skips rows when Keyv deletes expired ones mid-way.
      iterationLimit: -1,
    });
    opened.push(adapter);
    // Built at once so Keyv listens for the adapter's 'error' event before it can fire.
    const keyv = new Keyv({ store: adapter, namespace, throwOnErrors: true });
    for (const statement of setup) await adapter.query(statement);
    return keyv;
  };
  try {
    if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    // WAL commits with one fsync instead of several (≈6× faster saves); synchronous=FULL keeps
    // every commit durable across a power loss, so a completed statement is a durable save.
    const jobs = await open(`${keyPrefix}-jobs`, ['PRAGMA journal_mode=WAL', 'PRAGMA synchronous=FULL']);
    const records = await open(`${keyPrefix}-records`, ['PRAGMA synchronous=FULL']);
    const store = new KeyvJobStore({ jobs, records, terminalJobTtlMs: options.terminalJobTtlMs });
    await store.sweepExpired();
    return store;
  } catch (error) {
    await Promise.allSettled(opened.map((adapter) => adapter.disconnect()));
    throw new StoreError('store-unreachable', `Cannot open SQLite database at ${path}: ${reasonOf(error)}`, {
      cause: error,
    });
  }
}

async function openRedis(storeUrl: string, keyPrefix: string, options: CreateJobStoreOptions) {
  const where = describeStoreUrl(storeUrl);
  if (!URL.canParse(storeUrl) || new URL(storeUrl).hostname === '') {
    throw new StoreError('store-url', `Invalid store URL "${where}": use ${ACCEPTED_FORMS}`);
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? CREATE_JOB_STORE_DEFAULTS.connectTimeoutMs;
  const deadlineMs = Date.now() + connectTimeoutMs;
  let connected = false;
  const client = redisClient(storeUrl, where, {
    commandOptions: { timeout: options.commandTimeoutMs ?? CREATE_JOB_STORE_DEFAULTS.commandTimeoutMs },
    socket: {
      connectTimeout: connectTimeoutMs,
      // At startup, retry briefly and then fail; once running, ride out outages with backoff.
      reconnectStrategy: (retries, cause) => {
        if (connected) return Math.min(100 * 2 ** retries, 5_000);
        return Date.now() + 250 < deadlineMs ? 250 : cause;
      },
    },
  });
  let healthy = true;
  // Without a listener, node-redis' 'error' events would crash the process. Told once per outage.
  client.on('error', (error: Error) => {
    if (!connected || !healthy) return;
    healthy = false;
    options.logger?.warn('Job store connection lost; reconnecting', { store: where, error: reasonOf(error) });
  });
  client.on('ready', () => {
    if (!connected || healthy) return;
    healthy = true;
    options.logger?.info('Job store connection restored', { store: where });
  });
  try {
    // The PING catches a server that accepts connections but never answers; the margin lets the
    // reconnect strategy's own error (e.g. ECONNREFUSED) win over the bare timeout.
    await withTimeout(
      client.connect().then(() => client.ping()),
      connectTimeoutMs + 500,
    );
  } catch (error) {
    // A failed reconnect strategy has already closed the client, and destroy() would throw.
    if (client.isOpen) client.destroy();
    const reason = redact(reasonOf(error), storeUrl);
    throw new StoreError('store-unreachable', `Cannot reach Redis at ${where}: ${reason}`, { cause: error });
  }
  connected = true;
  const open = (namespace: string) =>
    new Keyv({
      // Both namespaces share the client; the adapter prefixes keys itself (`restyle-jobs:<id>`).
      store: new KeyvRedis(client, { namespace, keyPrefixSeparator: ':', throwOnErrors: true }),
      namespace,
      useKeyPrefix: false,
      throwOnErrors: true,
    });
  return new KeyvJobStore({
    jobs: open(`${keyPrefix}-jobs`),
    records: open(`${keyPrefix}-records`),
    terminalJobTtlMs: options.terminalJobTtlMs,
  });
}

/** node-redis' client, its URL errors (e.g. a database that is not a number) told as a StoreError. */
function redisClient(
  storeUrl: string,
  where: string,
  options: Omit<NonNullable<Parameters<typeof createClient>[0]>, 'url'>,
) {
  try {
    return createClient({ ...options, url: storeUrl });
  } catch (error) {
    const reason = redact(reasonOf(error), storeUrl);
    throw new StoreError('store-url', `Invalid store URL "${where}": ${reason}; use ${ACCEPTED_FORMS}`, {
      cause: error,
    });
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Removes the URL's password, as written and decoded, from a message, in case a library echoed it. */
function redact(message: string, storeUrl: string): string {
  const raw = URL.canParse(storeUrl) ? new URL(storeUrl).password : '';
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // A malformed escape: only the raw form can appear.
  }
  let redacted = message;
  for (const secret of [raw, decoded]) if (secret.length > 0) redacted = redacted.split(secret).join('***');
  return redacted;
}
