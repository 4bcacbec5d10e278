import { assertNever } from '../core/errors.ts';
import type { RequestOutcome } from '../core/queue/service.ts';
import { type Locale, STYLES } from '../core/styles.ts';
import { type Phrases, reader } from './catalogue.ts';
import { formatEta } from './format.ts';

/** Answers to a request the queue did not take, the daily quota, and the list of styles. */
export const REQUEST_PHRASES = {
  // `{cancel}` is a command (`/cancel`) or a button's label (取消): quoted, so neither runs into the text.
  'refusal.userCap': {
    en: 'You already have {limit} clips waiting. Wait for one to finish, or use {cancel}.',
    zh: '你已有 {limit} 段视频在排队，请等其中一段完成，或用“{cancel}”取消。',
  },
  'refusal.queueFull': {
    en: 'The queue is full ({limit} clips waiting). Please try again a little later.',
    zh: '队列已满（{limit} 段视频在等待），请稍后再试。',
  },
  'refusal.stopped': {
    en: 'The service is restarting; please send it again in a minute.',
    zh: '服务正在重启，请稍后再发一次。',
  },
  'request.duplicate': {
    en: '↪️ You already asked for this clip in {style}, and it is on its way: follow its first status message.',
    zh: '↪️ 你已经请求用{style}重绘这段视频，正在处理中，请看第一条进度消息。',
  },
  'quota.used': {
    en: "You have used today's {quota} restyles. The quota resets at midnight UTC, in {eta}.",
    zh: '今天的 {quota} 次重绘已用完，{eta}后（UTC 零点）恢复。',
  },
  'styles.head': { en: 'Styles:', zh: '可选风格：' },
  /** One style: its number, its name, and the words people may type for it. */
  'styles.line': { en: '{id}. {style} — {names}', zh: '{id}. {style} — {names}' },
  'styles.example': { en: 'For example: {example}', zh: '例如：{example}' },
} as const satisfies Phrases;

const say = reader(REQUEST_PHRASES);

/** Why the queue did not take a clip; `cancelCommand` is how the person cancels a waiting clip. */
export function refusalText(
  outcome: Extract<RequestOutcome, { kind: 'refused' }>,
  locale: Locale,
  cancelCommand: string,
): string {
  switch (outcome.reason) {
    case 'user-cap':
      return say(locale, 'refusal.userCap', { limit: outcome.limit, cancel: cancelCommand });
    case 'queue-full':
      return say(locale, 'refusal.queueFull', { limit: outcome.limit });
    case 'stopped':
      return say(locale, 'refusal.stopped');
    default:
      return assertNever(outcome.reason);
  }
}

/** The same clip in the same style is already on its way for this person. */
export function duplicateText(styleId: number, locale: Locale): string {
  const style = STYLES.find((s) => s.id === styleId) ?? STYLES[0]!;
  return say(locale, 'request.duplicate', { style: style.names[locale] });
}

/** The daily quota is used up. */
export function quotaText(quota: number, resetInMs: number, locale: Locale): string {
  return say(locale, 'quota.used', { quota, eta: formatEta(resetInMs, locale) });
}

/** The styles, one a line, with the names people may type. */
export function stylesText(locale: Locale, example: string): string {
  const lines = STYLES.map((style) =>
    say(locale, 'styles.line', {
      id: style.id,
      style: style.names[locale],
      names: [style.slug, ...style.aliases.slice(0, 3)].join(', '),
    }),
  );
  return [say(locale, 'styles.head'), ...lines, say(locale, 'styles.example', { example })].join('\n');
}
