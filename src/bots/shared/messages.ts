import { assertNever, RemoteError, type RemoteErrorKind } from '../../core/errors.ts';
import type { FitChange } from '../../core/fit.ts';
import type { JobFailure } from '../../core/job.ts';
import type { LimitViolation } from '../../core/limits.ts';
import type { Locale } from '../../core/styles.ts';
import type { Phase } from '../../core/task.ts';

/** Picks the product's locale from a language tag or POSIX locale (`zh-CN`, `zh_CN.UTF-8`, `en`). */
export function localeFrom(tag: string | undefined): Locale {
  return tag?.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

/** `41.2 s` / `41.2 秒`, one decimal, trailing `.0` dropped. */
export function formatSeconds(seconds: number, locale: Locale): string {
  const text = (Math.round(seconds * 10) / 10).toFixed(1).replace(/\.0$/, '');
  return locale === 'zh' ? `${text} 秒` : `${text} s`;
}

/** Bytes in decimal megabytes, as the limits are stated: `101.0 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** `1:05` style clock for durations in milliseconds. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

function size(width: number, height: number): string {
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

function containerName(container: string): string {
  return CONTAINER_NAMES[container] ?? container.toUpperCase();
}

/** One sentence saying which limit the clip breaks, with its numbers. */
export function describeViolation(violation: LimitViolation, locale: Locale): string {
  const zh = locale === 'zh';
  switch (violation.code) {
    case 'empty-file':
      return zh ? '文件是空的（0 字节）。' : 'The file is empty (0 bytes).';
    case 'unreadable':
      return zh
        ? '无法读取这个文件：它不是视频，或者已损坏、不完整。'
        : 'This file cannot be read as a video: it is not one, or it is damaged or incomplete.';
    case 'still-image':
      return zh
        ? `这是一张图片${violation.what ? `（${violation.what}）` : ''}，不是视频。`
        : `This is a still image${violation.what ? ` (${violation.what})` : ''}, not a video.`;
    case 'no-video-stream':
      return zh
        ? `这个文件没有画面${violation.what ? `（只有 ${violation.what}）` : ''}。`
        : `This file has no picture${violation.what ? ` (only ${violation.what})` : ''}.`;
    case 'embedded-reference':
      return zh
        ? '这个文件内嵌了播放列表或对其他文件、网址的引用，出于安全原因不予处理。'
        : 'This file embeds a playlist or references to other files or URLs; for safety it is not processed.';
    case 'container-unsupported': {
      const allowed = violation.allowed.map(containerName).join(', ');
      return zh
        ? `不支持 ${containerName(violation.container)} 格式；支持：${allowed}。`
        : `${containerName(violation.container)} files are not supported; supported: ${allowed}.`;
    }
    case 'codec-unsupported':
      return zh
        ? `不支持 ${violation.codec} 视频编码。`
        : `The video is encoded as ${violation.codec}, which the model does not read.`;
    case 'duration-too-long':
      return zh
        ? `视频时长 ${formatSeconds(violation.durationSec, locale)}，超过 ${formatSeconds(violation.maxDurationSec, locale)} 的上限。`
        : `${formatSeconds(violation.durationSec, locale)} is longer than the ${formatSeconds(violation.maxDurationSec, locale)} limit.`;
    case 'file-too-large':
      return zh
        ? `文件大小 ${formatBytes(violation.sizeBytes)}，超过 ${formatBytes(violation.maxSizeBytes)} 的上限。`
        : `${formatBytes(violation.sizeBytes)} is larger than the ${formatBytes(violation.maxSizeBytes)} limit.`;
    case 'side-too-small':
      return zh
        ? `画面 ${size(violation.width, violation.height)} 像素，每边至少需要 ${violation.minSidePx} 像素。`
        : `${size(violation.width, violation.height)} px is too small: each side must be at least ${violation.minSidePx} px.`;
    case 'side-too-large':
      return zh
        ? `画面 ${size(violation.width, violation.height)} 像素，每边不能超过 ${violation.maxSidePx} 像素。`
        : `${size(violation.width, violation.height)} px is too large: each side must be at most ${violation.maxSidePx} px.`;
    case 'aspect-too-wide': {
      const ratio = violation.ratio.toFixed(2);
      return zh
        ? `画面 ${size(violation.width, violation.height)} 的长宽比为 ${ratio}:1，超过 ${violation.maxAspectRatio}:1 的上限。`
        : `${size(violation.width, violation.height)} has an aspect ratio of ${ratio}:1, wider than the ${violation.maxAspectRatio}:1 limit.`;
    }
    default:
      return assertNever(violation);
  }
}

/** One line per change `--fit` made. */
export function describeFitChange(change: FitChange, locale: Locale): string {
  const zh = locale === 'zh';
  switch (change.kind) {
    case 'trim':
      return zh
        ? `截取前 ${formatSeconds(change.toSec, locale)}（原长 ${formatSeconds(change.fromSec, locale)}）`
        : `trimmed from ${formatSeconds(change.fromSec, locale)} to ${formatSeconds(change.toSec, locale)}`;
    case 'scale':
      return zh
        ? `缩放 ${size(change.from.width, change.from.height)} → ${size(change.to.width, change.to.height)}`
        : `scaled ${size(change.from.width, change.from.height)} → ${size(change.to.width, change.to.height)}`;
    case 'crop':
      return zh
        ? `居中裁剪 ${size(change.from.width, change.from.height)} → ${size(change.to.width, change.to.height)}`
        : `cropped (centred) ${size(change.from.width, change.from.height)} → ${size(change.to.width, change.to.height)}`;
    case 'reencode':
      return zh
        ? `重新编码 ${change.fromCodec} → ${change.toCodec}`
        : `re-encoded ${change.fromCodec} → ${change.toCodec}`;
    case 'remux':
      return zh
        ? `转换格式 ${containerName(change.fromContainer)} → ${containerName(change.toContainer)}`
        : `converted ${containerName(change.fromContainer)} → ${containerName(change.toContainer)}`;
    case 'shrink':
      return zh
        ? `压缩 ${formatBytes(change.fromBytes)} → 不超过 ${formatBytes(change.maxBytes)}`
        : `compressed ${formatBytes(change.fromBytes)} → at most ${formatBytes(change.maxBytes)}`;
    default:
      return assertNever(change);
  }
}

/** A short hint after violations: what the user can do. */
export function fitHint(fixable: boolean, locale: Locale): string {
  if (locale === 'zh') return fixable ? '加上 --fit 可自动修正。' : '请换一个视频。';
  return fixable ? 'Add --fit to repair this automatically.' : 'Please use another video.';
}

/** The phase as shown next to the progress bar. */
export function describePhase(phase: Phase, locale: Locale): string {
  const en: Record<Phase, string> = {
    probing: 'checking',
    queued: 'queued',
    submitting: 'submitting',
    pending: 'queued at DashScope',
    running: 'restyling',
    fetching: 'downloading result',
    done: 'done',
  };
  const zh: Record<Phase, string> = {
    probing: '检查中',
    queued: '排队中',
    submitting: '提交中',
    pending: '等待 DashScope',
    running: '重绘中',
    fetching: '下载结果',
    done: '完成',
  };
  return (locale === 'zh' ? zh : en)[phase];
}

/** A sentence explaining a remote failure; the caller adds the code and request id for support. */
export function describeRemoteError(error: RemoteError, locale: Locale): string {
  const zh = locale === 'zh';
  switch (error.kind) {
    case 'auth':
      return zh
        ? 'DashScope 拒绝了 API Key（无效、地域不对或无权使用该模型）。请检查 DASHSCOPE_API_KEY。'
        : 'DashScope refused the API key (invalid, wrong region, or no access to the model). Check DASHSCOPE_API_KEY.';
    case 'billing':
      return zh
        ? 'DashScope 账户欠费或免费额度已用完。'
        : 'The DashScope account is out of credit or free quota.';
    case 'throttled':
      return zh
        ? 'DashScope 繁忙（限流），稍后再试。'
        : 'DashScope is busy (rate limited); try again shortly.';
    case 'parameter':
      return zh
        ? `DashScope 拒绝了请求：${error.message}`
        : `DashScope refused the request: ${error.message}`;
    case 'inspection':
      return zh
        ? '视频内容未通过 DashScope 的内容审核。'
        : 'The video did not pass DashScope content inspection.';
    case 'server':
      return zh ? 'DashScope 服务出错，稍后再试。' : 'DashScope had an internal error; try again later.';
    case 'timeout':
      return zh
        ? `DashScope 没有及时响应：${error.message}`
        : `DashScope did not answer in time: ${error.message}`;
    case 'network':
      return zh ? `无法连接 DashScope：${error.message}` : `Could not reach DashScope: ${error.message}`;
    case 'task-failed':
      return describeTaskFailure(error.code, error.message, locale);
    case 'task-lost':
      return zh
        ? 'DashScope 已找不到这个任务（已过期）。'
        : 'DashScope no longer knows the task (it expired).';
    case 'result':
      if (error.code === 'SendFailed' || error.code === 'ChatClosed') {
        return zh ? `无法发送结果：${error.message}` : `Could not send the result: ${error.message}`;
      }
      if (error.code === 'ResultTooLarge') {
        return zh
          ? `结果太大，无法上传：${error.message}`
          : `The result is too large to upload: ${error.message}`;
      }
      return zh ? `无法取回结果：${error.message}` : `Could not fetch the result: ${error.message}`;
    default:
      return assertNever(error.kind);
  }
}

function describeTaskFailure(code: string, message: string, locale: Locale): string {
  const zh = locale === 'zh';
  switch (code) {
    case 'InvalidParameter.FileDownload':
      return zh ? 'DashScope 无法下载输入视频。' : 'DashScope could not download the input video.';
    case 'InvalidParameter.VideoFormat':
      return zh ? 'DashScope 无法读取这个视频。' : 'DashScope could not read the video.';
    case 'InternalError.Algo':
      return zh
        ? '模型处理出错，可以再试一次。'
        : 'The model failed while processing; trying again may work.';
    case 'InternalError.FileUpload':
      return zh
        ? 'DashScope 保存结果失败，可以再试一次。'
        : 'DashScope failed to store the result; trying again may work.';
    case 'Canceled':
      return zh ? '任务已取消。' : 'The task was canceled.';
    default:
      return zh ? `任务失败：${message}` : `The task failed: ${message}`;
  }
}

const REMOTE_KINDS: ReadonlySet<string> = new Set<RemoteErrorKind>([
  'auth',
  'billing',
  'throttled',
  'parameter',
  'inspection',
  'server',
  'timeout',
  'network',
  'task-failed',
  'task-lost',
  'result',
]);

/** A sentence explaining a stored job failure (remote or internal); codes are the caller's to add. */
export function describeFailure(failure: JobFailure, locale: Locale): string {
  if (!REMOTE_KINDS.has(failure.kind)) return failure.message;
  return describeRemoteError(
    new RemoteError({ kind: failure.kind as RemoteErrorKind, code: failure.code, message: failure.message }),
    locale,
  );
}
