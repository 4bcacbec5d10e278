import { assertNever } from '../core/errors.ts';
import type { FitChange } from '../core/fit.ts';
import type { LimitViolation, NotAFileKind, StreamKind, VideoLimits } from '../core/limits.ts';
import type { Locale } from '../core/styles.ts';
import { type Phrases, reader } from './catalogue.ts';
import {
  containerName,
  formatBytes,
  formatClauses,
  formatExactBytes,
  formatList,
  formatMebibytes,
  formatSeconds,
  formatSize,
  groupDigits,
  numbersApart,
  secondsApart,
  secondsChanged,
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
  'what.image': { en: '{format} image', zh: '{format} 图片' },
  'what.audio': { en: '{format} audio', zh: '{format} 音频' },
  'what.subtitles': { en: 'subtitles', zh: '字幕' },
  'what.data': { en: 'data streams', zh: '数据流' },
  'what.nothing': { en: 'no streams', zh: '没有任何流' },
  'violation.noVideo': { en: 'This file has no picture.', zh: '这个文件没有画面。' },
  'violation.noVideo.what': {
    en: 'This file has no picture (only {what}).',
    zh: '这个文件没有画面（只有 {what}）。',
  },
  'violation.notAFile': {
    en: 'This is {kind}, not a video file.',
    zh: '这是{kind}，不是视频文件。',
  },
  'violation.notAFile.link': {
    en: 'This is a link to {kind}, not a video file.',
    zh: '这是指向{kind}的链接，不是视频文件。',
  },
  'path.directory': { en: 'a folder', zh: '一个文件夹' },
  'path.fifo': { en: 'a named pipe (FIFO)', zh: '一个命名管道（FIFO）' },
  'path.characterDevice': { en: 'a character device', zh: '一个字符设备' },
  'path.blockDevice': { en: 'a block device', zh: '一个块设备' },
  'path.socket': { en: 'a socket', zh: '一个套接字' },
  'path.other': { en: 'a special file', zh: '一个特殊文件' },
  'violation.undecodableAnimation': {
    en: 'This is an animated {what}, which the ffmpeg on this server cannot turn into video. Send it as MP4 or GIF.',
    zh: '这是 {what} 动图，本服务器的 ffmpeg 无法将其转换为视频。请以 MP4 或 GIF 格式发送。',
  },
  'violation.incomplete': {
    en: 'The file is incomplete: it declares {declared} of picture, but only the first {readable} can be read ({missing} missing).',
    zh: '文件不完整：声明的画面时长为 {declared}，但只能读取前 {readable}（缺少 {missing}）。',
  },
  'violation.incomplete.pastEnd': {
    en: 'The file is cut short: its index points past the end of the file, and only the first {readable} of its {declared} can be read ({missing} missing).',
    zh: '文件被截断：索引指向文件末尾之后的数据，画面时长 {declared}，只能读取前 {readable}（缺少 {missing}）。',
  },
  'violation.embeddedReference': {
    en: 'This file embeds a playlist or references to other files or URLs; for safety it is not processed.',
    zh: '这个文件内嵌了播放列表或对其他文件、网址的引用，出于安全原因不予处理。',
  },
  'violation.cutBeforeIndex': {
    en: 'The file is cut short before its index (the part that says where each frame is), so none of it can be read. Send the complete file.',
    zh: '文件被截断，缺少记录每一帧位置的索引部分，因此完全无法读取。请发送完整的文件。',
  },
  'violation.lengthUndeclared': {
    en: 'The file does not state how long it is (as when it was recorded as a live stream), and the model needs that; adjusting rewrites it as MP4.',
    zh: '文件没有标明时长（例如以直播流方式录制的文件），而模型需要这一信息；自动调整会将其重写为 MP4。',
  },
  'violation.container.animated': {
    en: 'This is an animated {format}, a format the model does not take; adjusting converts it to MP4.',
    zh: '这是 {format} 动图，模型不接受这种格式；自动调整会将其转换为 MP4。',
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
  'violation.duration.stream': {
    en: 'The picture lasts {picture}, but {runs}, longer than the {maxDuration} limit.',
    zh: '画面时长 {picture}，但{runs}，超过 {maxDuration}的上限。',
  },
  'violation.duration.both': {
    en: 'The picture lasts {picture} and {runs}, both longer than the {maxDuration} limit.',
    zh: '画面时长 {picture}，{runs}，都超过 {maxDuration}的上限。',
  },
  'runs.audio': { en: 'the audio runs to {duration}', zh: '音频长达 {duration}' },
  'runs.subtitles': { en: 'the subtitles run to {duration}', zh: '字幕长达 {duration}' },
  'runs.video': { en: 'a second video stream runs to {duration}', zh: '另一路视频长达 {duration}' },
  'runs.data': { en: 'a data track runs to {duration}', zh: '数据轨长达 {duration}' },
  'runs.file': { en: 'the file runs to {duration}', zh: '文件时长为 {duration}' },
  'stream.audio': { en: 'audio', zh: '音频' },
  'stream.subtitles': { en: 'subtitles', zh: '字幕' },
  'stream.video': { en: 'second video stream', zh: '另一路视频' },
  'stream.data': { en: 'data track', zh: '数据轨' },
  'violation.size': {
    en: '{size} is larger than the {max} limit.',
    zh: '文件大小 {size}，超过 {max} 的上限。',
  },
  'violation.size.exact': {
    en: '{size} bytes is over the {max}-byte limit.',
    zh: '文件大小 {size} 字节，超过 {max} 字节的上限。',
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
  'fit.cutStreams': {
    en: 'cut the {stream} from {duration} to {kept}, where the picture ends',
    zh: '{stream}截短到 {kept}，与画面同时结束（原长 {duration}）',
  },
  'fit.cutFile': {
    en: 'ended the file at {kept}, where the picture ends (it ran to {duration})',
    zh: '文件截短到 {kept}，与画面同时结束（原长 {duration}）',
  },
  'fit.salvage': {
    en: 're-encoded the {kept} that can be read (of {declared} declared)',
    zh: '重新编码可读取的前 {kept}（声明时长 {declared}）',
  },
  'fit.shrink.done': { en: 'compressed {from} → {to}', zh: '压缩 {from} → {to}' },
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

const PATH_KINDS = {
  directory: 'path.directory',
  fifo: 'path.fifo',
  'character-device': 'path.characterDevice',
  'block-device': 'path.blockDevice',
  socket: 'path.socket',
  other: 'path.other',
} as const satisfies Record<NotAFileKind, keyof typeof LIMIT_PHRASES>;

const STREAM_NAMES = {
  audio: 'stream.audio',
  subtitles: 'stream.subtitles',
  video: 'stream.video',
  data: 'stream.data',
} as const satisfies Record<StreamKind, keyof typeof LIMIT_PHRASES>;

/** "the audio runs to 35 s", by what makes the file longer than its picture. */
const RUNS = {
  audio: 'runs.audio',
  subtitles: 'runs.subtitles',
  video: 'runs.video',
  data: 'runs.data',
  file: 'runs.file',
} as const satisfies Record<StreamKind | 'file', keyof typeof LIMIT_PHRASES>;

/** Another stream outlasting the picture by less than this is container padding, not worth naming. */
const NAMED_OVERRUN_SEC = 0.1;

/** Containers that are animated pictures rather than video, by the name people know them by. */
const ANIMATED_FORMATS: Readonly<Record<string, string>> = { gif: 'GIF', webp: 'WebP' };

/** Two sizes in MB when that tells them apart, else in exact bytes. */
/**
 * What a file is instead of a video, in the reader's language. The probe names it in a fixed
 * form (`PNG image`, `aac audio`, `subtitles`, `data streams`, `no streams`), kept as such in records.
 */
function whatText(what: string, locale: Locale): string {
  const named = what.match(/^(\S+) (image|audio)$/);
  if (named) return say(locale, named[2] === 'image' ? 'what.image' : 'what.audio', { format: named[1]! });
  if (what === 'subtitles') return say(locale, 'what.subtitles');
  if (what === 'data streams') return say(locale, 'what.data');
  if (what === 'no streams') return say(locale, 'what.nothing');
  return what;
}

function bytesApart(bytes: number, other: number, locale: Locale): [string, string] {
  if (formatBytes(bytes) !== formatBytes(other)) return [formatBytes(bytes), formatBytes(other)];
  return [formatExactBytes(bytes, locale), formatExactBytes(other, locale)];
}

function sizeText(sizeBytes: number, maxSizeBytes: number, locale: Locale): string {
  if (formatBytes(sizeBytes) !== formatBytes(maxSizeBytes)) {
    return say(locale, 'violation.size', { size: formatBytes(sizeBytes), max: formatBytes(maxSizeBytes) });
  }
  return say(locale, 'violation.size.exact', {
    size: groupDigits(sizeBytes),
    max: groupDigits(maxSizeBytes),
  });
}

function aspectApart(ratio: number, maxRatio: number): { ratio: string; max: string } {
  const [shown, max] = numbersApart(ratio, maxRatio, 2);
  return { ratio: shown, max };
}

function durationText(
  violation: Extract<LimitViolation, { code: 'duration-too-long' }>,
  locale: Locale,
): string {
  const { durationSec, maxDurationSec, longerStream } = violation;
  const pictureSec = violation.pictureSec ?? durationSec;
  const [duration, maxDuration] = secondsApart(durationSec, maxDurationSec, locale);
  const pictureFits = pictureSec <= maxDurationSec;
  // When the picture itself is too long, a stream a few frames longer adds nothing worth reading.
  if (durationSec <= pictureSec || (!pictureFits && durationSec - pictureSec < NAMED_OVERRUN_SEC)) {
    return say(locale, 'violation.duration', { duration, maxDuration });
  }
  const [picture] = secondsApart(pictureSec, maxDurationSec, locale);
  const runs = say(locale, RUNS[longerStream ?? 'file'], { duration });
  return say(locale, pictureFits ? 'violation.duration.stream' : 'violation.duration.both', {
    picture,
    runs,
    maxDuration,
  });
}

/** One sentence saying which limit the clip breaks, with its numbers. */
export function describeViolation(violation: LimitViolation, locale: Locale): string {
  switch (violation.code) {
    case 'empty-file':
      return say(locale, 'violation.empty');
    case 'unreadable':
      return say(locale, 'violation.unreadable');
    case 'still-image':
      return violation.what
        ? say(locale, 'violation.stillImage.what', { what: whatText(violation.what, locale) })
        : say(locale, 'violation.stillImage');
    case 'no-video-stream':
      return violation.what
        ? say(locale, 'violation.noVideo.what', { what: whatText(violation.what, locale) })
        : say(locale, 'violation.noVideo');
    case 'embedded-reference':
      return say(locale, 'violation.embeddedReference');
    case 'not-a-file': {
      const kind = say(locale, PATH_KINDS[violation.fileKind ?? 'other']);
      return say(locale, violation.viaLink ? 'violation.notAFile.link' : 'violation.notAFile', { kind });
    }
    case 'undecodable-animation':
      return say(locale, 'violation.undecodableAnimation', { what: violation.what ?? 'WebP' });
    case 'incomplete': {
      const [declared, readable] = secondsApart(violation.declaredSec, violation.readableSec, locale);
      const share = 1 - violation.readableSec / Math.max(violation.declaredSec, 1e-9);
      const [percent] = numbersApart(Math.max(0, share) * 100, 0, 0);
      return say(locale, violation.pastEnd ? 'violation.incomplete.pastEnd' : 'violation.incomplete', {
        declared,
        readable,
        missing: `${percent}%`,
      });
    }
    case 'cut-before-index':
      return say(locale, 'violation.cutBeforeIndex');
    case 'length-undeclared':
      return say(locale, 'violation.lengthUndeclared');
    case 'container-unsupported':
      if (ANIMATED_FORMATS[violation.container]) {
        return say(locale, 'violation.container.animated', {
          format: ANIMATED_FORMATS[violation.container]!,
        });
      }
      return say(locale, 'violation.container', {
        container: containerName(violation.container),
        allowed: formatList(violation.allowed.map(containerName), locale),
      });
    case 'codec-unsupported':
      return say(locale, 'violation.codec', { codec: violation.codec });
    case 'duration-too-long':
      return durationText(violation, locale);
    case 'file-too-large':
      return sizeText(violation.sizeBytes, violation.maxSizeBytes, locale);
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
        ...aspectApart(violation.ratio, violation.maxAspectRatio),
      });
    default:
      return assertNever(violation);
  }
}

/** One line per change fitting made. */
export function describeFitChange(change: FitChange, locale: Locale): string {
  switch (change.kind) {
    case 'trim': {
      const [duration, kept] = secondsChanged(change.fromSec, change.toSec, locale);
      return say(locale, 'fit.trim', { duration, kept });
    }
    case 'cut-streams': {
      const [duration, kept] = secondsChanged(change.fromSec, change.toSec, locale);
      if (change.stream === undefined) return say(locale, 'fit.cutFile', { duration, kept });
      return say(locale, 'fit.cutStreams', {
        stream: say(locale, STREAM_NAMES[change.stream]),
        duration,
        kept,
      });
    }
    case 'salvage': {
      const [declared, kept] = secondsChanged(change.declaredSec, change.keptSec, locale);
      return say(locale, 'fit.salvage', { declared, kept });
    }
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
    case 'shrink': {
      if (change.toBytes !== undefined) {
        const [from, to] = bytesApart(change.fromBytes, change.toBytes, locale);
        return say(locale, 'fit.shrink.done', { from, to });
      }
      const [from, max] = bytesApart(change.fromBytes, change.maxBytes, locale);
      return say(locale, 'fit.shrink', { from, max });
    }
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
