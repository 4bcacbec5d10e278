import { assertNever } from '../../core/errors.ts';
import type { FitChange } from '../../core/fit.ts';
import type { JobFailure } from '../../core/job.ts';
import type { LimitViolation, VideoLimits } from '../../core/limits.ts';
import type { JobStatus, RequestOutcome } from '../../core/queue/service.ts';
import { type Locale, STYLES, type Style } from '../../core/styles.ts';
import {
  describeFailure,
  describeFitChange,
  describeViolation,
  formatBytes,
  formatClock,
} from './messages.ts';

/** What a job's status message shows, platform-neutral; each bot renders it into its own message. */
export type StatusView =
  | { readonly kind: 'checking' }
  | { readonly kind: 'queued'; readonly position: number; readonly etaMs: number }
  | { readonly kind: 'submitting' }
  | {
      readonly kind: 'restyling';
      readonly remote: 'pending' | 'running';
      readonly elapsedMs: number;
      readonly etaMs: number;
      readonly fraction: number;
    }
  | { readonly kind: 'sending' }
  | { readonly kind: 'done'; readonly cached: boolean }
  | { readonly kind: 'failed'; readonly failure: JobFailure }
  | { readonly kind: 'canceled' };

/** The view of a job as the service reports it; `undefined` for states with nothing to show. */
export function viewOfStatus(status: JobStatus): StatusView | undefined {
  const { state } = status.job;
  switch (state.kind) {
    case 'waiting':
      return status.position === undefined
        ? undefined
        : { kind: 'queued', position: status.position, etaMs: status.etaMs ?? 0 };
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
      return { kind: 'done', cached: state.cached };
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

/** A short text progress bar: `▰▰▰▰▱▱▱▱▱▱`. */
export function textBar(fraction: number, width = 10): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'▰'.repeat(filled)}${'▱'.repeat(width - filled)}`;
}

/** A rough, friendly duration: `about 40 s`, `about 2 min`, `约 2 分钟`. */
export function formatEta(ms: number, locale: Locale): string {
  const sec = Math.max(1, Math.round(ms / 1000));
  const zh = locale === 'zh';
  if (sec < 60) {
    const rounded = sec < 10 ? sec : Math.round(sec / 5) * 5;
    return zh ? `约 ${rounded} 秒` : `about ${rounded} s`;
  }
  const min = Math.round(sec / 60);
  if (min < 60) return zh ? `约 ${min} 分钟` : `about ${min} min`;
  const hours = Math.floor(min / 60);
  const rest = min % 60;
  if (zh) return `约 ${hours} 小时${rest > 0 ? ` ${rest} 分钟` : ''}`;
  return `about ${hours} h${rest > 0 ? ` ${rest} min` : ''}`;
}

/** The status message's text for a view. */
export function statusText(view: StatusView, style: Style, locale: Locale): string {
  const zh = locale === 'zh';
  const name = style.names[locale];
  switch (view.kind) {
    case 'checking':
      return zh ? `🔎 正在检查视频……（${name}）` : `🔎 Checking your clip… (${name})`;
    case 'queued':
      return zh
        ? `⏳ 已排队：第 ${view.position} 位，${formatEta(view.etaMs, locale)}后完成（${name}）`
        : `⏳ Queued: #${view.position} in line, ready in ${formatEta(view.etaMs, locale)} (${name})`;
    case 'submitting':
      return zh ? `🚀 轮到你了，正在提交……（${name}）` : `🚀 Your turn: starting… (${name})`;
    case 'restyling': {
      const bar = `${textBar(view.fraction)} ${Math.floor(view.fraction * 100)}%`;
      const clock = formatClock(view.elapsedMs);
      const left = view.etaMs > 0 ? formatClock(view.etaMs) : undefined;
      if (zh) {
        return `🎨 正在重绘为${name}…… ${clock}${left ? `，约剩 ${left}` : '，马上就好'}\n${bar}`;
      }
      return `🎨 Restyling as ${name}… ${clock}${left ? `, about ${left} left` : ', almost there'}\n${bar}`;
    }
    case 'sending':
      return zh ? `📤 完成，正在发送视频……（${name}）` : `📤 Done, sending the video… (${name})`;
    case 'done':
      if (view.cached) {
        return zh
          ? `✅ ${name}：这段视频最近重绘过，直接发回了结果。`
          : `✅ ${name}: this clip was restyled recently, so the result was sent again.`;
      }
      return zh ? `✅ ${name}：完成！` : `✅ ${name}: done!`;
    case 'failed':
      return failureText(view.failure, locale);
    case 'canceled':
      return zh ? `🚫 已取消（${name}）。` : `🚫 Canceled (${name}).`;
    default:
      return assertNever(view);
  }
}

/** Why a job failed, with the codes support needs to trace it. */
export function failureText(failure: JobFailure, locale: Locale): string {
  const zh = locale === 'zh';
  const trace = [
    failure.code,
    failure.requestId === undefined ? undefined : `request ${failure.requestId}`,
    failure.taskId === undefined ? undefined : `task ${failure.taskId}`,
  ].filter(Boolean);
  return `${zh ? '❌ 失败：' : '❌ Failed: '}${describeFailure(failure, locale)}\n(${trace.join(', ')})`;
}

/** Why a clip was not queued: every broken limit with its numbers, and what to do. */
export function rejectionText(
  violations: readonly LimitViolation[],
  fixable: boolean,
  locale: Locale,
  fixHint?: string,
): string {
  const zh = locale === 'zh';
  const lines = [zh ? '这段视频无法重绘：' : "I can't restyle this clip:"];
  for (const violation of violations) lines.push(`• ${describeViolation(violation, locale)}`);
  if (fixable) {
    lines.push(
      fixHint ?? (zh ? '我可以自动调整后再重绘。' : 'I can adjust it automatically and restyle it.'),
    );
  } else {
    lines.push(zh ? '请换一段视频。' : 'Please send another video.');
  }
  return lines.join('\n');
}

/** What fitting changed, said before the job is queued. */
export function fitChangesText(changes: readonly FitChange[], locale: Locale): string {
  if (changes.length === 0) return '';
  const head = locale === 'zh' ? '已调整：' : 'Adjusted: ';
  return `${head}${changes.map((change) => describeFitChange(change, locale)).join(locale === 'zh' ? '；' : '; ')}`;
}

/** Why the queue did not take a clip. */
export function refusalText(
  outcome: Extract<RequestOutcome, { kind: 'refused' }>,
  locale: Locale,
  cancelCommand: string,
): string {
  const zh = locale === 'zh';
  switch (outcome.reason) {
    case 'user-cap':
      return zh
        ? `你已有 ${outcome.limit} 段视频在排队，请等其中一段完成，或用 ${cancelCommand} 取消。`
        : `You already have ${outcome.limit} clips waiting. Wait for one to finish, or use ${cancelCommand}.`;
    case 'queue-full':
      return zh
        ? `队列已满（${outcome.limit} 段视频在等待），请稍后再试。`
        : `The queue is full (${outcome.limit} clips waiting). Please try again a little later.`;
    case 'stopped':
      return zh
        ? '服务正在重启，请稍后再发一次。'
        : 'The service is restarting; please send it again in a minute.';
    default:
      return assertNever(outcome.reason);
  }
}

/** Sizes the way chat platforms state their limits ("20 MB" is 20 × 1024 × 1024 bytes). */
export function formatMebibytes(bytes: number): string {
  if (bytes < 100 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1).replace(/\.0$/, '')} MB`;
}

/** A file the chat platform will not let the bot download. */
export function downloadTooLargeText(
  sizeBytes: number | undefined,
  maxBytes: number,
  limits: VideoLimits,
  locale: Locale,
): string {
  const zh = locale === 'zh';
  const max = formatMebibytes(maxBytes);
  const size = sizeBytes === undefined ? undefined : formatMebibytes(sizeBytes);
  const seconds = limits.maxDurationSec;
  if (zh) {
    return `${size ? `文件大小 ${size}，` : '文件太大，'}机器人最多只能下载 ${max} 的文件。请发送更短（最长 ${seconds} 秒）或压缩过的视频。`;
  }
  return `${size ? `This file is ${size}, but` : 'This file is too big:'} bots can only download files up to ${max}. Send a shorter (at most ${seconds} s) or compressed clip.`;
}

/** The daily quota is used up. */
export function quotaText(quota: number, resetInMs: number, locale: Locale): string {
  return locale === 'zh'
    ? `今天的 ${quota} 次重绘已用完，${formatEta(resetInMs, locale)}后（UTC 零点）恢复。`
    : `You have used today's ${quota} restyles. The quota resets at midnight UTC, in ${formatEta(resetInMs, locale)}.`;
}

/** The catalogue, one style a line, with the names people may type. */
export function stylesText(locale: Locale, example: string): string {
  const zh = locale === 'zh';
  const lines = STYLES.map(
    (style) =>
      `${style.id}. ${style.names[locale]} — ${[style.slug, ...style.aliases.slice(0, 3)].join(', ')}`,
  );
  return `${zh ? '可选风格：' : 'Styles:'}\n${lines.join('\n')}\n${zh ? `例如：${example}` : `For example: ${example}`}`;
}

/** The model's limits in one short paragraph. */
export function limitsText(limits: VideoLimits, maxDownloadBytes: number, locale: Locale): string {
  const download = formatBytes(Math.min(maxDownloadBytes, limits.maxSizeBytes));
  return locale === 'zh'
    ? `限制：最长 ${limits.maxDurationSec} 秒，最大 ${download}，每边 ${limits.minSidePx}–${limits.maxSidePx} 像素，长宽比不超过 ${limits.maxAspectRatio}:1。`
    : `Limits: up to ${limits.maxDurationSec} s, ${download}, ${limits.minSidePx}–${limits.maxSidePx} px per side, aspect ratio at most ${limits.maxAspectRatio}:1.`;
}
