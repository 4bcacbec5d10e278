import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createJobStore, describeStoreUrl, StoreError } from '../../../src/adapters/store/create-store.ts';
import type { RestyleJob } from '../../../src/core/job.ts';
import type { LogFields } from '../../../src/core/ports.ts';

const dir = mkdtempSync(join(tmpdir(), 'restyle-create-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function failure(promise: Promise<unknown>): Promise<{ error: StoreError; elapsedMs: number }> {
  const startedMs = performance.now();
  try {
    await promise;
  } catch (error) {
    return { error: error as StoreError, elapsedMs: performance.now() - startedMs };
  }
  throw new Error('expected a rejection');
}

describe('describeStoreUrl', () => {
  it('redacts credentials and keeps the rest', () => {
    expect(describeStoreUrl('redis://user:s3cret@cache.internal:6380/2')).toBe(
      'redis://***@cache.internal:6380/2',
    );
    expect(describeStoreUrl('rediss://:p@ss/w0rd@host:6379')).toBe('rediss://***@host:6379');
    expect(describeStoreUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(describeStoreUrl('sqlite://./data/@me/restyle.sqlite')).toBe('sqlite://./data/@me/restyle.sqlite');
  });
});

describe('createJobStore', () => {
  it.each([
    'postgres://db/restyle',
    'sqlite:relative.sqlite',
    './data/restyle.sqlite',
    '',
    'mongodb://user:hunter2@db',
    'redis://',
    'redis://127.0.0.1:6379/not-a-number',
  ])('rejects %j naming the accepted forms', async (url) => {
    const { error } = await failure(createJobStore(url));
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('store-url');
    expect(error.message).toContain(
      'sqlite://path/to/file.sqlite, redis://host:port[/db] or rediss://host:port[/db]',
    );
    expect(error.message).not.toContain('hunter2');
  });

  it('rejects an SQLite URL without a path', async () => {
    const { error } = await failure(createJobStore('sqlite://'));
    expect(error.message).toMatch(/no file path/);
  });

  it('rejects a key prefix that would confuse the key layout', async () => {
    for (const keyPrefix of ['a:b', 'A', 'a_b', '']) {
      await expect(createJobStore(`sqlite://${join(dir, 'p.sqlite')}`, { keyPrefix })).rejects.toThrow(
        /key prefix/,
      );
    }
  });

  it('creates the parent folders of an SQLite file', async () => {
    const file = join(dir, 'nested', 'deeper', 'restyle.sqlite');
    const store = await createJobStore(`sqlite://${file}`);
    await store.close();
    expect(existsSync(file)).toBe(true);
  });

  it('opens a relative SQLite path from the working directory', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const store = await createJobStore('sqlite://./data/restyle.sqlite');
      await store.close();
      expect(existsSync(join(dir, 'data', 'restyle.sqlite'))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('says which SQLite file it cannot open', async () => {
    const notAFolder = join(dir, 'file');
    await createJobStore(`sqlite://${notAFolder}`).then((store) => store.close());
    const { error } = await failure(createJobStore(`sqlite://${join(notAFolder, 'x.sqlite')}`));
    expect(error.code).toBe('store-unreachable');
    expect(error.message).toContain(`Cannot open SQLite database at ${join(notAFolder, 'x.sqlite')}`);
  });

  it('rejects an unreachable Redis within a few seconds, password redacted', async () => {
    const port = await closedPort();
    const { error, elapsedMs } = await failure(createJobStore(`redis://admin:hunter2@127.0.0.1:${port}/1`));
    expect(error.code).toBe('store-unreachable');
    expect(error.message).toBe(
      `Cannot reach Redis at redis://***@127.0.0.1:${port}/1: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(elapsedMs).toBeLessThan(5_000);
  });

  it('gives up on a server that accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const server: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const { error, elapsedMs } = await failure(
        createJobStore(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 500 }),
      );
      expect(error.message).toMatch(new RegExp(`^Cannot reach Redis at redis://127.0.0.1:${port}: `));
      expect(elapsedMs).toBeLessThan(2_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

describe.skipIf(!hasRedisServer)('createJobStore on a Redis that goes away and comes back', () => {
  it('fails saves during the outage after commandTimeoutMs, then reconnects by itself', async () => {
    const port = await closedPort();
    const startRedis = async () => {
      const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      for (let tries = 0; tries < 50; tries += 1) {
        const up = await createJobStore(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 100 }).then(
          (store) => store.close().then(() => true),
          () => false,
        );
        if (up) return server;
        await new Promise((done) => setTimeout(done, 100));
      }
      server.kill('SIGKILL');
      throw new Error('redis-server did not start');
    };
    const logged: string[] = [];
    const note = (level: string) => (message: string, _fields?: LogFields) =>
      logged.push(`${level}: ${message}`);
    const logger = { debug: note('debug'), info: note('info'), warn: note('warn'), error: note('error') };
    const job = (id: string) => ({ id, seq: 1, state: { kind: 'waiting' } }) as unknown as RestyleJob;
    let server = await startRedis();
    const store = await createJobStore(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 1_000, logger });
    try {
      await store.save(job('before'));
      server.kill('SIGKILL');
      await expect.poll(() => logged).toContain('warn: Job store connection lost; reconnecting');
      const { error, elapsedMs } = await failure(store.save(job('during')));
      expect(error.message).toBe('Cannot save job during: TimeoutError');
      expect(elapsedMs).toBeLessThan(2_000);
      server = await startRedis();
      await expect
        .poll(
          () =>
            store.save(job('after')).then(
              () => true,
              () => false,
            ),
          { timeout: 8_000 },
        )
        .toBe(true);
      expect(await store.get('after')).toBeDefined();
      expect(logged).toEqual([
        'warn: Job store connection lost; reconnecting',
        'info: Job store connection restored',
      ]);
    } finally {
      await store.close();
      server.kill('SIGKILL');
    }
  });
});
