import { z } from 'zod';
import type { RestyleJob } from '../job.ts';
import type { Logger, RecordStore } from '../ports.ts';
import { defineScope, openScope, RecordError, type RecordScope } from '../records.ts';

/** Results by input content, style, fps and fitting: reused instead of paying for a new task. */
export const RESULT_SCOPE = defineScope({
  name: 'core.result',
  schema: z.object({ outputUrl: z.string().min(1), taskId: z.string().min(1) }),
  ttlMs: 24 * 3_600_000,
});

/** A result that can be fetched again. */
export type CachedResult = z.infer<typeof RESULT_SCOPE.schema>;

/** What makes two jobs' results interchangeable. */
export type CacheKeyParts = Pick<RestyleJob, 'inputHash' | 'styleId' | 'fps' | 'changes'>;

/** Id of a result in the cache; a fitted clip differs from its source, so the two are kept apart. */
export function resultCacheId(job: CacheKeyParts): string {
  return `${job.inputHash}:${job.styleId}:${job.fps}:${job.changes.length > 0 ? 'fit' : 'raw'}`;
}

/** Remembers where results are (DashScope keeps them about a day) so the same clip is not paid twice. */
export class ResultCache {
  private readonly scope: RecordScope<CachedResult>;

  constructor(
    store: RecordStore,
    private readonly logger: Logger,
    /** How long a result is reused (24 h by default). */
    private readonly ttlMs = RESULT_SCOPE.ttlMs,
  ) {
    this.scope = openScope(store, RESULT_SCOPE);
  }

  /** The result of an earlier job with the same input, style, fps and fitting, if still known. */
  async find(job: CacheKeyParts): Promise<CachedResult | undefined> {
    const id = resultCacheId(job);
    try {
      return await this.scope.get(id);
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      // A damaged cache entry only costs a fresh task: drop it rather than refuse the request.
      this.logger.warn('dropping a damaged result cache record', { error: error.message });
      await this.scope.delete(id);
      return undefined;
    }
  }

  /** Records the result of `job` for later requests of the same clip. */
  async remember(job: CacheKeyParts, result: CachedResult): Promise<void> {
    await this.scope.set(resultCacheId(job), result, this.ttlMs);
  }
}
