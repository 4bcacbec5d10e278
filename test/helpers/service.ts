import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DashScopeBackend } from '../../src/adapters/dashscope/backend.ts';
import { DashScopeTempUpload, TempUploadHost } from '../../src/adapters/dashscope/upload.ts';
import { FfprobeVideoProbe } from '../../src/adapters/ffmpeg/probe.ts';
import { FfmpegTranscoder } from '../../src/adapters/ffmpeg/transcode.ts';
import { LocalServiceFiles } from '../../src/adapters/files/local-files.ts';
import { HttpDownloader } from '../../src/adapters/http/download.ts';
import { systemClock } from '../../src/core/clock.ts';
import { DEFAULT_LIMITS } from '../../src/core/limits.ts';
import type { ServiceDeps } from '../../src/core/queue/service.ts';
import type { RetryOptions } from '../../src/core/retry.ts';
import { SpeedModel } from '../../src/core/speed.ts';
import { silentLogger } from '../../src/logger.ts';
import { MemoryJobStore } from '../fakes/memory-store.ts';
import { testBinaries } from './media.ts';

/**
 * The service's dependencies with the real adapters, pointed at a DashScope fake at `baseUrl`,
 * files under `dir` and an in-memory store; anything can be overridden.
 */
export function serviceDeps(
  options: { baseUrl: string; dir: string; backendRetry?: RetryOptions } & Partial<ServiceDeps>,
): ServiceDeps {
  const { baseUrl, dir, backendRetry, ...overrides } = options;
  const backend = new DashScopeBackend({
    apiKey: 'sk-test-key',
    baseUrl,
    ...(backendRetry ? { retry: backendRetry } : {}),
  });
  const binaries = testBinaries();
  return {
    probe: new FfprobeVideoProbe({ binaries }),
    transcoder: new FfmpegTranscoder({ binaries }),
    host: TempUploadHost.single(new DashScopeTempUpload(backend.client)),
    backend,
    downloader: new HttpDownloader(),
    clock: systemClock,
    logger: silentLogger,
    limits: DEFAULT_LIMITS,
    taskTimeoutMs: 60_000,
    maxResultBytes: 100_000_000,
    tempPath: (suffix) => join(dir, `${randomUUID()}${suffix}`),
    store: new MemoryJobStore(),
    files: new LocalServiceFiles(join(dir, 'data')),
    sinks: new Map(),
    speed: new SpeedModel({ secPerVideoSec: 0.2, overheadSec: 0.3 }),
    queueLimits: { maxWaitingPerUser: 5, maxWaitingTotal: 50 },
    newId: () => randomUUID(),
    ...overrides,
  };
}

/** A TCP port free on loopback right now (for a server a test starts next). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
