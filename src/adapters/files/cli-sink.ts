import { copyFile, mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RestyleJob } from '../../core/job.ts';
import type { DeliveryReceipt, DeliverySink } from '../../core/ports.ts';

/** Delivery of command-line jobs: the result is written to the job's `outPath`. */
export class CliDeliverySink implements DeliverySink {
  constructor(
    /** Pause before writing, to widen the "fetched, not yet delivered" window in crash tests. */
    private readonly delayMs = 0,
  ) {}

  /** Resolves once the output file is complete (written aside, then renamed into place). */
  async deliver(job: RestyleJob, resultPath: string): Promise<DeliveryReceipt> {
    const outPath = job.delivery.outPath;
    if (typeof outPath !== 'string') throw new Error(`job ${job.id} has no output path`);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    await mkdir(dirname(outPath), { recursive: true });
    const partPath = `${outPath}.${job.id}.part`;
    await copyFile(resultPath, partPath);
    await rename(partPath, outPath);
    return {};
  }
}
