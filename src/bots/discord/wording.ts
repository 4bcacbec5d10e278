import type { Locale, Style } from '../../core/styles.ts';
import { type StatusView, statusText, textBar } from '../shared/chat.ts';

/** A Discord relative timestamp (`in 2 minutes`, shown in each reader's language and time zone). */
export function relativeTime(atMs: number): string {
  // Rounded to 10 s so a status does not change (and get edited) every second.
  return `<t:${Math.round(atMs / 10_000) * 10}:R>`;
}

/** An absolute Discord timestamp (date and time, in the reader's time zone). */
export function absoluteTime(atMs: number): string {
  return `<t:${Math.round(atMs / 1000)}:f>`;
}

/**
 * The status message of a job on Discord: position as "x of y", the ETA as a relative timestamp
 * (Discord keeps it ticking, so no edit is needed for the clock), and a bar while restyling.
 */
export function discordStatusText(
  view: StatusView,
  style: Style,
  locale: Locale,
  extra: { readonly userId: string; readonly waiting: number; readonly nowMs: number },
): string {
  const zh = locale === 'zh';
  const name = style.names[locale];
  const who = `<@${extra.userId}>`;
  switch (view.kind) {
    case 'queued': {
      const eta = relativeTime(extra.nowMs + view.etaMs);
      const total = Math.max(view.position, extra.waiting);
      return zh
        ? `⏳ ${who} 的视频（${name}）：排队第 **${view.position}/${total}** 位，预计 ${eta} 完成`
        : `⏳ ${who}'s clip (${name}): **#${view.position} of ${total}** in line, ready ${eta}`;
    }
    case 'restyling': {
      const percent = Math.floor(view.fraction * 10) * 10;
      const bar = `${textBar(view.fraction)} ${percent}%`;
      const eta = view.etaMs > 0 ? relativeTime(extra.nowMs + view.etaMs) : undefined;
      return zh
        ? `🎨 正在把 ${who} 的视频重绘为${name}……${eta ? `预计 ${eta} 完成` : '马上就好'}\n${bar}`
        : `🎨 Restyling ${who}'s clip as ${name}… ${eta ? `ready ${eta}` : 'almost there'}\n${bar}`;
    }
    default:
      return `${statusText(view, style, locale)} · ${who}`;
  }
}

/** Short sentences of the Discord bot, in both languages. */
export const TEXT = {
  en: {
    pickStyle: 'Which style?',
    noVideo: 'That message has no video attachment to restyle.',
    notVideo: (what: string) =>
      `That attachment is not a video (${what}). Attach a clip (MP4, MOV, MKV, AVI, …).`,
    queuedHere: '✅ Queued — the status is below, in the channel.',
    checkingHere: '👀 Got it — checking your clip; its status is below, in the channel.',
    downloadFailed: "I couldn't download the attachment from Discord. Please try again.",
    interrupted:
      'The bot restarted while fetching this clip and cannot fetch it again. Please run /restyle with it again.',
    tooBigToFetch: (size: string, max: string) => `That file is ${size}; I can take files up to ${max}.`,
    pickExpired: 'This choice is too old; use “Restyle video” on the message again.',
    clipExpired: 'That clip is no longer kept here; please run /restyle with it again.',
    notYourJob: 'Only the person who asked, or someone who can manage messages, can cancel this clip.',
    canceled: 'Canceled.',
    tooLateToCancel: 'This clip is already being restyled and cannot be stopped now.',
    alreadyOver: 'This clip is already done.',
    notAllowed: 'Sorry, this bot is not available here.',
    internalError: 'Something went wrong on my side. Please try again in a moment.',
    adjust: 'Adjust and restyle',
    another: 'Restyle in another style…',
    resultFor: (who: string, name: string) => `🎨 **${name}** for ${who}`,
    compressed: (from: string, limit: string) => `(compressed from ${from} to fit the ${limit} upload limit)`,
    tooBigLink: (limit: string, until: string) =>
      `The result is too large to upload here (limit ${limit}). Download it until ${until}:`,
    cancel: 'Cancel',
  },
  zh: {
    pickStyle: '选择一种风格：',
    noVideo: '这条消息没有可以重绘的视频附件。',
    notVideo: (what: string) => `这个附件不是视频（${what}）。请附上视频（MP4、MOV、MKV、AVI 等）。`,
    queuedHere: '✅ 已排队，进度显示在频道中。',
    checkingHere: '👀 收到，正在检查视频，进度显示在频道中。',
    downloadFailed: '无法从 Discord 下载附件，请重试。',
    interrupted: '机器人在获取这段视频时重启了，无法再次获取。请重新使用 /restyle。',
    tooBigToFetch: (size: string, max: string) => `文件大小 ${size}，最多只能处理 ${max}。`,
    pickExpired: '这个选择已过期，请对消息再次使用“重绘视频”。',
    clipExpired: '这段视频已不再保留，请重新使用 /restyle。',
    notYourJob: '只有发起请求的人或有“管理消息”权限的成员才能取消。',
    canceled: '已取消。',
    tooLateToCancel: '视频已经在重绘中，现在无法停止。',
    alreadyOver: '这段视频已经处理完了。',
    notAllowed: '抱歉，这个机器人不在这里提供服务。',
    internalError: '我这边出了点问题，请稍后再试。',
    adjust: '自动调整并重绘',
    another: '换一种风格重绘……',
    resultFor: (who: string, name: string) => `🎨 **${name}**，给 ${who}`,
    compressed: (from: string, limit: string) => `（已从 ${from} 压缩，以符合 ${limit} 的上传限制）`,
    tooBigLink: (limit: string, until: string) =>
      `结果太大，无法在这里上传（上限 ${limit}）。请在 ${until} 前下载：`,
    cancel: '取消',
  },
} as const satisfies Record<Locale, Record<string, string | ((...args: never[]) => string)>>;
