import type { LogFields, Logger } from './core/ports.ts';

/** Log levels, least to most severe. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// Shapes of secrets that may reach a message even when their value was never registered.
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/(Bearer\s+)[^\s"',]+/gi, '$1***'],
  [/\/bot\d+:[A-Za-z0-9_-]+/g, '/bot***'],
  [/\b\d{6,12}:[A-Za-z0-9_-]{30,}\b/g, '***'],
  [/\bsk-[A-Za-z0-9_-]{6,}/g, 'sk-***'],
  [
    /([?&](?:signature|Signature|OSSAccessKeyId|Expires|security-token|ex|is|hm|token|key|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s"']+/g,
    '$1***',
  ],
];

/** Removes registered secret values and secret-shaped strings from a text. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function safeFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  return JSON.stringify(fields, (_key, value: unknown) =>
    value instanceof Error ? { name: value.name, message: value.message } : value,
  );
}

/** Options of the stderr logger. */
export interface LoggerOptions {
  readonly level: LogLevel;
  /** Values that must never be written (API keys, bot tokens). */
  readonly secrets: readonly string[];
  /** Where lines go; stderr by default. */
  readonly write?: (line: string) => void;
  /** JSON lines instead of human-readable text. */
  readonly json?: boolean;
}

/** A logger that writes one redacted line per event. */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const time = new Date().toISOString();
    const line = options.json
      ? JSON.stringify({ time, level, message, ...fields })
      : `${time} ${level.toUpperCase()} ${message}${fields ? ` ${safeFields(fields)}` : ''}`;
    write(redact(line, options.secrets));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
