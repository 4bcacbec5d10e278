import type { VideoLimits } from '../../core/limits.ts';
import type { Downloader, JobStore, Logger, ServiceFiles, Transcoder, VideoProbe } from '../../core/ports.ts';
import type { RestyleService } from '../../core/queue/service.ts';

/** What every chat bot takes from the service it runs in. */
export interface BotDeps {
  readonly service: RestyleService;
  readonly store: JobStore;
  readonly probe: VideoProbe;
  readonly transcoder: Transcoder;
  readonly downloader: Downloader;
  readonly files: Pick<ServiceFiles, 'remove'>;
  readonly tempPath: (suffix: string) => string;
  /** Where jobs' inputs are kept until they end (survives restarts). */
  readonly inputsDir: string;
  readonly videoLimits: VideoLimits;
  readonly logger: Logger;
  /** Output frame rate of chat jobs. */
  readonly fps: number;
  /** Clips one person may have waiting, counting those still being checked. */
  readonly maxWaitingPerUser: number;
}

/** What every chat bot is configured with. */
export interface BotSettings {
  /** Restyles per person per UTC day; 0 for no limit. */
  readonly dailyQuota: number;
  /** Least time between two edits of a status message. */
  readonly statusIntervalMs: number;
}
