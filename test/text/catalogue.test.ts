import { describe, expect, it } from 'vitest';
import { DISCORD_PHRASES, discordStatusText, TEXT as TEXT_DISCORD } from '../../src/bots/discord/wording.ts';
import {
  commandList,
  helpText,
  stylesReply,
  TELEGRAM_PHRASES,
  TEXT as TEXT_TELEGRAM,
} from '../../src/bots/telegram/wording.ts';
import { describeEnd } from '../../src/cli/common.ts';
import { formatProgressLine, PROGRESS_COLUMN_GAP } from '../../src/cli/progress.ts';
import { RemoteError } from '../../src/core/errors.ts';
import type { FitChange } from '../../src/core/fit.ts';
import type { JobFailure, RestyleJob } from '../../src/core/job.ts';
import { checkVideo, DEFAULT_LIMITS, type LimitViolation } from '../../src/core/limits.ts';
import { styleById } from '../../src/core/styles.ts';
import { fill, type Phrases, placeholdersOf } from '../../src/text/catalogue.ts';
import {
  CATALOGUE,
  CATALOGUE_AREAS,
  describeFitChange,
  describeRemoteError,
  describeViolation,
  downloadTooLargeText,
  failureText,
  fitChangesText,
  fitHint,
  formatEta,
  limitsText,
  queueLineText,
  quotaText,
  refusalText,
  rejectionText,
  type StatusView,
  statusText,
} from '../../src/text/index.ts';
import { straySpaces } from './spacing.ts';

/** Every keyed phrase set: the platform-neutral areas and each platform's own. */
const AREAS: Record<string, Phrases> = {
  ...CATALOGUE_AREAS,
  telegram: TELEGRAM_PHRASES,
  discord: DISCORD_PHRASES,
};

/**
 * A realistic value per placeholder name, in each language. Names mean one kind of value across
 * the catalogue, so Chinese values that begin or end with a Chinese character (a style name, a
 * duration in 秒, a quoted user input) show every place where a space would sit next to them.
 */
const SAMPLES: Record<string, string | { en: string; zh: string }> = {
  seconds: '8',
  bytes: '100,000,001',
  kind: { en: 'a folder', zh: '一个文件夹' },
  declared: { en: '10 s', zh: '10 秒' },
  readable: { en: '4.9 s', zh: '4.9 秒' },
  picture: { en: '20 s', zh: '20 秒' },
  missing: '51%',
  format: 'GIF',
  stream: { en: 'audio', zh: '音频' },
  runs: { en: 'the audio runs to 35 s', zh: '音频长达 35 秒' },
  option: '-x',
  role: 'manager',
  minutes: '2',
  hours: '1',
  position: '3',
  total: '5',
  percent: '60',
  index: '1',
  count: '2',
  quota: '5',
  limit: '2',
  min: '15',
  max: '100.0 MB',
  minSide: '256',
  maxSide: '4096',
  usual: '15',
  id: '7',
  eta: { en: 'about 2 min', zh: '约 2 分钟' },
  time: '<t:1700000000:R>',
  until: '<t:1700000000:f>',
  elapsed: '0:42',
  left: '0:20',
  bar: '▰▰▰▰▰▰▱▱▱▱',
  style: { en: 'Chinese ink wash', zh: '中国水墨' },
  names: { en: '"restyle" and "Restyle video"', zh: '“restyle”和“重绘视频”' },
  where: { en: '#3 in line, about 2 min', zh: '第 3 位，约 2 分钟' },
  what: 'PNG image',
  input: 'clip.mp4',
  file: '`clip.mp4`',
  container: 'WebM',
  allowed: { en: 'MP4, MOV, MKV', zh: 'MP4、MOV、MKV' },
  codec: 'theora',
  duration: { en: '41.2 s', zh: '41.2 秒' },
  maxDuration: { en: '30 s', zh: '30 秒' },
  kept: { en: '30 s', zh: '30 秒' },
  size: '101.0 MB',
  frame: '5000×200',
  ratio: '25.00',
  from: '640×360',
  to: '480×270',
  changes: { en: 'trimmed from 41.2 s to 30 s', zh: '截取前 30 秒（原长 41.2 秒）' },
  reason: { en: '41.2 s is longer than the 30 s limit.', zh: '视频时长 41.2 秒，超过 30 秒的上限。' },
  text: { en: 'trimmed from 41.2 s to 30 s', zh: '截取前 30 秒（原长 41.2 秒）' },
  problem: { en: '--style is required.', zh: '必须指定 --style。' },
  detail: 'HTTP 500 from the server',
  error: 'HTTP 401 Unauthorized',
  trace: { en: 'InternalError.Algo, request r-1', zh: 'InternalError.Algo、请求 r-1' },
  requestId: 'r-1',
  taskId: 't-1',
  code: 'InternalError.Algo',
  cancel: { en: 'Cancel', zh: '取消' },
  example: '/restyle 3d',
  path: '/tmp/视频.chinese-ink.mp4',
  styles: '0 japanese-manga, 1 american-comic',
  asked: { en: 'watercolour', zh: '水彩' },
  command: { en: 'restyle', zh: '重绘' },
  fps: '30',
  lang: 'fr',
  args: { en: 'now', zh: '现在' },
  slugs: 'japanese-manga, chinese-ink',
  guild: '123456789012345678',
  application: '987654321098765432',
  bot: 'RestyleBot',
  who: '<@42>',
  status: { en: '✅ Chinese ink wash: done!', zh: '✅ 中国水墨：完成！' },
};

function sample(name: string, locale: 'en' | 'zh'): string | undefined {
  const value = SAMPLES[name];
  return typeof value === 'string' ? value : value?.[locale];
}

/** What is wrong with a set of phrases: a missing language, different placeholders, stray spaces. */
function problemsOf(phrases: Phrases): string[] {
  const problems: string[] = [];
  for (const [key, phrase] of Object.entries(phrases)) {
    const languages = Object.keys(phrase).sort();
    if (languages.join() !== 'en,zh') problems.push(`${key}: languages ${languages.join(', ')}`);
    for (const locale of ['en', 'zh'] as const) {
      const text: unknown = phrase[locale];
      if (typeof text !== 'string' || text.trim() === '') problems.push(`${key}: no ${locale} text`);
    }
    if (problems.some((problem) => problem.startsWith(`${key}:`))) continue;
    const en = placeholdersOf(phrase.en).sort();
    const zh = placeholdersOf(phrase.zh).sort();
    if (en.join() !== zh.join()) problems.push(`${key}: placeholders {${en}} in en, {${zh}} in zh`);
    if (/\p{Script=Han}/u.test(phrase.en)) problems.push(`${key}: Chinese in the English text`);
    for (const stray of straySpaces(phrase.zh)) problems.push(`${key}: stray space in "${stray}"`);
    const names = [...new Set([...en, ...zh])];
    const missing = names.filter((name) => sample(name, 'zh') === undefined);
    if (missing.length > 0) {
      problems.push(`${key}: no sample value for {${missing.join('}, {')}} in this test`);
      continue;
    }
    const values = Object.fromEntries(names.map((name) => [name, sample(name, 'zh')!]));
    for (const stray of straySpaces(fill(phrase.zh, values))) {
      problems.push(`${key}: stray space in "${stray}" once filled`);
    }
  }
  return problems;
}

describe('the text catalogue', () => {
  it('defines every key once, across the areas and the platforms', () => {
    const keys = Object.values(AREAS).flatMap((phrases) => Object.keys(phrases));
    const twice = keys.filter((key, index) => keys.indexOf(key) !== index);
    expect(twice).toEqual([]);
    expect(Object.keys(CATALOGUE).sort()).toEqual(
      Object.values(CATALOGUE_AREAS)
        .flatMap((phrases) => Object.keys(phrases))
        .sort(),
    );
    expect(keys.length).toBeGreaterThan(150);
  });

  it.each(Object.entries(AREAS))(
    'writes every %s phrase in English and Chinese, consistently',
    (_, phrases) => {
      expect(problemsOf(phrases)).toEqual([]);
    },
  );

  it('notices a missing language, different placeholders and stray spaces', () => {
    const broken = {
      'a.noChinese': { en: 'Hello' },
      'a.emptyChinese': { en: 'Hello', zh: ' ' },
      'a.placeholders': { en: '{size} is larger than {max}.', zh: '文件大小 {size}。' },
      'a.template': { en: '{duration} is longer than the {maxDuration} limit.', zh: '超过 30 秒 的上限。' },
      'a.filled': {
        en: '{duration} is longer than the {maxDuration} limit.',
        zh: '视频时长 {duration}，超过 {maxDuration} 的上限。',
      },
      'a.punctuation': { en: 'Done .', zh: '完成 。' },
      'a.unknownPlaceholder': { en: '{shoeSize}', zh: '{shoeSize}' },
    } as unknown as Phrases;
    const problems = problemsOf(broken).join('\n');
    for (const key of Object.keys(broken)) expect(problems).toContain(`${key}:`);
    expect(problems).toMatch(/a\.filled: stray space in ".*秒 的.*" once filled/);
  });
});

const ink = styleById(7)!;
const cartoon = styleById(3)!;
const zhFailure: JobFailure = {
  kind: 'inspection',
  code: 'DataInspectionFailed',
  message: 'Input data may contain inappropriate content.',
  requestId: 'req-1',
  taskId: 't-1',
};
const VIEWS: StatusView[] = [
  { kind: 'checking' },
  { kind: 'queued', position: 3, etaMs: 120_000 },
  { kind: 'submitting' },
  { kind: 'restyling', remote: 'running', elapsedMs: 42_000, etaMs: 20_000, fraction: 0.68 },
  { kind: 'restyling', remote: 'pending', elapsedMs: 3_725_000, etaMs: 0, fraction: 1 },
  { kind: 'sending' },
  { kind: 'done', cached: false },
  { kind: 'done', cached: true },
  { kind: 'failed', failure: zhFailure },
  { kind: 'canceled' },
];
const VIOLATIONS: LimitViolation[] = [
  ...checkVideo({
    container: 'webm',
    formatName: 'matroska,webm',
    sizeBytes: 101_000_000,
    durationSec: 31,
    pictureSec: 31,
    codec: 'theora',
    width: 5000,
    height: 200,
    rotationDeg: 0,
    displayWidth: 5000,
    displayHeight: 200,
    frameRate: 25,
    hasAudio: false,
  }),
  { code: 'side-too-small', width: 200, height: 150, minSidePx: 256 },
  { code: 'empty-file', sizeBytes: 0 },
  { code: 'unreadable', sizeBytes: 10 },
  { code: 'still-image', sizeBytes: 10, what: 'PNG image' },
  { code: 'still-image', sizeBytes: 10 },
  { code: 'no-video-stream', sizeBytes: 10, what: 'aac audio' },
  { code: 'no-video-stream', sizeBytes: 10 },
  { code: 'embedded-reference', sizeBytes: 10 },
];
const CHANGES: FitChange[] = [
  { kind: 'trim', fromSec: 41.2, toSec: 30 },
  { kind: 'scale', from: { width: 5000, height: 2800 }, to: { width: 4096, height: 2294 } },
  { kind: 'crop', from: { width: 640, height: 320 }, to: { width: 576, height: 320 } },
  { kind: 'reencode', fromCodec: 'theora', toCodec: 'h264' },
  { kind: 'remux', fromContainer: 'webm', toContainer: 'mp4' },
  { kind: 'shrink', fromBytes: 140_000_000, maxBytes: 100_000_000 },
];
const REMOTE_ERRORS: RemoteError[] = [
  ...(
    ['auth', 'billing', 'throttled', 'parameter', 'inspection', 'server', 'timeout', 'network'] as const
  ).map((kind) => new RemoteError({ kind, code: 'Code', message: 'socket hang up' })),
  ...['InvalidParameter.FileDownload', 'InvalidParameter.VideoFormat', 'InternalError.Algo', 'Other'].map(
    (code) => new RemoteError({ kind: 'task-failed', code, message: 'the model said no' }),
  ),
  new RemoteError({ kind: 'task-lost', code: 'UnknownTask', message: 'gone' }),
  ...['SendFailed', 'ResultTooLarge', 'FetchFailed'].map(
    (code) => new RemoteError({ kind: 'result', code, message: 'HTTP 413' }),
  ),
];
const MIB = 1024 * 1024;

/** Every kind of Chinese text the renderers put together, with real numbers. */
function renderedChinese(): string[] {
  const texts: string[] = [];
  for (const ms of [0, 4_200, 42_000, 125_000, 3_600_000, 3_900_000]) texts.push(formatEta(ms, 'zh'));
  for (const view of VIEWS) {
    for (const style of [ink, cartoon]) {
      texts.push(statusText(view, style, 'zh'), queueLineText(1, style, view, 'zh'));
      texts.push(
        discordStatusText(view, style, 'zh', { userId: '42', waiting: 5, nowMs: 1_700_000_000_000 }),
      );
    }
  }
  texts.push(queueLineText(2, ink, undefined, 'zh'));
  texts.push(...VIOLATIONS.map((violation) => describeViolation(violation, 'zh')));
  texts.push(rejectionText(VIOLATIONS, true, 'zh'), rejectionText(VIOLATIONS, false, 'zh'));
  texts.push(...CHANGES.map((change) => describeFitChange(change, 'zh')), fitChangesText(CHANGES, 'zh'));
  texts.push(
    limitsText(DEFAULT_LIMITS, 20 * MIB, 'zh'),
    helpText('zh', 'RestyleBot', DEFAULT_LIMITS, 20 * MIB, 5),
  );
  texts.push(downloadTooLargeText(25 * MIB, 20 * MIB, DEFAULT_LIMITS, 'zh'));
  texts.push(downloadTooLargeText(undefined, 20 * MIB, DEFAULT_LIMITS, 'zh'));
  texts.push(...REMOTE_ERRORS.map((error) => describeRemoteError(error, 'zh')), failureText(zhFailure, 'zh'));
  for (const reason of ['user-cap', 'queue-full', 'stopped'] as const) {
    for (const cancel of ['/cancel', TEXT_DISCORD.zh.cancel]) {
      texts.push(refusalText({ kind: 'refused', reason, limit: 2 }, 'zh', cancel));
    }
  }
  texts.push(quotaText(5, 3 * 3_600_000, 'zh'), quotaText(1, 61_000, 'zh'), stylesReply('zh'));
  texts.push(fitHint(true, 'zh'), fitHint(false, 'zh'));
  for (const phase of [
    'probing',
    'queued',
    'submitting',
    'pending',
    'running',
    'fetching',
    'done',
  ] as const) {
    const line = formatProgressLine(
      { phase, elapsedMs: 65_000, etaMs: 20_000, position: 2, fraction: 0.4 },
      'zh',
    );
    texts.push(...line.split(PROGRESS_COLUMN_GAP));
  }
  const failed = { state: { kind: 'failed', failure: zhFailure } } as RestyleJob;
  texts.push(...describeEnd(failed, 'zh', []));
  for (const remote of ['none', 'canceled', 'running'] as const) {
    texts.push(...describeEnd({ state: { kind: 'canceled', by: 'cli', remote } } as RestyleJob, 'zh', []));
  }
  texts.push(...commandList('zh').map((command) => command.description));
  const telegram = TEXT_TELEGRAM.zh;
  texts.push(telegram.pickedStyle(ink.names.zh), telegram.canceled(1), telegram.canceled(3));
  const discord = TEXT_DISCORD.zh;
  texts.push(discord.notVideo('image/png'), discord.tooBigToFetch('600 MB', '500 MB'));
  texts.push(discord.resultFor('<@42>', ink.names.zh), discord.compressed('12.4 MB', '10 MB'));
  texts.push(discord.tooBigLink('10 MB', '<t:1700000000:f>'));
  texts.push(...Object.values({ ...telegram, ...discord }).filter((text) => typeof text === 'string'));
  return texts;
}

describe('the Chinese the renderers produce', () => {
  it('has no stray spaces, with real numbers, names and codes filled in', () => {
    const texts = renderedChinese();
    expect(texts.length).toBeGreaterThan(150);
    expect(
      texts.flatMap((text) => straySpaces(text).map((stray) => `"${stray}" in ${JSON.stringify(text)}`)),
    ).toEqual([]);
  });

  it('reads a limit in seconds without a space before 的', () => {
    const text = describeViolation({ code: 'duration-too-long', durationSec: 31, maxDurationSec: 30 }, 'zh');
    expect(text).toBe('视频时长 31 秒，超过 30 秒的上限。');
    expect(straySpaces('超过 30 秒 的上限')).toEqual(['0 秒 的上限']);
  });
});
