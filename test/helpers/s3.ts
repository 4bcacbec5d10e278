import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { DUMMY_ACCOUNT } from 's3rver/lib/models/account.js';
import type { S3MediaOptions } from '../../src/adapters/s3/media-store.ts';

/** An S3-protocol server on loopback (s3rver) with one bucket, and how to reach it. */
export interface TestS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Media-store options pointing at this server. */
  options(overrides?: Partial<S3MediaOptions>): S3MediaOptions;
  /** Keys of the objects in the bucket. */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 with bucket `media` and a key pair of its own. */
export async function startTestS3(): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'restyle-s3-'));
  const accessKeyId = 'AKIDRESTYLETEST';
  const secretAccessKey = `secret-${Math.random().toString(36).slice(2)}-restyle`;
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [{ name: 'media' }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = 'media';
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  return {
    endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    options: (overrides = {}) => ({
      bucket,
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey },
      forcePathStyle: true,
      prefix: 'restyle/',
      urlTtlSec: 3_600,
      ...overrides,
    }),
    async keys() {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
    },
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
