import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS } from './logger.ts';

const numberFrom = (min: number, max: number) => {
  const error = `must be a number from ${min} to ${max}`;
  return z.coerce.number({ error }).min(min, error).max(max, error);
};

const KEY_REQUIRED =
  'is required: your DashScope API key (Beijing region), or a pool in DASHSCOPE_API_KEYS or DASHSCOPE_API_KEYS_FILE';

/** The environment the service reads, validated in one place. */
export const configSchema = z.object({
  /** One DashScope key; a pool of keys comes from DASHSCOPE_API_KEYS or DASHSCOPE_API_KEYS_FILE. */
  DASHSCOPE_API_KEY: z.string().trim().optional(),
  /** A pool of keys, comma-separated: one lane (one task at a time, one submit a second) per key. */
  DASHSCOPE_API_KEYS: z.string().trim().optional(),
  /** A file with one key per line (blank lines and lines starting with # are skipped). */
  DASHSCOPE_API_KEYS_FILE: z.string().trim().min(1).optional(),
  /** How long a key DashScope refused (auth, arrears, access) is left alone before it is tried again. */
  DASHSCOPE_KEY_RETRY_SEC: numberFrom(1, 86_400).default(300),
  DASHSCOPE_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://dashscope.aliyuncs.com'),
  DASHSCOPE_WORKSPACE: z.string().trim().min(1).optional(),
  /** Starting estimate of processing speed, seconds per second of video. */
  DASHSCOPE_SEC_PER_VIDEO_SEC: numberFrom(0.01, 100).default(2.2),
  DASHSCOPE_TASK_OVERHEAD_SEC: numberFrom(0, 600).default(4),
  DASHSCOPE_TASK_TIMEOUT_SEC: numberFrom(10, 86_400).default(1_800),
  /**
   * Production media storage (S3-compatible: Alibaba OSS, AWS S3, Cloudflare R2, MinIO): inputs go
   * to this bucket and DashScope gets presigned URLs. Unset, DashScope's temporary upload is used
   * (documented by Alibaba for development and testing).
   */
  MEDIA_S3_BUCKET: z.string().trim().min(1).optional(),
  /** The S3 endpoint; unset for AWS S3. e.g. https://oss-cn-beijing.aliyuncs.com */
  MEDIA_S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  MEDIA_S3_REGION: z.string().trim().min(1).default('us-east-1'),
  /** With the secret below; unset, the AWS SDK's default credential chain is used. */
  MEDIA_S3_ACCESS_KEY_ID: z.string().trim().min(1).optional(),
  MEDIA_S3_SECRET_ACCESS_KEY: z.string().trim().min(1).optional(),
  /** `true` puts the bucket in the path (MinIO and most self-hosted servers). */
  MEDIA_S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true' || value === '1'),
  /** Object keys start with this; a lifecycle rule on it removes what a crash left behind. */
  MEDIA_S3_PREFIX: z.string().default('restyle/'),
  /** How long the presigned URL given to DashScope works (it downloads the input when the task starts). */
  MEDIA_S3_URL_TTL_SEC: numberFrom(60, 604_800).default(21_600),
  RESTYLE_MAX_RESULT_BYTES: z.coerce.number().int().positive().default(500_000_000),
  RESTYLE_WORK_DIR: z.string().min(1).default(join(tmpdir(), 'restyle')),
  /** Jobs' inputs and results that must survive a restart. */
  RESTYLE_DATA_DIR: z.string().min(1).default('./data'),
  STORE_URL: z
    .string()
    .regex(/^(sqlite|redis|rediss):\/\//, 'must start with sqlite://, redis:// or rediss://')
    .default('sqlite://./data/restyle.sqlite'),
  /**
   * Lanes shared by every instance on this Redis (BullMQ): any number of instances use one pool of
   * keys, one task and one submit a second per key across all of them. Unset: lanes in this process.
   */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  /** Queues and keys on that Redis start with it, so deployments can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1-40 characters of A-Z, a-z, 0-9, _ and -')
    .default('restyle'),
  /** A lane worker silent this long is presumed dead; another takes its run over (following its task). */
  REDIS_LANE_LOCK_SEC: numberFrom(1, 600).default(30),
  QUEUE_MAX_WAITING_PER_USER: z.coerce.number().int().min(1).max(1_000).default(2),
  QUEUE_MAX_WAITING_TOTAL: z.coerce.number().int().min(1).max(100_000).default(200),
  RESULT_CACHE_HOURS: numberFrom(0, 24).default(24),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Enables the Telegram bot. */
  TELEGRAM_BOT_TOKEN: z
    .string()
    .trim()
    .regex(/^\d+:[\w-]+$/, 'must look like 123456789:AA… (the token @BotFather gave you)')
    .optional(),
  /** Bot API server; a self-hosted one (`telegram-bot-api --local`) lifts the file limits. */
  TELEGRAM_API_ROOT: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://api.telegram.org'),
  /**
   * File limits of the Bot API server: `cloud` (20 MB download, 50 MB upload) or `local` for a
   * self-hosted server in `--local` mode (2000 MB each). Unset, the cloud limits hold until the
   * server shows it runs `--local` (getFile answers with an absolute path), so a reverse proxy of
   * the cloud keeps the cloud limits.
   */
  TELEGRAM_API_LIMITS: z.enum(['cloud', 'local']).optional(),
  /** Override the download limit of the Bot API server (bytes). */
  TELEGRAM_MAX_DOWNLOAD_BYTES: z.coerce.number().int().positive().optional(),
  /** Override the upload limit of the Bot API server (bytes); larger results are re-encoded to fit. */
  TELEGRAM_MAX_UPLOAD_BYTES: z.coerce.number().int().positive().optional(),
  /** Webhook mode when set: the public https URL Telegram posts updates to. */
  TELEGRAM_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** Where the webhook server listens. */
  TELEGRAM_WEBHOOK_PORT: z.coerce.number().int().min(1).max(65_535).default(8443),
  TELEGRAM_WEBHOOK_HOST: z.string().min(1).default('0.0.0.0'),
  /** Checked on every webhook call (X-Telegram-Bot-Api-Secret-Token); derived from the bot token when unset. */
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1-256 characters of A-Z, a-z, 0-9, _ and -')
    .optional(),
  /** Comma-separated chat ids (users, groups) the bot serves; everyone when unset. */
  TELEGRAM_ALLOWED_CHATS: z
    .string()
    .trim()
    .regex(/^-?\d+(\s*,\s*-?\d+)*$/, 'must be chat ids separated by commas, e.g. 12345,-1001234567890')
    .transform((text) => text.split(',').map((id) => Number(id.trim())))
    .optional(),
  /** Restyles one Telegram user may start per UTC day; 0 means no limit. */
  TELEGRAM_DAILY_QUOTA: z.coerce.number().int().min(0).max(100_000).default(0),
  /** Least time between two edits of one status message. */
  TELEGRAM_STATUS_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  /** Enables the Discord bot. */
  DISCORD_TOKEN: z.string().trim().min(1).optional(),
  /** The application (client) id; read from Discord when unset. */
  DISCORD_APPLICATION_ID: z
    .string()
    .regex(/^\d{5,25}$/, 'must be the numeric application id')
    .optional(),
  /** Discord's REST base; the gateway URL is read from it too. */
  DISCORD_API_ROOT: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('https://discord.com/api'),
  /** Comma-separated guild ids the bot serves; every guild (and DMs) when unset. */
  DISCORD_ALLOWED_GUILDS: z
    .string()
    .trim()
    .regex(/^\d+(\s*,\s*\d+)*$/, 'must be guild ids separated by commas')
    .transform((text) => text.split(',').map((id) => id.trim()))
    .optional(),
  /** Restyles one Discord user may start per UTC day; 0 means no limit. */
  DISCORD_DAILY_QUOTA: z.coerce.number().int().min(0).max(100_000).default(0),
  /** Largest file the bot posts through channel endpoints (10 MiB without boosts). */
  DISCORD_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  /** Least time between two edits of one status message. */
  DISCORD_STATUS_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  /** Output frame rate of chat jobs (15-25). */
  RESTYLE_FPS: z.coerce.number().int().min(15).max(25).default(15),
  FFMPEG_PATH: z.string().min(1).optional(),
  FFPROBE_PATH: z.string().min(1).optional(),
});

/**
 * The DashScope keys the settings name, in order and without repeats: DASHSCOPE_API_KEY, then
 * DASHSCOPE_API_KEYS, then the lines of DASHSCOPE_API_KEYS_FILE. Problems are added to `problems`.
 */
function dashScopeKeys(env: NodeJS.ProcessEnv, problems: string[]): string[] {
  const keys = [env.DASHSCOPE_API_KEY ?? '', ...(env.DASHSCOPE_API_KEYS ?? '').split(',')];
  const file = env.DASHSCOPE_API_KEYS_FILE?.trim();
  if (file) {
    try {
      keys.push(...keysInFile(readFileSync(file, 'utf8')));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      problems.push(`DASHSCOPE_API_KEYS_FILE cannot be read (${code}): give a file with one key per line`);
      return [];
    }
  }
  const distinct = [...new Set(keys.map((key) => key.trim()).filter((key) => key !== ''))];
  const shown = env.DASHSCOPE_API_KEY ? ' (value hidden)' : '';
  if (distinct.length === 0) problems.push(`DASHSCOPE_API_KEY ${KEY_REQUIRED}${shown}`);
  return distinct;
}

/** The keys of a key file: one per line; blank lines and `#` comments skipped. */
function keysInFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The validated configuration; `DASHSCOPE_KEYS` is the pool of keys the settings name. */
export type AppConfig = z.output<typeof configSchema> & { readonly DASHSCOPE_KEYS: readonly string[] };

/** Every secret value the configuration holds, for the logger to remove wherever it appears. */
export function secretsOf(config: AppConfig): string[] {
  return [
    ...config.DASHSCOPE_KEYS,
    config.TELEGRAM_BOT_TOKEN,
    config.TELEGRAM_WEBHOOK_SECRET,
    config.DISCORD_TOKEN,
    config.MEDIA_S3_SECRET_ACCESS_KEY,
  ].filter((value): value is string => typeof value === 'string' && value !== '');
}

/** Variables whose values are secrets and are never echoed. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|STORE_URL|REDIS_URL/i;

/** Thrown with every configuration problem listed, secret values never shown. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Configuration problems:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Loads `.env` from the working directory, if present; variables already set win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/** Validates the environment; throws a ConfigError listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const keyProblems: string[] = [];
  const DASHSCOPE_KEYS = dashScopeKeys(env, keyProblems);
  const parsed = configSchema.safeParse(env);
  if (parsed.success && keyProblems.length === 0) return { ...parsed.data, DASHSCOPE_KEYS };
  const issues = parsed.success ? [] : parsed.error.issues;
  const problems = issues.map((issue) => {
    const name = String(issue.path[0] ?? '?');
    const value = env[name];
    const shown =
      value === undefined || value === ''
        ? ''
        : SECRET_NAME.test(name)
          ? ' (value hidden)'
          : ` (got "${value}")`;
    return `${name} ${issue.message}${shown}`;
  });
  throw new ConfigError([...keyProblems, ...problems]);
}
