import type { Locale } from '../core/styles.ts';
import { type Phrases, reader } from './catalogue.ts';

/** Units, rough durations and list separators. */
export const FORMAT_PHRASES = {
  'unit.seconds': { en: '{seconds} s', zh: '{seconds} 秒' },
  'unit.bytes': { en: '{bytes} bytes', zh: '{bytes} 字节' },
  'eta.seconds': { en: 'about {seconds} s', zh: '约 {seconds} 秒' },
  'eta.minutes': { en: 'about {minutes} min', zh: '约 {minutes} 分钟' },
  'eta.hours': { en: 'about {hours} h', zh: '约 {hours} 小时' },
  'eta.hoursMinutes': { en: 'about {hours} h {minutes} min', zh: '约 {hours} 小时 {minutes} 分钟' },
  /** Between the items of an enumeration (containers, styles). */
  'join.list': { en: ', ', zh: '、' },
  /** Between clauses that each say a whole thing (fit changes). */
  'join.clauses': { en: '; ', zh: '；' },
  /** Between the last two of a short list of names. */
  'join.and': { en: ' and ', zh: '和' },
} as const satisfies Phrases;

const say = reader(FORMAT_PHRASES);

/** Picks the product's locale from a language tag or POSIX locale (`zh-CN`, `zh_CN.UTF-8`, `en`). */
export function localeFrom(tag: string | undefined): Locale {
  return tag?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

/** `41.2 s` / `41.2 秒`, one decimal, trailing `.0` dropped. */
export function formatSeconds(seconds: number, locale: Locale): string {
  return say(locale, 'unit.seconds', { seconds: trimmed(seconds, 1) });
}

/** `value` rounded half up to `decimals`, immune to binary noise (29.95 → 30.0, not 29.9). */
function rounded(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale + Math.sign(value) * 1e-7) / scale;
}

/** A number with the fewest decimals (at least `min`) that still tells it apart from `other`. */
function decimalsApart(value: number, other: number, min: number): number {
  let decimals = min;
  while (decimals < 6 && rounded(value, decimals) === rounded(other, decimals)) decimals++;
  return decimals;
}

/** `value` at `decimals` without trailing zeros: `30.00` → `30`, `30.10` → `30.1`. */
function trimmed(value: number, decimals: number): string {
  const text = rounded(value, decimals).toFixed(decimals);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/**
 * Two numbers with as many decimals as it takes to tell them apart (at least `min`), so a sentence
 * comparing them stays true: `30.04` against `30`, never `30` against `30`.
 */
export function numbersApart(value: number, other: number, min = 1): [string, string] {
  const decimals = Math.max(decimalsApart(value, other, min), 0);
  return [trimmed(value, decimals), trimmed(other, decimals)];
}

/** Two lengths in seconds, told apart: `30.04 s` and `30 s`, `30.04 s` and `29.95 s`. */
export function secondsApart(value: number, other: number, locale: Locale): [string, string] {
  const [a, b] = numbersApart(value, other);
  return [say(locale, 'unit.seconds', { seconds: a }), say(locale, 'unit.seconds', { seconds: b })];
}

/**
 * A length before and after a change: the after to the hundredth (`29.96 s`, not `30 s`, which
 * would read as exactly the limit), the before with enough decimals to tell it from the after.
 */
export function secondsChanged(from: number, to: number, locale: Locale): [string, string] {
  const [fromText] = numbersApart(from, to);
  const seconds = (text: string): string => say(locale, 'unit.seconds', { seconds: text });
  return [seconds(fromText), seconds(trimmed(to, 2))];
}

/** A count of bytes with thousands separators: `100,000,001`. */
export function groupDigits(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

/** `100,000,001 bytes` / `100,000,001 字节`. */
export function formatExactBytes(bytes: number, locale: Locale): string {
  return say(locale, 'unit.bytes', { bytes: groupDigits(bytes) });
}

/** Bytes in decimal megabytes, as the limits are stated: `101.0 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** Sizes the way chat platforms state their limits ("20 MB" is 20 × 1024 × 1024 bytes). */
export function formatMebibytes(bytes: number): string {
  if (bytes < 100 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MB`;
}

/** `1:05` style clock for durations in milliseconds. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** A rough, friendly duration: `about 40 s`, `about 2 min`, `约 2 分钟`. */
export function formatEta(ms: number, locale: Locale): string {
  const sec = Math.max(1, Math.round(ms / 1000));
  if (sec < 60) return say(locale, 'eta.seconds', { seconds: sec < 10 ? sec : Math.round(sec / 5) * 5 });
  const minutes = Math.round(sec / 60);
  if (minutes < 60) return say(locale, 'eta.minutes', { minutes });
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest > 0
    ? say(locale, 'eta.hoursMinutes', { hours, minutes: rest })
    : say(locale, 'eta.hours', { hours });
}

/** A short text progress bar: `▰▰▰▰▱▱▱▱▱▱`. */
export function textBar(fraction: number, width = 10): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'▰'.repeat(filled)}${'▱'.repeat(width - filled)}`;
}

/** A frame size: `640×360`. */
export function formatSize(width: number, height: number): string {
  return `${width}×${height}`;
}

const CONTAINER_NAMES: Record<string, string> = {
  mp4: 'MP4',
  mov: 'MOV',
  avi: 'AVI',
  mkv: 'MKV',
  webm: 'WebM',
  flv: 'FLV',
  ts: 'TS',
  mpg: 'MPG',
  mxf: 'MXF',
  '3gp': '3GP',
  asf: 'ASF/WMV',
  ogg: 'Ogg',
};

/** The name people know a container by: `mkv` → `MKV`, `asf` → `ASF/WMV`. */
export function containerName(container: string): string {
  return CONTAINER_NAMES[container] ?? container.toUpperCase();
}

/** Items joined the way the language lists them: `MP4, MOV` / `MP4、MOV`. */
export function formatList(items: readonly string[], locale: Locale): string {
  return items.join(say(locale, 'join.list'));
}

/** Clauses joined the way the language separates them: `a; b` / `a；b`. */
export function formatClauses(clauses: readonly string[], locale: Locale): string {
  return clauses.join(say(locale, 'join.clauses'));
}

/** A few names joined with "and" between each: `"a" and "b"` / `"a"和"b"`. */
export function formatAnd(items: readonly string[], locale: Locale): string {
  return items.join(say(locale, 'join.and'));
}

const WIDE =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/u;

/** Columns a text takes in a terminal: CJK characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += WIDE.test(char) ? 2 : 1;
  return width;
}

/** Pads a text with spaces to a terminal width (CJK characters count twice). */
export function padDisplay(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}
