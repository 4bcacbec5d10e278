import { assertNever } from '../core/errors.ts';
import type { JobFailure } from '../core/job.ts';
import type { JobStatus } from '../core/queue/service.ts';
import type { Locale, Style } from '../core/styles.ts';
import { type Phrases, reader } from './catalogue.ts';
import { failureText } from './failures.ts';
import { formatClock, formatEta, textBar } from './format.ts';

/** A job's status message, and the lines of the `/queue` listing. */
export const STATUS_PHRASES = {
  /**
   * The acknowledgement, shown while the clip is downloaded and checked. A receipt, not a claim of
   * work under way: when a crash hits between the platform accepting it and the bot saving its id,
   * it stays true, and the restarted bot follows up in a new status message.
   */
  'status.checking': { en: '📥 Clip received ({style}).', zh: '📥 已收到视频（{style}）。' },
  'status.queued': {
    en: '⏳ Queued: #{position} in line, ready in {eta} ({style})',
    zh: '⏳ 已排队：第 {position} 位，{eta}后完成（{style}）',
  },
  'status.queued.held': {
    en: '⏳ Queued: #{position} in line ({style}). DashScope is refusing every key this bot has, so nothing can start right now: your clip is kept and goes ahead as soon as a key works again.',
    zh: '⏳ 已排队：第 {position} 位（{style}）。DashScope 目前拒绝了本机器人的所有 API Key，暂时无法开始：你的视频会保留，等有 Key 恢复后立即继续。',
  },
  'status.submitting': { en: '🚀 Your turn: starting… ({style})', zh: '🚀 轮到你了，正在提交……（{style}）' },
  'status.restyling': {
    en: '🎨 Restyling as {style}… {elapsed}, about {left} left\n{bar} {percent}%',
    zh: '🎨 正在重绘为{style}…… {elapsed}，约剩 {left}\n{bar} {percent}%',
  },
  'status.restyling.almostDone': {
    en: '🎨 Restyling as {style}… {elapsed}, almost there\n{bar} {percent}%',
    zh: '🎨 正在重绘为{style}…… {elapsed}，马上就好\n{bar} {percent}%',
  },
  'status.sending': { en: '📤 Done, sending the video… ({style})', zh: '📤 完成，正在发送视频……（{style}）' },
  'status.done': { en: '✅ {style}: done!', zh: '✅ {style}：完成！' },
  'status.done.cached': {
    en: '✅ {style}: this clip was restyled recently, so the result was sent again.',
    zh: '✅ {style}：这段视频最近重绘过，直接发回了结果。',
  },
  'status.done.uncertain': {
    en: '✅ {style}: done! The bot restarted while sending the video: if it is not above, tap “Send again” (free).',
    zh: '✅ {style}：完成！发送视频时机器人重启了：如果上面没有视频，请点“重新发送”（免费）。',
  },
  'status.canceled': { en: '🚫 Canceled ({style}).', zh: '🚫 已取消（{style}）。' },
  /** One line of `/queue`: `1. 3D cartoon — #2 in line, about 1 min`. */
  'queue.line': { en: '{index}. {style} — {where}', zh: '{index}. {style} — {where}' },
  'queue.queued': { en: '#{position} in line, {eta}', zh: '第 {position} 位，{eta}' },
  'queue.held': { en: '#{position} in line, on hold', zh: '第 {position} 位，暂停中' },
  'queue.restyling': { en: 'restyling, {percent}%', zh: '重绘中 {percent}%' },
  'queue.sending': { en: 'sending', zh: '正在发送' },
  'queue.starting': { en: 'starting', zh: '即将开始' },
} as const satisfies Phrases;

const say = reader(STATUS_PHRASES);

/** What a job's status message shows, platform-neutral; each bot renders it into its own message. */
export type StatusView =
  | { readonly kind: 'checking' }
  /** `held`: nothing can start now (every key is set aside); the ETA means nothing then. */
  | {
      readonly kind: 'queued';
      readonly position: number;
      readonly etaMs: number;
      readonly held?: 'keys-out' | undefined;
    }
  | { readonly kind: 'submitting' }
  | {
      readonly kind: 'restyling';
      readonly remote: 'pending' | 'running';
      readonly elapsedMs: number;
      readonly etaMs: number;
      readonly fraction: number;
    }
  | { readonly kind: 'sending' }
  /** `uncertain`: a restart cut the hand-over short and the platform cannot say whether it arrived. */
  | { readonly kind: 'done'; readonly cached: boolean; readonly uncertain?: boolean }
  | { readonly kind: 'failed'; readonly failure: JobFailure }
  | { readonly kind: 'canceled' };

/** The view of a job as the service reports it; `undefined` for states with nothing to show. */
export function viewOfStatus(status: JobStatus): StatusView | undefined {
  const { state } = status.job;
  switch (state.kind) {
    case 'waiting':
      return status.position === undefined
        ? undefined
        : {
            kind: 'queued',
            position: status.position,
            etaMs: status.etaMs ?? 0,
            ...(status.held ? { held: status.held } : {}),
          };
    case 'submitting':
      return { kind: 'submitting' };
    case 'submitted':
      return {
        kind: 'restyling',
        remote: state.remote,
        elapsedMs: status.elapsedMs ?? 0,
        etaMs: status.etaMs ?? 0,
        fraction: status.fraction ?? 0,
      };
    case 'fetching':
    case 'fetched':
      return { kind: 'sending' };
    case 'delivered':
      return { kind: 'done', cached: state.cached, ...(state.uncertain ? { uncertain: true } : {}) };
    case 'failed':
      return { kind: 'failed', failure: state.failure };
    case 'canceled':
      return { kind: 'canceled' };
    case 'rejected':
      return undefined;
    default:
      return assertNever(state);
  }
}

/** True once the view will not change any more. */
export function isFinalView(view: StatusView): boolean {
  return view.kind === 'done' || view.kind === 'failed' || view.kind === 'canceled';
}

/** Whole percent of a fraction, rounded down so 100% means done. */
export function percentOf(fraction: number): number {
  return Math.floor(fraction * 100);
}

/** The status message's text for a view. */
export function statusText(view: StatusView, style: Style, locale: Locale): string {
  const name = style.names[locale];
  switch (view.kind) {
    case 'checking':
      return say(locale, 'status.checking', { style: name });
    case 'queued':
      if (view.held) return say(locale, 'status.queued.held', { style: name, position: view.position });
      return say(locale, 'status.queued', {
        style: name,
        position: view.position,
        eta: formatEta(view.etaMs, locale),
      });
    case 'submitting':
      return say(locale, 'status.submitting', { style: name });
    case 'restyling': {
      const shown = {
        style: name,
        elapsed: formatClock(view.elapsedMs),
        bar: textBar(view.fraction),
        percent: percentOf(view.fraction),
      };
      return view.etaMs > 0
        ? say(locale, 'status.restyling', { ...shown, left: formatClock(view.etaMs) })
        : say(locale, 'status.restyling.almostDone', shown);
    }
    case 'sending':
      return say(locale, 'status.sending', { style: name });
    case 'done':
      if (view.uncertain) return say(locale, 'status.done.uncertain', { style: name });
      return say(locale, view.cached ? 'status.done.cached' : 'status.done', { style: name });
    case 'failed':
      return failureText(view.failure, locale);
    case 'canceled':
      return say(locale, 'status.canceled', { style: name });
    default:
      return assertNever(view);
  }
}

/** Where a job stands, in a few words for a listing: `#2 in line, about 1 min`, `restyling, 40%`. */
export function queuePlaceText(view: StatusView | undefined, locale: Locale): string {
  switch (view?.kind) {
    case 'queued':
      if (view.held) return say(locale, 'queue.held', { position: view.position });
      return say(locale, 'queue.queued', { position: view.position, eta: formatEta(view.etaMs, locale) });
    case 'restyling':
      return say(locale, 'queue.restyling', { percent: percentOf(view.fraction) });
    case 'sending':
      return say(locale, 'queue.sending');
    default:
      return say(locale, 'queue.starting');
  }
}

/** One numbered line of a person's queue listing: `1. 3D cartoon — #2 in line, about 1 min`. */
export function queueLineText(
  index: number,
  style: Style,
  view: StatusView | undefined,
  locale: Locale,
): string {
  return say(locale, 'queue.line', {
    index,
    style: style.names[locale],
    where: queuePlaceText(view, locale),
  });
}
