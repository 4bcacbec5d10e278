import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';

const N = 10_000;
const job = (i: number) => ({
  id: `job-${i}`,
  seq: i,
  requester: { key: 'cli:a' },
  delivery: { platform: 'cli', path: '/x' },
  inputPath: '/tmp/in.mp4',
  inputHash: 'a'.repeat(64),
  styleId: 3,
  fps: 15,
  durationSec: 5.5,
  changes: [],
  createdAtMs: 1,
  updatedAtMs: 2,
  state: { kind: 'waiting' },
});

async function bench(name: string, keyv: Keyv, conc: number) {
  let t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < N) {
        const i = next++;
        if (!(await keyv.set(`job-${i}`, job(i)))) throw new Error('set false');
      }
    }),
  );
  const save = performance.now() - t;
  t = performance.now();
  let n = 0;
  for await (const _ of keyv.iterator!()) n++;
  const list = performance.now() - t;
  console.log(name, 'conc', conc, 'save', save.toFixed(0), 'ms; list', n, list.toFixed(0), 'ms');
}

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'kv-'));
for (const [mode, limit] of [
  ['delete', undefined],
  ['delete', -1],
  ['wal', -1],
] as const) {
  const file = join(dir, `${mode}-${limit}.sqlite`);
  const a = new KeyvSqlite({
    uri: `sqlite://${file}`,
    busyTimeout: 5000,
    ...(limit ? { iterationLimit: limit } : {}),
  });
  if (mode === 'wal') console.log(await a.query('PRAGMA journal_mode=WAL'));
  console.log(await a.query('PRAGMA synchronous'));
  const k = new Keyv({ store: a, namespace: 'r-jobs', throwOnErrors: true });
  await bench(`sqlite ${mode} limit ${limit}`, k, 16);
  await a.disconnect();
}
const r = new KeyvRedis('redis://127.0.0.1:6379', { keyPrefixSeparator: ':' });
const kr = new Keyv({ store: r, namespace: 'scratch-jobs', useKeyPrefix: false, throwOnErrors: true });
await bench('redis', kr, 16);
await kr.clear();
await r.disconnect();
