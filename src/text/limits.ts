import { assertNever } from '../core/errors.ts';
import type { FitChange } from '../core/fit.ts';
import type { LimitViolation, VideoLimits } from '../core/limits.ts';
import type { Locale } from '../core/styles.ts';
import { type Phrases, reader } from './catalogue.ts';
import {
  containerName,
  formatBytes,
  formatClauses,
  formatList,
  formatMebibytes,
  formatSeconds,
  formatSize,
} from './format.ts';

/** The model's limits, what a clip breaks, and what fitting changed. */
export const LIMIT_PHRASES = {
  'violation.empty': { en: 'The file is empty (0 bytes).', zh: '文件是空的（0 字节）。' },
  'violation.unreadable': {
    en: 'This file cannot be read as a video: it is not one, or it is damaged or incomplete.',
    zh: '无法读取这个文件：它不是视频，或者已损坏、不完整。',
  },
  'violation.stillImage': { en: 'This is a still image, not a video.', zh: '这是一张图片，不是视频。' },
  'violation.stillImage.what': {
    en: 'This is a still image ({what}), not a video.',
    zh: '这是一张图片（{what}），不是视频。',
  },
  'violation.noVideo': { en: 'This file has no picture.', zh: '这个文件没有画面。' },
  'violation.noVideo.what': {
    en: 'This file has no picture (only {what}).',
    zh: '这个文件没有画面（只有 {what}）。',
  },
  'violation.embeddedReference': {
    en: 'This file embeds a playlist or references to other files or URLs; for safety it is not processed.',
    zh: '这个文件内嵌了播放列表或对其他文件、网址的引用，出于安全原因不予处理。',
  },
  'violation.container': {
    en: '{container} files are not supported; supported: {allowed}.',
    zh: '不支持 {container} 格式；支持：{allowed}。',
  },
  'violation.codec': {
    en: 'The video is encoded as {codec}, which the model does not read.',
    zh: '不支持 {codec} 视频编码。',
  },
  // `{maxDuration}` ends in a unit word (秒) in Chinese: no space before 的.
  'violation.duration': {
    en: '{duration} is longer than the {maxDuration} limit.',
    zh: '视频时长 {duration}，超过 {maxDuration}的上限。',
  },
  'violation.size': {
    en: '{size} is larger than the {max} limit.',
    zh: '文件大小 {size}，超过 {max} 的上限。',
  },
  'violation.sideTooSmall': {
    en: '{frame} px is too small: each side must be at least {min} px.',
    zh: '画面 {frame} 像素，每边至少需要 {min} 像素。',
  },
  'violation.sideTooLarge': {
    en: '{frame} px is too large: each side must be at most {max} px.',
    zh: '画面 {frame} 像素，每边不能超过 {max} 像素。',
  },
  'violation.aspect': {
    en: '{frame} has an aspect ratio of {ratio}:1, wider than the {max}:1 limit.',
    zh: '画面 {frame} 的长宽比为 {ratio}:1，超过 {max}:1 的上限。',
  },
  'fit.trim': { en: 'trimmed from {duration} to {kept}', zh: '截取前 {kept}（原长 {duration}）' },
  'fit.scale': { en: 'scaled {from} → {to}', zh: '缩放 {from} → {to}' },
  'fit.crop': { en: 'cropped (centred) {from} → {to}', zh: '居中裁剪 {from} → {to}' },
  'fit.reencode': { en: 're-encoded {from} → {to}', zh: '重新编码 {from} → {to}' },
  'fit.remux': { en: 'converted {from} → {to}', zh: '转换格式 {from} → {to}' },
  'fit.shrink': { en: 'compressed {from} → at most {max}', zh: '压缩 {from} → 不超过 {max}' },
  /** Under a chat status: what fitting changed before the clip was queued. */
  'fit.notes': { en: 'Adjusted: {changes}', zh: '已调整：{changes}' },
  'rejection.head': { en: "I can't restyle this clip:", zh: '这段视频无法重绘：' },
  'rejection.item': { en: '• {reason}', zh: '• {reason}' },
  'rejection.fixable': {
    en: 'I can adjust it automatically and restyle it.',
    zh: '我可以自动调整后再重绘。',
  },
  'rejection.unfixable': { en: 'Please send another video.', zh: '请换一段视频。' },
  'limits.summary': {
    en: 'Limits: up to {duration}, {size}, {minSide}–{maxSide} px per side, aspect ratio at most {ratio}:1.',
    zh: '限制：最长 {duration}，最大 {size}，每边 {minSide}–{maxSide} 像素，长宽比不超过 {ratio}:1。',
  },
  'download.tooLarge': {
    en: 'This file is {size}, but bots can only download files up to {max}. Send a shorter (at most {duration}) or compressed clip.',
    zh: '文件大小 {size}，机器人最多只能下载 {max} 的文件。请发送更短（最长 {duration}）或压缩过的视频。',
  },
  'download.tooLarge.unknownSize': {
    en: 'This file is too big: bots can only download files up to {max}. Send a shorter (at most {duration}) or compressed clip.',
    zh: '文件太大，机器人最多只能下载 {max} 的文件。请发送更短（最长 {duration}）或压缩过的视频。',
  },
} as const satisfies Phrases;

const say = reader(LIMIT_PHRASES);

/** One sentence saying which limit the clip breaks, with its numbers. */
export function describeViolation(violation: LimitViolation, locale: Locale): string {
  switch (violation.code) {
    case 'empty-file':
      return say(locale, 'violation.empty');
    case 'unreadable':
      return say(locale, 'violation.unreadable');
    case 'still-image':
      return violation.what
        ? say(locale, 'violation.stillImage.what', { what: violation.what })
        : say(locale, 'violation.stillImage');
    case 'no-video-stream':
      return violation.what
        ? say(locale, 'violation.noVideo.what', { what: violation.what })
        : say(locale, 'violation.noVideo');
    case 'embedded-reference':
      return say(locale, 'violation.embeddedReference');
    case 'container-unsupported':
      return say(locale, 'violation.container', {
        container: containerName(violation.container),
        allowed: formatList(violation.allowed.map(containerName), locale),
      });
    case 'codec-unsupported':
      return say(locale, 'violation.codec', { codec: violation.codec });
    case 'duration-too-long':
      return say(locale, 'violation.duration', {
        duration: formatSeconds(violation.durationSec, locale),
        maxDuration: formatSeconds(violation.maxDurationSec, locale),
      });
    case 'file-too-large':
      return say(locale, 'violation.size', {
        size: formatBytes(violation.sizeBytes),
        max: formatBytes(violation.maxSizeBytes),
      });
    case 'side-too-small':
      return say(locale, 'violation.sideTooSmall', {
        frame: formatSize(violation.width, violation.height),
        min: violation.minSidePx,
      });
    case 'side-too-large':
      return say(locale, 'violation.sideTooLarge', {
        frame: formatSize(violation.width, violation.height),
        max: violation.maxSidePx,
      });
    case 'aspect-too-wide':
      return say(locale, 'violation.aspect', {
        frame: formatSize(violation.width, violation.height),
        ratio: violation.ratio.toFixed(2),
        max: violation.maxAspectRatio,
      });
    default:
      return assertNever(violation);
  }
}

/** One line per change fitting made. */
export function describeFitChange(change: FitChange, locale: Locale): string {
  switch (change.kind) {
    case 'trim':
      return say(locale, 'fit.trim', {
        duration: formatSeconds(change.fromSec, locale),
        kept: formatSeconds(change.toSec, locale),
      });
    case 'scale':
    case 'crop':
      return say(locale, change.kind === 'scale' ? 'fit.scale' : 'fit.crop', {
        from: formatSize(change.from.width, change.from.height),
        to: formatSize(change.to.width, change.to.height),
      });
    case 'reencode':
      return say(locale, 'fit.reencode', { from: change.fromCodec, to: change.toCodec });
    case 'remux':
      return say(locale, 'fit.remux', {
        from: containerName(change.fromContainer),
        to: containerName(change.toContainer),
      });
    case 'shrink':
      return say(locale, 'fit.shrink', {
        from: formatBytes(change.fromBytes),
        max: formatBytes(change.maxBytes),
      });
    default:
      return assertNever(change);
  }
}

/** What fitting changed, said before the job is queued; empty when nothing changed. */
export function fitChangesText(changes: readonly FitChange[], locale: Locale): string {
  if (changes.length === 0) return '';
  const described = changes.map((change) => describeFitChange(change, locale));
  return say(locale, 'fit.notes', { changes: formatClauses(described, locale) });
}

/** Why a clip was not queued: every broken limit with its numbers, and what to do. */
export function rejectionText(
  violations: readonly LimitViolation[],
  fixable: boolean,
  locale: Locale,
  fixHint?: string,
): string {
  const lines = [say(locale, 'rejection.head')];
  for (const violation of violations) {
    lines.push(say(locale, 'rejection.item', { reason: describeViolation(violation, locale) }));
  }
  lines.push(fixable ? (fixHint ?? say(locale, 'rejection.fixable')) : say(locale, 'rejection.unfixable'));
  return lines.join('\n');
}

/** The model's limits in one short paragraph. */
export function limitsText(limits: VideoLimits, maxDownloadBytes: number, locale: Locale): string {
  return say(locale, 'limits.summary', {
    duration: formatSeconds(limits.maxDurationSec, locale),
    size: formatBytes(Math.min(maxDownloadBytes, limits.maxSizeBytes)),
    minSide: limits.minSidePx,
    maxSide: limits.maxSidePx,
    ratio: limits.maxAspectRatio,
  });
}

/** A file the chat platform will not let the bot download. */
export function downloadTooLargeText(
  sizeBytes: number | undefined,
  maxBytes: number,
  limits: VideoLimits,
  locale: Locale,
): string {
  const shown = { max: formatMebibytes(maxBytes), duration: formatSeconds(limits.maxDurationSec, locale) };
  return sizeBytes === undefined
    ? say(locale, 'download.tooLarge.unknownSize', shown)
    : say(locale, 'download.tooLarge', { ...shown, size: formatMebibytes(sizeBytes) });
}
