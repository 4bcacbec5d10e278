import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliDeliverySink } from '../../../src/adapters/files/cli-sink.ts';
import { S3MediaHost } from '../../../src/adapters/s3/media-store.ts';
import { RestyleService } from '../../../src/core/queue/service.ts';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { makeClip, tempDir } from '../../helpers/media.ts';
import { startTestS3, type TestS3 } from '../../helpers/s3.ts';
import { serviceDeps } from '../../helpers/service.ts';

let s3: TestS3;
let dir: string;
let clip: string;

beforeAll(async () => {
  s3 = await startTestS3();
  dir = await tempDir('restyle-s3-media-');
  clip = await makeClip({ container: 'mp4', durationSec: 0.5 });
});
afterAll(async () => {
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

/** GETs a URL with no credentials of any kind. */
async function fetchPlain(url: string): Promise<{ status: number; body: Buffer }> {
  const response = await request(url);
  return { status: response.statusCode, body: Buffer.from(await response.body.arrayBuffer()) };
}

describe('S3MediaHost on an S3-protocol server', () => {
  it('puts the input under the job and gives a presigned URL that works without credentials, then expires', async () => {
    const host = new S3MediaHost(s3.options({ urlTtlSec: 2 }));
    try {
      const media = await host.host(clip, { jobId: 'job-expiry' });
      expect(media.ossResolve).toBe(false);
      expect(media.laneId).toBeUndefined();
      expect(await s3.keys()).toEqual([expect.stringMatching(/^restyle\/job-expiry\/[0-9a-f-]{36}\.mp4$/)]);
      // The URL names the key id (not a secret) and a signature; the secret never appears.
      expect(media.url).toContain('X-Amz-Signature=');
      expect(media.url).not.toContain(s3.secretAccessKey);
      const fresh = await fetchPlain(media.url);
      expect(fresh.status).toBe(200);
      expect(fresh.body.equals(await readFile(clip))).toBe(true);
      await delay(3_200);
      const expired = await fetchPlain(media.url);
      expect(expired.status).toBe(403);
      expect(expired.body.toString()).toContain('expired');
      await host.release('job-expiry');
      expect(await s3.keys()).toEqual([]);
    } finally {
      host.close();
    }
  });

  it("removes a job's objects and only that job's", async () => {
    const host = new S3MediaHost(s3.options());
    try {
      await host.host(clip, { jobId: 'job-a' });
      await host.host(clip, { jobId: 'job-a' });
      await host.host(clip, { jobId: 'job-b' });
      await host.release('job-a');
      expect(await s3.keys()).toEqual([expect.stringMatching(/^restyle\/job-b\//)]);
      await host.release('job-b');
      await host.release('job-never-hosted');
      expect(await s3.keys()).toEqual([]);
    } finally {
      host.close();
    }
  });
});

describe('the queue with S3 media storage and the DashScope fake', () => {
  let fake: FakeDashScope;
  beforeAll(async () => {
    fake = await startFakeDashScope({ pendingMs: 50, runningMs: 200, render: false });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('sends DashScope a plain https-style presigned URL it downloads, and removes the object once the job ends', async () => {
    const host = new S3MediaHost(s3.options());
    const service = new RestyleService(
      serviceDeps({
        baseUrl: fake.baseUrl,
        dir,
        host,
        sinks: new Map([['test', new CliDeliverySink()]]),
      }),
    );
    try {
      await service.start();
      const outcome = await service.request({
        requester: { key: 'test:alice' },
        delivery: { platform: 'test', outPath: join(dir, 'out', `${randomUUID()}.mp4`) },
        inputPath: clip,
        styleId: 3,
        fps: 15,
        fit: false,
      });
      if (outcome.kind !== 'queued') throw new Error(outcome.kind);
      const job = await service.settled(outcome.job.id);
      expect(job.state.kind).toBe('delivered');
      const task = [...fake.tasks.values()].at(-1)!;
      expect(task.input.url.startsWith(`${s3.endpoint}/media/restyle/${job.id}/`)).toBe(true);
      expect(task.input.ossResolve).toBe(false);
      expect(task.input.url).not.toContain(s3.secretAccessKey);
      // No temporary upload was used.
      expect(fake.uploads.size).toBe(0);
      for (let i = 0; i < 100 && (await s3.keys()).length > 0; i++) await delay(20);
      expect(await s3.keys()).toEqual([]);
    } finally {
      await service.stop();
      host.close();
    }
  });
});
