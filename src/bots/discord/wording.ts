import type { Locale, Style } from '../../core/styles.ts';
import { type Phrases, perLocale, reader, type StatusView, statusText, textBar } from '../../text/index.ts';

/** What only the Discord bot says, in both languages; `{who}` is a mention, `{time}` a Discord timestamp. */
export const DISCORD_PHRASES = {
  // Command and option names: the English one is the name Discord routes by, so it never changes.
  'discord.name.restyle': { en: 'restyle', zh: '重绘' },
  'discord.name.restyleMessage': { en: 'Restyle video', zh: '重绘视频' },
  'discord.name.video': { en: 'video', zh: '视频' },
  'discord.name.style': { en: 'style', zh: '风格' },
  'discord.name.fps': { en: 'fps', zh: '帧率' },
  'discord.command.restyle': {
    en: 'Turn a video into a cartoon (manga, comic, 3D, ink wash…)',
    zh: '把视频重绘成卡通（日漫、美漫、3D、水墨……）',
  },
  'discord.option.video': {
    en: 'The clip: up to {duration}, {minSide}-{maxSide} px per side',
    zh: '视频：最长 {duration}，每边 {minSide}-{maxSide} 像素',
  },
  'discord.option.style': { en: 'The drawing style', zh: '绘画风格' },
  'discord.option.fps': {
    en: 'Frame rate of the result, {min}-{max} (default {usual})',
    zh: '结果的帧率，{min}-{max}（默认 {usual}）',
  },
  'discord.status.queued': {
    en: "⏳ {who}'s clip ({style}): **#{position} of {total}** in line, ready {time}",
    zh: '⏳ {who} 的视频（{style}）：排队第 **{position}/{total}** 位，预计 {time} 完成',
  },
  'discord.status.restyling': {
    en: "🎨 Restyling {who}'s clip as {style}… ready {time}\n{bar} {percent}%",
    zh: '🎨 正在把 {who} 的视频重绘为{style}……预计 {time} 完成\n{bar} {percent}%',
  },
  'discord.status.restyling.almostDone': {
    en: "🎨 Restyling {who}'s clip as {style}… almost there\n{bar} {percent}%",
    zh: '🎨 正在把 {who} 的视频重绘为{style}……马上就好\n{bar} {percent}%',
  },
  /** Any other status, with the requester's mention after it (Chinese statuses end in full-width punctuation). */
  'discord.status.of': { en: '{status} · {who}', zh: '{status}· {who}' },
  'discord.pickStyle': { en: 'Which style?', zh: '选择一种风格：' },
  'discord.noVideo': {
    en: 'That message has no video attachment to restyle.',
    zh: '这条消息没有可以重绘的视频附件。',
  },
  'discord.notVideo': {
    en: 'That attachment is not a video ({what}). Attach a clip (MP4, MOV, MKV, AVI, …).',
    zh: '这个附件不是视频（{what}）。请附上视频（MP4、MOV、MKV、AVI 等）。',
  },
  'discord.queuedHere': {
    en: '✅ Queued — the status is below, in the channel.',
    zh: '✅ 已排队，进度显示在频道中。',
  },
  'discord.checkingHere': {
    en: '👀 Got it — checking your clip; its status is below, in the channel.',
    zh: '👀 收到，正在检查视频，进度显示在频道中。',
  },
  'discord.alreadyTaken': {
    en: '👀 Already on it — this clip was taken in before; its status is in the channel.',
    zh: '👀 已在处理：这段视频之前已收到，进度显示在频道中。',
  },
  'discord.interrupted': {
    en: 'The bot restarted while fetching {file} and cannot fetch it again. Please run /restyle with it again.',
    zh: '机器人在获取 {file} 时重启了，无法再次获取。请重新使用 /restyle。',
  },
  'discord.downloadFailed': {
    en: "I couldn't download the attachment from Discord. Please try again.",
    zh: '无法从 Discord 下载附件，请重试。',
  },
  'discord.tooBigToFetch': {
    en: 'That file is {size}; I can take files up to {max}.',
    zh: '文件大小 {size}，最多只能处理 {max}。',
  },
  'discord.pickExpired': {
    en: 'This choice is too old; use “Restyle video” on the message again.',
    zh: '这个选择已过期，请对消息再次使用“重绘视频”。',
  },
  'discord.clipExpired': {
    en: 'That clip is no longer kept here; please run /restyle with it again.',
    zh: '这段视频已不再保留，请重新使用 /restyle。',
  },
  'discord.notYourJob': {
    en: 'Only the person who asked, or someone who can manage messages, can cancel this clip.',
    zh: '只有发起请求的人或有“管理消息”权限的成员才能取消。',
  },
  'discord.canceled': { en: 'Canceled.', zh: '已取消。' },
  'discord.tooLateToCancel': {
    en: 'This clip is already being restyled and cannot be stopped now.',
    zh: '视频已经在重绘中，现在无法停止。',
  },
  'discord.alreadyOver': { en: 'This clip is already done.', zh: '这段视频已经处理完了。' },
  'discord.notAllowed': {
    en: 'Sorry, this bot is not available here.',
    zh: '抱歉，这个机器人不在这里提供服务。',
  },
  'discord.internalError': {
    en: 'Something went wrong on my side. Please try again in a moment.',
    zh: '我这边出了点问题，请稍后再试。',
  },
  'discord.adjust': { en: 'Adjust and restyle', zh: '自动调整并重绘' },
  'discord.another': { en: 'Restyle in another style…', zh: '换一种风格重绘……' },
  'discord.resultFor': { en: '🎨 **{style}** for {who}', zh: '🎨 **{style}**，给 {who}' },
  'discord.compressed': {
    en: '(compressed from {from} to fit the {limit} upload limit)',
    zh: '（已从 {from} 压缩，以符合 {limit} 的上传限制）',
  },
  'discord.tooBigLink': {
    en: 'The result is too large to upload here (limit {limit}). Download it until {until}:',
    zh: '结果太大，无法在这里上传（上限 {limit}）。请在 {until} 前下载：',
  },
  'discord.cancel': { en: 'Cancel', zh: '取消' },
} as const satisfies Phrases;

/** A phrase of the Discord bot in one language. */
export const sayDiscord = reader(DISCORD_PHRASES);

/** A Discord relative timestamp (`in 2 minutes`, shown in each reader's language and time zone). */
export function relativeTime(atMs: number): string {
  // Rounded to 10 s so a status does not change (and get edited) every second.
  return `<t:${Math.round(atMs / 10_000) * 10}:R>`;
}

/** An absolute Discord timestamp (date and time, in the reader's time zone). */
export function absoluteTime(atMs: number): string {
  return `<t:${Math.round(atMs / 1000)}:f>`;
}

/** A user mention. */
function mention(userId: string): string {
  return `<@${userId}>`;
}

/** A status line with the requester's mention after it: `✅ 3D cartoon: done! · @ana`. */
export function statusWithMention(status: string, userId: string, locale: Locale): string {
  return sayDiscord(locale, 'discord.status.of', { status, who: mention(userId) });
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
  const name = style.names[locale];
  const who = mention(extra.userId);
  switch (view.kind) {
    case 'queued':
      if (view.held) return statusWithMention(statusText(view, style, locale), extra.userId, locale);
      return sayDiscord(locale, 'discord.status.queued', {
        who,
        style: name,
        position: view.position,
        total: Math.max(view.position, extra.waiting),
        time: relativeTime(extra.nowMs + view.etaMs),
      });
    case 'restyling': {
      // Tens of percent, so the message is not edited for every percent.
      const shown = {
        who,
        style: name,
        bar: textBar(view.fraction),
        percent: Math.floor(view.fraction * 10) * 10,
      };
      return view.etaMs > 0
        ? sayDiscord(locale, 'discord.status.restyling', {
            ...shown,
            time: relativeTime(extra.nowMs + view.etaMs),
          })
        : sayDiscord(locale, 'discord.status.restyling.almostDone', shown);
    }
    default:
      return statusWithMention(statusText(view, style, locale), extra.userId, locale);
  }
}

/** Short sentences of the Discord bot, per language. */
export const TEXT = perLocale((locale) => ({
  pickStyle: sayDiscord(locale, 'discord.pickStyle'),
  noVideo: sayDiscord(locale, 'discord.noVideo'),
  notVideo: (what: string) => sayDiscord(locale, 'discord.notVideo', { what }),
  queuedHere: sayDiscord(locale, 'discord.queuedHere'),
  checkingHere: sayDiscord(locale, 'discord.checkingHere'),
  alreadyTaken: sayDiscord(locale, 'discord.alreadyTaken'),
  interrupted: (file: string) => sayDiscord(locale, 'discord.interrupted', { file }),
  downloadFailed: sayDiscord(locale, 'discord.downloadFailed'),
  tooBigToFetch: (size: string, max: string) => sayDiscord(locale, 'discord.tooBigToFetch', { size, max }),
  pickExpired: sayDiscord(locale, 'discord.pickExpired'),
  clipExpired: sayDiscord(locale, 'discord.clipExpired'),
  notYourJob: sayDiscord(locale, 'discord.notYourJob'),
  canceled: sayDiscord(locale, 'discord.canceled'),
  tooLateToCancel: sayDiscord(locale, 'discord.tooLateToCancel'),
  alreadyOver: sayDiscord(locale, 'discord.alreadyOver'),
  notAllowed: sayDiscord(locale, 'discord.notAllowed'),
  internalError: sayDiscord(locale, 'discord.internalError'),
  adjust: sayDiscord(locale, 'discord.adjust'),
  another: sayDiscord(locale, 'discord.another'),
  resultFor: (who: string, name: string) => sayDiscord(locale, 'discord.resultFor', { who, style: name }),
  compressed: (from: string, limit: string) => sayDiscord(locale, 'discord.compressed', { from, limit }),
  tooBigLink: (limit: string, until: string) => sayDiscord(locale, 'discord.tooBigLink', { limit, until }),
  cancel: sayDiscord(locale, 'discord.cancel'),
}));
