// Files the service left behind after the drain and its clean stop: anything in its data and work
// dirs that no unfinished job (as `restyle jobs --json` lists them) still needs.
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { ClipFactory } from './clips.ts';

/** A row of `restyle jobs --json` (only the fields the soak reads). */
export interface JobRow {
  readonly id: string;
  readonly state: string;
  readonly input: string;
}

/** What was left on disk. */
export interface LeftFiles {
  /** Files no unfinished job needs: job inputs, results, downloads and temp files of ended requests. */
  readonly orphaned: { path: string; bytes: number; requestId: number | undefined }[];
  /** Discord clips kept a day on purpose (for "another style"); not counted as orphans. */
  readonly keptClips: number;
  /** Per-process temp dirs under the work dir that no clean stop removed (one per kill, at most). */
  readonly leftoverWorkDirs: number;
  /** Files an unfinished job still needs. */
  readonly live: number;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else files.push(path);
  }
  return files;
}

/**
 * Rules: with the service stopped, a file in the data dir or the work dir is
 *  - live when an unfinished job names it as its input, or it is that job's result (`…/<job id>.mp4`);
 *  - a kept clip when it sits in `data/clips` and is a complete clip (Discord keeps them a day);
 *  - orphaned otherwise (a job input, result, partial download or temp file nothing will use or remove).
 */
export async function leftFiles(
  dataDir: string,
  workDir: string,
  unfinished: readonly JobRow[],
  clips: ClipFactory,
): Promise<LeftFiles> {
  const inputs = new Set(unfinished.map((job) => job.input));
  const ids = new Set(unfinished.map((job) => job.id));
  const orphaned: LeftFiles['orphaned'] = [];
  let keptClips = 0;
  let live = 0;
  for (const path of [...(await walk(dataDir)), ...(await walk(workDir))]) {
    const name = path.split(sep).pop() ?? '';
    if (inputs.has(path) || ids.has(name.replace(/\.mp4$/, ''))) {
      live += 1;
      continue;
    }
    const requestId = await clips.requestOf(path);
    if (relative(dataDir, path).startsWith(`clips${sep}`) && requestId !== undefined) {
      keptClips += 1;
      continue;
    }
    const bytes = (await stat(path).catch(() => undefined))?.size ?? 0;
    orphaned.push({ path, bytes, requestId });
  }
  const workEntries = await readdir(workDir, { withFileTypes: true }).catch(() => []);
  return {
    orphaned,
    keptClips,
    leftoverWorkDirs: workEntries.filter((e) => e.isDirectory()).length,
    live,
  };
}
