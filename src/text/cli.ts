import type { Locale } from '../core/styles.ts';
import type { Phase } from '../core/task.ts';
import { type Phrases, reader } from './catalogue.ts';

/** What `restyle video`, `restyle jobs` and `restyle resume` say on the terminal. */
export const CLI_PHRASES = {
  'phase.probing': { en: 'checking', zh: '检查中' },
  'phase.queued': { en: 'queued', zh: '排队中' },
  'phase.submitting': { en: 'submitting', zh: '提交中' },
  'phase.pending': { en: 'queued at DashScope', zh: '等待 DashScope' },
  'phase.running': { en: 'restyling', zh: '重绘中' },
  'phase.fetching': { en: 'downloading result', zh: '下载结果' },
  'phase.done': { en: 'done', zh: '完成' },
  'progress.position': { en: '#{position} in line', zh: '第 {position} 位' },
  'progress.held': {
    en: 'on hold: DashScope refuses every key, waiting for one to work again',
    zh: '暂停中：DashScope 拒绝了所有 API Key，等待有 Key 恢复',
  },
  'progress.elapsed': { en: '{elapsed} elapsed', zh: '已用 {elapsed}' },
  'progress.elapsedLeft': { en: '{elapsed} elapsed, ~{left} left', zh: '已用 {elapsed}，约剩 {left}' },
  'cli.fitHint.fixable': { en: 'Add --fit to repair this automatically.', zh: '加上 --fit 可自动修正。' },
  'cli.fitHint.unfixable': { en: 'Please use another video.', zh: '请换一个视频。' },
  'cli.rejected': { en: 'The video was not sent, because:', zh: '视频不符合要求，未发送任何请求：' },
  /** One reason or change under a heading. */
  'cli.item': { en: '  - {text}', zh: '  - {text}' },
  'cli.refused.userCap': {
    en: 'not queued: you already have {limit} clips waiting',
    zh: '未排队：你已有 {limit} 段视频在排队',
  },
  'cli.refused.queueFull': {
    en: 'not queued: the queue is full ({limit} waiting)',
    zh: '未排队：队列已满（{limit} 段在等待）',
  },
  'cli.duplicate': {
    en: 'the same clip and style as {input}: restyled once, there',
    zh: '与 {input} 是同一段视频、同一风格：只重绘一次，结果见该项',
  },
  'cli.refused.stopped': { en: 'not queued: the queue is stopping', zh: '未排队：队列正在停止' },
  'cli.adjusted': { en: 'The clip was adjusted to fit the limits:', zh: '已调整视频以符合要求：' },
  'cli.done': { en: 'Done in {elapsed}: {path} ({size})', zh: '完成，用时 {elapsed}：{path}（{size}）' },
  'cli.done.cached': {
    en: 'Done in {elapsed}: {path} ({size}, reused an earlier result)',
    zh: '完成，用时 {elapsed}：{path}（{size}，沿用了之前的结果）',
  },
  'cli.failed': { en: 'Failed: {reason}', zh: '失败：{reason}' },
  /** The codes support needs, under a failure. */
  'cli.trace': { en: '  ({trace})', zh: '  （{trace}）' },
  'cli.trace.code': { en: 'code {code}', zh: '错误码 {code}' },
  'cli.trace.request': { en: 'request id {requestId}', zh: '请求 ID {requestId}' },
  'cli.trace.task': { en: 'task {taskId}', zh: '任务 {taskId}' },
  'cli.interrupted.canceledRemote': {
    en: 'Interrupted; the queued task was canceled at DashScope.',
    zh: '已中断；在 DashScope 排队的任务已取消。',
  },
  'cli.interrupted.running': {
    en: 'Interrupted; the task was already running at DashScope and cannot be canceled there.',
    zh: '已中断；任务已在 DashScope 上运行，无法在那里取消。',
  },
  'cli.interrupted.nothing': {
    en: 'Interrupted; nothing is left running at DashScope.',
    zh: '已中断；DashScope 上没有留下运行中的任务。',
  },
  'cli.usage.noInput': {
    en: 'Give at least one video file or https URL.',
    zh: '请至少给出一个视频文件或 https 网址。',
  },
  'cli.usage.outWithMany': {
    en: '--out names one output: use --out-dir for several inputs.',
    zh: '--out 只能指定一个输出文件：多个输入请用 --out-dir。',
  },
  'cli.usage.styleRequired': {
    en: '--style is required: one of {styles}.',
    zh: '必须指定 --style：{styles} 之一。',
  },
  'cli.usage.unknownStyle': {
    en: 'Unknown style "{asked}". Styles: {styles} (aliases such as 3d, manga, ink also work).',
    zh: '未知风格“{asked}”。可选风格：{styles}（也可以用 3d、manga、ink 等别名）。',
  },
  'cli.usage.fps': {
    en: '--fps must be a whole number from 15 to 25 (got "{fps}").',
    zh: '--fps 必须是 15 到 25 之间的整数（收到的是“{fps}”）。',
  },
  'cli.usage.lang': {
    en: '--lang must be en or zh (got "{lang}").',
    zh: '--lang 只能是 en 或 zh（收到的是“{lang}”）。',
  },
  'cli.usage.unknownOption': {
    en: 'Unknown option {option}. A file whose name starts with "-" goes after "--": restyle video --style 3d -- {option}',
    zh: '未知选项 {option}。文件名以“-”开头时，请放在“--”之后：restyle video --style 3d -- {option}',
  },
  'cli.usage.missingValue': { en: '{option} needs a value.', zh: '{option} 需要一个值。' },
  'cli.usage.noSuchFile': { en: 'No such file: {path}', zh: '文件不存在：{path}' },
  'cli.usage.brokenLink': {
    en: '{path} is a link to a file that does not exist.',
    zh: '{path} 是一个链接，但它指向的文件不存在。',
  },
  'cli.usage.notAFile': { en: '{path}: {reason}', zh: '{path}：{reason}' },
  'cli.jobs.none': { en: 'No jobs.', zh: '没有任务。' },
  'cli.jobs.noneUnfinished': {
    en: 'No unfinished jobs (restyle jobs --all lists finished ones too).',
    zh: '没有未完成的任务（restyle jobs --all 也会列出已结束的任务）。',
  },
  'cli.jobs.column.job': { en: 'JOB', zh: '任务' },
  'cli.jobs.column.state': { en: 'STATE', zh: '状态' },
  'cli.jobs.column.position': { en: 'POS', zh: '位置' },
  'cli.jobs.column.eta': { en: 'ETA', zh: '预计' },
  'cli.jobs.column.task': { en: 'TASK', zh: '远程任务' },
  'cli.jobs.column.style': { en: 'STYLE', zh: '风格' },
  'cli.jobs.column.input': { en: 'INPUT', zh: '输入' },
  'cli.resume.noArguments': {
    en: 'resume takes no arguments (got {args})',
    zh: 'resume 不接受参数（收到的是“{args}”）',
  },
  'cli.resume.nothing': { en: 'Nothing to resume.', zh: '没有需要继续的任务。' },
  'cli.resume.one': { en: 'Resuming {count} job.', zh: '继续 {count} 个任务。' },
  'cli.resume.many': { en: 'Resuming {count} jobs.', zh: '继续 {count} 个任务。' },
  'cli.resume.stopped': {
    en: 'Stopped; unfinished jobs stay in the store (run restyle resume again).',
    zh: '已停止；未完成的任务留在存储中（再次运行 restyle resume 即可继续）。',
  },
} as const satisfies Phrases;

const say = reader(CLI_PHRASES);

/** The phase as shown next to the progress bar. */
export function describePhase(phase: Phase, locale: Locale): string {
  return say(locale, `phase.${phase}`);
}

/** A short hint after violations: what the user can do. */
export function fitHint(fixable: boolean, locale: Locale): string {
  return say(locale, fixable ? 'cli.fitHint.fixable' : 'cli.fitHint.unfixable');
}
