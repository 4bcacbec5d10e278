import { assertNever, RemoteError, type RemoteErrorKind } from '../core/errors.ts';
import type { JobFailure } from '../core/job.ts';
import type { Locale } from '../core/styles.ts';
import { type Phrases, reader } from './catalogue.ts';
import { formatList } from './format.ts';

/** Why a remote call or a job failed; `{detail}` is the technical message that came with it. */
export const FAILURE_PHRASES = {
  'remote.auth': {
    en: 'DashScope refused the API key (invalid, wrong region, or no access to the model). Check DASHSCOPE_API_KEY.',
    zh: 'DashScope 拒绝了 API Key（无效、地域不对或无权使用该模型）。请检查 DASHSCOPE_API_KEY。',
  },
  'remote.billing': {
    en: 'The DashScope account is out of credit or free quota.',
    zh: 'DashScope 账户欠费或免费额度已用完。',
  },
  'remote.throttled': {
    en: 'DashScope is busy (rate limited); try again shortly.',
    zh: 'DashScope 繁忙（限流），稍后再试。',
  },
  'remote.parameter': { en: 'DashScope refused the request: {detail}', zh: 'DashScope 拒绝了请求：{detail}' },
  'remote.inspection': {
    en: 'The video did not pass DashScope content inspection.',
    zh: '视频内容未通过 DashScope 的内容审核。',
  },
  'remote.server': {
    en: 'DashScope had an internal error; try again later.',
    zh: 'DashScope 服务出错，稍后再试。',
  },
  'remote.timeout': {
    en: 'DashScope did not answer in time: {detail}',
    zh: 'DashScope 没有及时响应：{detail}',
  },
  'remote.network': { en: 'Could not reach DashScope: {detail}', zh: '无法连接 DashScope：{detail}' },
  'remote.taskLost': {
    en: 'DashScope no longer knows the task (it expired).',
    zh: 'DashScope 已找不到这个任务（已过期）。',
  },
  'remote.sendFailed': { en: 'Could not send the result: {detail}', zh: '无法发送结果：{detail}' },
  'remote.resultTooLarge': {
    en: 'The result is too large to upload: {detail}',
    zh: '结果太大，无法上传：{detail}',
  },
  'remote.fetchFailed': { en: 'Could not fetch the result: {detail}', zh: '无法取回结果：{detail}' },
  'task.fileDownload': {
    en: 'DashScope could not download the input video.',
    zh: 'DashScope 无法下载输入视频。',
  },
  'task.videoFormat': { en: 'DashScope could not read the video.', zh: 'DashScope 无法读取这个视频。' },
  'task.algo': {
    en: 'The model failed while processing; trying again may work.',
    zh: '模型处理出错，可以再试一次。',
  },
  'task.fileUpload': {
    en: 'DashScope failed to store the result; trying again may work.',
    zh: 'DashScope 保存结果失败，可以再试一次。',
  },
  'task.canceled': { en: 'The task was canceled.', zh: '任务已取消。' },
  'task.failed': { en: 'The task failed: {detail}', zh: '任务失败：{detail}' },
  /** A failed job in a chat: the reason, then the codes support needs to trace it. */
  'failure.chat': { en: '❌ Failed: {reason}\n({trace})', zh: '❌ 失败：{reason}\n（{trace}）' },
  'failure.trace.request': { en: 'request {requestId}', zh: '请求 {requestId}' },
  'failure.trace.task': { en: 'task {taskId}', zh: '任务 {taskId}' },
} as const satisfies Phrases;

const say = reader(FAILURE_PHRASES);

/** A sentence explaining a remote failure; the caller adds the code and request id for support. */
export function describeRemoteError(error: RemoteError, locale: Locale): string {
  const detail = error.message;
  switch (error.kind) {
    case 'auth':
      return say(locale, 'remote.auth');
    case 'billing':
      return say(locale, 'remote.billing');
    case 'throttled':
      return say(locale, 'remote.throttled');
    case 'parameter':
      return say(locale, 'remote.parameter', { detail });
    case 'inspection':
      return say(locale, 'remote.inspection');
    case 'server':
      return say(locale, 'remote.server');
    case 'timeout':
      return say(locale, 'remote.timeout', { detail });
    case 'network':
      return say(locale, 'remote.network', { detail });
    case 'task-failed':
      return describeTaskFailure(error.code, detail, locale);
    case 'task-lost':
      return say(locale, 'remote.taskLost');
    case 'result':
      if (error.code === 'SendFailed' || error.code === 'ChatClosed') {
        return say(locale, 'remote.sendFailed', { detail });
      }
      if (error.code === 'ResultTooLarge') return say(locale, 'remote.resultTooLarge', { detail });
      return say(locale, 'remote.fetchFailed', { detail });
    default:
      return assertNever(error.kind);
  }
}

function describeTaskFailure(code: string, detail: string, locale: Locale): string {
  switch (code) {
    case 'InvalidParameter.FileDownload':
      return say(locale, 'task.fileDownload');
    case 'InvalidParameter.VideoFormat':
      return say(locale, 'task.videoFormat');
    case 'InternalError.Algo':
      return say(locale, 'task.algo');
    case 'InternalError.FileUpload':
      return say(locale, 'task.fileUpload');
    case 'Canceled':
      return say(locale, 'task.canceled');
    default:
      return say(locale, 'task.failed', { detail });
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

/** Why a job failed, with the codes support needs to trace it. */
export function failureText(failure: JobFailure, locale: Locale): string {
  const trace = [
    failure.code,
    failure.requestId === undefined
      ? undefined
      : say(locale, 'failure.trace.request', { requestId: failure.requestId }),
    failure.taskId === undefined ? undefined : say(locale, 'failure.trace.task', { taskId: failure.taskId }),
  ].filter((part): part is string => Boolean(part));
  return say(locale, 'failure.chat', {
    reason: describeFailure(failure, locale),
    trace: formatList(trace, locale),
  });
}
