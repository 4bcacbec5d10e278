import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync } from 'node:fs';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ServiceFiles } from '../../core/ports.ts';

/** Service files on the local disk: results kept under `dataDir/results` until delivered. */
export class LocalServiceFiles implements ServiceFiles {
  private readonly resultsDir: string;

  constructor(dataDir: string) {
    this.resultsDir = join(dataDir, 'results');
    mkdirSync(this.resultsDir, { recursive: true });
  }

  /** sha256 of the file, streamed. */
  async hash(path: string): Promise<string> {
    const digest = createHash('sha256');
    await pipeline(createReadStream(path), digest);
    return digest.digest('hex');
  }

  resultPath(jobId: string): string {
    return join(this.resultsDir, `${jobId}.mp4`);
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }

  async exists(path: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  }
}
