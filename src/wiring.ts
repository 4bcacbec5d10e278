import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { keyPool, type PooledKey, poolUploadHost } from './adapters/dashscope/key-pool.ts';
import { resolveFfmpeg } from './adapters/ffmpeg/binaries.ts';
import { FfprobeVideoProbe } from './adapters/ffmpeg/probe.ts';
import { FfmpegTranscoder } from './adapters/ffmpeg/transcode.ts';
import { LocalServiceFiles } from './adapters/files/local-files.ts';
import { HttpDownloader } from './adapters/http/download.ts';
import { checkLaneRedis } from './adapters/redis/lane-keys.ts';
import { LaneWorkers } from './adapters/redis/lane-workers.ts';
import { RedisLane } from './adapters/redis/redis-lane.ts';
import { S3MediaHost } from './adapters/s3/media-store.ts';
import { createJobStore, describeStoreUrl } from './adapters/store/create-store.ts';
import type { AppConfig } from './config.ts';
import { systemClock } from './core/clock.ts';
import { DEFAULT_LIMITS } from './core/limits.ts';
import type { DeliverySink, JobStore, Lane, Logger, MediaHost, VideoProbe } from './core/ports.ts';
import { InProcessLane } from './core/queue/lane.ts';
import { RestyleService, type ServiceDeps } from './core/queue/service.ts';
import { SpeedModel } from './core/speed.ts';

/** The service, its store and where its temporary files go. */
export interface Wired {
  readonly service: RestyleService;
  readonly store: JobStore;
  readonly deps: ServiceDeps;
  /**
   * Reads results before delivery: streams only (no packet scan, which is for inputs of unknown
   * origin), with slots of its own so a delivery never waits behind a burst of incoming clips.
   */
  readonly resultProbe: VideoProbe;
  /** Removes temporary files and closes the store. */
  close(): Promise<void>;
}

/** Builds the adapters and the service from the configuration; `sinks` deliver per platform. */
export async function createService(
  config: AppConfig,
  logger: Logger,
  sinks: ReadonlyMap<string, DeliverySink>,
  options: Pick<ServiceDeps, 'keysOut'> & { readonly role?: 'chat' | 'all' } = {},
): Promise<Wired> {
  const pool = keyPool(config.DASHSCOPE_KEYS, {
    baseUrl: config.DASHSCOPE_BASE_URL,
    workspace: config.DASHSCOPE_WORKSPACE,
    logger,
  });
  const taskTimeoutMs = config.DASHSCOPE_TASK_TIMEOUT_SEC * 1000;
  const lanes = await createLanes(config, pool, logger, options.role ?? 'all');
  const binaries = resolveFfmpeg({
    ...process.env,
    ...(config.FFMPEG_PATH ? { FFMPEG_PATH: config.FFMPEG_PATH } : {}),
    ...(config.FFPROBE_PATH ? { FFPROBE_PATH: config.FFPROBE_PATH } : {}),
  });
  // Named after this process, so the next start can remove what a killed one left behind.
  await removeDeadWorkDirs(config.RESTYLE_WORK_DIR);
  const workDir = join(config.RESTYLE_WORK_DIR, `${process.pid}-${randomUUID()}`);
  mkdirSync(workDir, { recursive: true });
  const store = await createJobStore(config.STORE_URL, { logger });
  const deps: ServiceDeps = {
    probe: new FfprobeVideoProbe({ binaries }),
    transcoder: new FfmpegTranscoder({ binaries }),
    host: mediaHost(config, pool),
    backend: pool[0]!.backend,
    downloader: new HttpDownloader(),
    clock: systemClock,
    logger,
    limits: DEFAULT_LIMITS,
    taskTimeoutMs,
    maxResultBytes: config.RESTYLE_MAX_RESULT_BYTES,
    tempPath: (suffix) => join(workDir, `${randomUUID()}${suffix}`),
    store,
    files: new LocalServiceFiles(config.RESTYLE_DATA_DIR),
    sinks,
    speed: new SpeedModel({
      secPerVideoSec: config.DASHSCOPE_SEC_PER_VIDEO_SEC,
      overheadSec: config.DASHSCOPE_TASK_OVERHEAD_SEC,
    }),
    queueLimits: {
      maxWaitingPerUser: config.QUEUE_MAX_WAITING_PER_USER,
      maxWaitingTotal: config.QUEUE_MAX_WAITING_TOTAL,
    },
    resultCacheTtlMs: config.RESULT_CACHE_HOURS * 3_600_000,
    newId: () => randomUUID(),
    lanes: lanes.lanes,
    ...(options.keysOut ? { keysOut: options.keysOut } : {}),
  };
  const service = new RestyleService(deps);
  return {
    service,
    store,
    deps,
    resultProbe: new FfprobeVideoProbe({ binaries, scan: false }),
    async close() {
      await lanes.close();
      await store.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** Where tasks run: lanes in this process, or lanes shared on Redis (with this process's workers unless `chat`). */
async function createLanes(
  config: AppConfig,
  pool: readonly PooledKey[],
  logger: Logger,
  role: 'chat' | 'all',
): Promise<{ readonly lanes: Lane[]; close(): Promise<void> }> {
  const retryMs = config.DASHSCOPE_KEY_RETRY_SEC * 1000;
  const setAside = { firstMs: retryMs, longestMs: Math.max(retryMs, 3_600_000) };
  const taskTimeoutMs = config.DASHSCOPE_TASK_TIMEOUT_SEC * 1000;
  if (!config.REDIS_URL) {
    const lanes = pool.map(
      (key) =>
        new InProcessLane({
          id: key.laneId,
          backend: key.backend,
          clock: systemClock,
          logger,
          taskTimeoutMs,
          setAside,
        }),
    );
    return { lanes, close: async () => undefined };
  }
  await checkLaneRedis(config.REDIS_URL, describeStoreUrl(config.REDIS_URL));
  const shared = { redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX };
  const lanes = pool.map(
    (key) =>
      new RedisLane({
        ...shared,
        id: key.laneId,
        backend: key.backend,
        clock: systemClock,
        logger,
        setAside,
      }),
  );
  await Promise.all(lanes.map((lane) => lane.ready()));
  const workers = role === 'all' ? await startLaneWorkers(config, pool, logger) : undefined;
  return {
    lanes,
    async close() {
      await workers?.stop();
      await Promise.all(lanes.map((lane) => lane.close()));
    },
  };
}

/** This process's workers for every key of the pool on the shared lanes (`REDIS_URL` must be set). */
export async function startLaneWorkers(
  config: AppConfig,
  pool: readonly PooledKey[],
  logger: Logger,
): Promise<LaneWorkers> {
  if (!config.REDIS_URL) throw new Error('lane workers need REDIS_URL');
  await checkLaneRedis(config.REDIS_URL, describeStoreUrl(config.REDIS_URL));
  const retryMs = config.DASHSCOPE_KEY_RETRY_SEC * 1000;
  const workers = new LaneWorkers({
    redisUrl: config.REDIS_URL,
    prefix: config.REDIS_PREFIX,
    keys: pool.map((key) => ({ laneId: key.laneId, backend: key.backend })),
    logger,
    taskTimeoutMs: config.DASHSCOPE_TASK_TIMEOUT_SEC * 1000,
    setAside: { firstMs: retryMs, longestMs: Math.max(retryMs, 3_600_000) },
    lockMs: config.REDIS_LANE_LOCK_SEC * 1000,
    stalledCheckMs: Math.max(500, (config.REDIS_LANE_LOCK_SEC * 1000) / 2),
  });
  await workers.start();
  return workers;
}

/** The operator's S3-compatible storage when configured, else DashScope's temporary upload per key. */
function mediaHost(config: AppConfig, pool: readonly PooledKey[]): MediaHost {
  if (!config.MEDIA_S3_BUCKET) return poolUploadHost(pool);
  const { MEDIA_S3_ACCESS_KEY_ID: accessKeyId, MEDIA_S3_SECRET_ACCESS_KEY: secretAccessKey } = config;
  return new S3MediaHost({
    bucket: config.MEDIA_S3_BUCKET,
    endpoint: config.MEDIA_S3_ENDPOINT,
    region: config.MEDIA_S3_REGION,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    forcePathStyle: config.MEDIA_S3_FORCE_PATH_STYLE,
    prefix: config.MEDIA_S3_PREFIX,
    urlTtlSec: config.MEDIA_S3_URL_TTL_SEC,
  });
}

/** Removes the work folders of processes that no longer run (killed before they could clean up). */
async function removeDeadWorkDirs(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true });
  }
}

/** True while a process with this id exists (signal 0 only checks). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
