import { parseArgs } from 'node:util';
import { pathKindSync } from '../adapters/files/path-kind.ts';
import { type Locale, parseStyle, STYLES, type Style } from '../core/styles.ts';
import { describeViolation, localeFrom, t } from '../text/index.ts';
import { terminalLocale, UsageError } from './common.ts';

// `restyle video`'s arguments: parsed, checked all at once, and every problem named in the user's
// language (paths are classified without being opened).

export interface VideoArgs {
  readonly inputs: readonly string[];
  readonly style: Style;
  readonly fps: number;
  readonly out: string | undefined;
  readonly outDir: string | undefined;
  readonly fit: boolean;
  readonly json: boolean;
  readonly locale: Locale;
}

const VIDEO_OPTIONS = {
  style: { type: 'string', short: 's' },
  fps: { type: 'string' },
  out: { type: 'string', short: 'o' },
  'out-dir': { type: 'string' },
  fit: { type: 'boolean' },
  json: { type: 'boolean' },
  lang: { type: 'string' },
} as const;

const SHORT_OPTIONS: Readonly<Record<string, keyof typeof VIDEO_OPTIONS>> = { s: 'style', o: 'out' };

/**
 * Sorts out the arguments `parseArgs` would refuse in Node's English: unknown options (often a
 * file whose name starts with "-") and options missing their value, so they can be named in the
 * user's language. Returns the rest for `parseArgs`.
 */
function screenOptions(args: readonly string[]): {
  rest: string[];
  unknown: string[];
  missingValue: string[];
} {
  const rest: string[] = [];
  const unknown: string[] = [];
  const missingValue: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      rest.push(arg);
      continue;
    }
    const long = arg.startsWith('--');
    const name = long ? arg.slice(2).split('=')[0]! : SHORT_OPTIONS[arg.slice(1, 2)];
    const option = name === undefined ? undefined : (VIDEO_OPTIONS as Record<string, { type: string }>)[name];
    const inlineValue = long ? arg.includes('=') : arg.length > 2;
    if (!option || (option.type === 'boolean' && inlineValue)) {
      unknown.push(arg);
      continue;
    }
    if (option.type === 'string' && !inlineValue) {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('--')) {
        missingValue.push(`--${name}`);
        continue;
      }
      rest.push(arg, value);
      i += 1;
      continue;
    }
    rest.push(arg);
  }
  return { rest, unknown, missingValue };
}

export function parseVideoArgs(args: readonly string[], env: NodeJS.ProcessEnv): VideoArgs {
  const { rest, unknown, missingValue: missing } = screenOptions(args);
  const missingValue = new Set(missing);
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: VIDEO_OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const text = (value: string | boolean | undefined): string | undefined =>
    typeof value === 'string' ? value : undefined;
  const values = {
    style: text(parsed.values.style),
    fps: text(parsed.values.fps),
    out: text(parsed.values.out),
    'out-dir': text(parsed.values['out-dir']),
    fit: parsed.values.fit === true,
    json: parsed.values.json === true,
    lang: text(parsed.values.lang),
  };
  const inputs = parsed.positionals;
  const langOk = values.lang === undefined || ['en', 'zh'].includes(values.lang);
  const locale = langOk && values.lang !== undefined ? localeFrom(values.lang) : terminalLocale(env);
  const problems: string[] = [];
  for (const option of unknown) problems.push(t(locale, 'cli.usage.unknownOption', { option }));
  for (const option of missingValue) problems.push(t(locale, 'cli.usage.missingValue', { option }));
  if (inputs.length === 0 && unknown.length === 0) problems.push(t(locale, 'cli.usage.noInput'));
  if (values.out !== undefined && inputs.length > 1) problems.push(t(locale, 'cli.usage.outWithMany'));
  // Style ids and slugs are typed as they are: the list stays comma-separated in either language.
  const styles = STYLES.map((s) => `${s.id} ${s.slug}`).join(', ');
  let style: Style | undefined;
  if (values.style === undefined) {
    if (!missingValue.has('--style')) problems.push(t(locale, 'cli.usage.styleRequired', { styles }));
  } else {
    style = parseStyle(values.style);
    if (!style) problems.push(t(locale, 'cli.usage.unknownStyle', { asked: values.style, styles }));
  }
  const fps = values.fps === undefined ? 15 : Number(values.fps);
  if (!Number.isInteger(fps) || fps < 15 || fps > 25) {
    problems.push(t(locale, 'cli.usage.fps', { fps: String(values.fps) }));
  }
  if (!langOk) problems.push(t(locale, 'cli.usage.lang', { lang: String(values.lang) }));
  for (const input of inputs) {
    const problem = isUrl(input) ? undefined : inputPathProblem(input, locale);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0 || !style) throw new UsageError(problems.join('\n'), locale);
  return {
    inputs,
    style,
    fps,
    out: values.out,
    outDir: values['out-dir'],
    fit: values.fit ?? false,
    json: values.json ?? false,
    locale,
  };
}

/** Why `path` cannot be read as a clip, learned without opening it; undefined for a regular file. */
function inputPathProblem(path: string, locale: Locale): string | undefined {
  const found = pathKindSync(path);
  switch (found.kind) {
    case 'file':
      return undefined;
    case 'missing':
      return t(locale, found.viaLink ? 'cli.usage.brokenLink' : 'cli.usage.noSuchFile', { path });
    default: {
      const reason = describeViolation(
        { code: 'not-a-file', sizeBytes: 0, fileKind: found.kind, viaLink: found.viaLink },
        locale,
      );
      return t(locale, 'cli.usage.notAFile', { path, reason });
    }
  }
}

export function isUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}
