/** File limits of a Bot API server. */
export interface TelegramFileLimits {
  /** Largest file getFile hands out (20 MB in the cloud). */
  readonly maxDownloadBytes: number;
  /** Largest file the bot may upload (50 MB in the cloud). */
  readonly maxUploadBytes: number;
}

/** The cloud Bot API's limits, and those of a self-hosted server in `--local` mode. */
export const TELEGRAM_FILE_LIMITS = {
  cloud: { maxDownloadBytes: 20 * 1024 * 1024, maxUploadBytes: 50 * 1024 * 1024 },
  local: { maxDownloadBytes: 2000 * 1024 * 1024, maxUploadBytes: 2000 * 1024 * 1024 },
} as const satisfies Record<'cloud' | 'local', TelegramFileLimits>;

/** What the operator set about the server's limits. */
export interface TelegramLimitSettings {
  /** `cloud` or `local` when the operator said so; otherwise learned from the server. */
  readonly kind?: 'cloud' | 'local' | undefined;
  /** The Bot API root: the official one is the cloud for sure; any other may be a proxy or a local server. */
  readonly apiRoot: string;
  readonly maxDownloadBytes?: number | undefined;
  readonly maxUploadBytes?: number | undefined;
}

/**
 * The file limits in force. A root other than api.telegram.org may be a reverse proxy of the cloud
 * (as operators in mainland China use) or a `--local` server, so it is not taken as either: the
 * cloud limits hold until the server shows otherwise — a `--local` server answers getFile with an
 * absolute path — unless the operator set the kind or the byte limits.
 */
export class TelegramServerLimits {
  private kind: 'cloud' | 'local';
  /** True once the kind is known (set, official root, or shown by the server). */
  private known: boolean;

  constructor(private readonly settings: TelegramLimitSettings) {
    const official = new URL(settings.apiRoot).hostname === 'api.telegram.org';
    this.kind = settings.kind ?? 'cloud';
    this.known = settings.kind !== undefined || official;
  }

  /** Largest file the bot can download now. */
  get maxDownloadBytes(): number {
    return this.settings.maxDownloadBytes ?? TELEGRAM_FILE_LIMITS[this.kind].maxDownloadBytes;
  }

  /** Largest file the bot can upload now. */
  get maxUploadBytes(): number {
    return this.settings.maxUploadBytes ?? TELEGRAM_FILE_LIMITS[this.kind].maxUploadBytes;
  }

  /** Whether to ask the server for a file of this (claimed) size, rather than refuse it up front. */
  worthAsking(sizeBytes: number): boolean {
    const explicit = this.known || this.settings.maxDownloadBytes !== undefined;
    return sizeBytes <= this.maxDownloadBytes || !explicit;
  }

  /** getFile answered with a path on the server's own disk: it runs in `--local` mode. */
  sawLocalPath(): void {
    if (this.settings.kind !== undefined) return;
    this.kind = 'local';
    this.known = true;
  }

  /** getFile answered "file is too big": the server holds the cloud's download limit. */
  sawTooBig(): void {
    if (this.settings.kind !== undefined) return;
    this.kind = 'cloud';
    this.known = true;
  }
}
