import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DashScopeBackend } from './adapters/dashscope/backend.ts';
import { DashScopeTempUpload } from './adapters/dashscope/upload.ts';
import { resolveFfmpeg } from './adapters/ffmpeg/binaries.ts';
import { FfprobeVideoProbe } from './adapters/ffmpeg/probe.ts';
import { FfmpegTranscoder } from './adapters/ffmpeg/transcode.ts';
import { HttpDownloader } from './adapters/http/download.ts';
import type { AppConfig } from './config.ts';
import { systemClock } from './core/clock.ts';
import { DEFAULT_LIMITS } from './core/limits.ts';
import type { Logger } from './core/ports.ts';
import type { RunnerDeps } from './core/runner.ts';

/** Builds the runner's dependencies from the configuration; temporary files go under `workDir`. */
export function createRunnerDeps(config: AppConfig, logger: Logger, workDir: string): RunnerDeps {
  const backend = new DashScopeBackend({
    apiKey: config.DASHSCOPE_API_KEY,
    baseUrl: config.DASHSCOPE_BASE_URL,
    workspace: config.DASHSCOPE_WORKSPACE,
    logger,
  });
  const binaries = resolveFfmpeg({
    ...process.env,
    ...(config.FFMPEG_PATH ? { FFMPEG_PATH: config.FFMPEG_PATH } : {}),
    ...(config.FFPROBE_PATH ? { FFPROBE_PATH: config.FFPROBE_PATH } : {}),
  });
  return {
    probe: new FfprobeVideoProbe({ binaries }),
    transcoder: new FfmpegTranscoder({ binaries }),
    host: new DashScopeTempUpload(backend.client),
    backend,
    downloader: new HttpDownloader(),
    clock: systemClock,
    logger,
    limits: DEFAULT_LIMITS,
    speed: {
      secPerVideoSec: config.DASHSCOPE_SEC_PER_VIDEO_SEC,
      overheadSec: config.DASHSCOPE_TASK_OVERHEAD_SEC,
    },
    taskTimeoutMs: config.DASHSCOPE_TASK_TIMEOUT_SEC * 1000,
    maxResultBytes: config.RESTYLE_MAX_RESULT_BYTES,
    workDir,
    tempPath: (suffix) => join(workDir, `${randomUUID()}${suffix}`),
  };
}
