import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Paths of the ffmpeg and ffprobe executables and the environment to run them with. */
export interface FfmpegBinaries {
  readonly ffmpeg: string;
  readonly ffprobe: string;
  /** Extra environment variables for the processes (static ffprobe builds need GCONV_PATH). */
  readonly env: Readonly<Record<string, string>>;
  /** Where the binaries came from, for logs and `restyle doctor`-style messages. */
  readonly source: 'env' | 'system' | 'npm';
}

const require = createRequire(import.meta.url);

function onPath(command: string): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
    return found === '' ? undefined : found;
  } catch {
    return undefined;
  }
}

function npmBinary(pkg: string): string | undefined {
  try {
    return (require(pkg) as { path: string }).path;
  } catch {
    return undefined;
  }
}

let cached: FfmpegBinaries | undefined;

/**
 * Finds ffmpeg and ffprobe: `FFMPEG_PATH`/`FFPROBE_PATH` first, then the system's, then the
 * static builds that `npm install` brings. Throws with a clear message when none exists.
 */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegBinaries {
  if (cached && env === process.env) return cached;
  // Static ffprobe builds crash on MPEG-TS while loading iconv modules; an empty GCONV_PATH makes
  // them skip those, and dynamically linked builds do not mind.
  const gconv = join(tmpdir(), 'restyle-empty-gconv');
  mkdirSync(gconv, { recursive: true });
  const runEnv = { GCONV_PATH: gconv };
  let result: FfmpegBinaries;
  const systemFfmpeg = onPath('ffmpeg');
  const systemFfprobe = onPath('ffprobe');
  if (env.FFMPEG_PATH && env.FFPROBE_PATH) {
    result = { ffmpeg: env.FFMPEG_PATH, ffprobe: env.FFPROBE_PATH, env: runEnv, source: 'env' };
  } else if (systemFfmpeg && systemFfprobe) {
    result = { ffmpeg: systemFfmpeg, ffprobe: systemFfprobe, env: runEnv, source: 'system' };
  } else {
    const ffmpeg = npmBinary('@ffmpeg-installer/ffmpeg');
    const ffprobe = npmBinary('@ffprobe-installer/ffprobe');
    if (!ffmpeg || !ffprobe) {
      throw new Error(
        'ffmpeg and ffprobe were not found: install them (apt-get install ffmpeg), run `npm install` ' +
          'to get the bundled builds, or set FFMPEG_PATH and FFPROBE_PATH.',
      );
    }
    result = { ffmpeg, ffprobe, env: runEnv, source: 'npm' };
  }
  if (env === process.env) cached = result;
  return result;
}
