import type { VideoLimits } from '../../core/limits.ts';
import type { Locale } from '../../core/styles.ts';
import { limitsText, stylesText } from '../shared/chat.ts';

/** The bot's commands as setMyCommands registers them, per language. */
export function commandList(locale: Locale): { command: string; description: string }[] {
  const zh = locale === 'zh';
  return [
    {
      command: 'restyle',
      description: zh
        ? '重绘视频：回复一段视频并写上风格，如 /restyle 3d'
        : 'Restyle a video: reply to it with a style, e.g. /restyle 3d',
    },
    { command: 'styles', description: zh ? '查看所有风格' : 'List the styles' },
    { command: 'queue', description: zh ? '我在队列中的视频' : 'My clips in the queue' },
    { command: 'cancel', description: zh ? '取消我等待中的视频' : 'Cancel my waiting clips' },
    { command: 'help', description: zh ? '使用说明和限制' : 'How it works and the limits' },
    { command: 'start', description: zh ? '开始' : 'Start' },
  ];
}

/** The answer to /start and /help. */
export function helpText(
  locale: Locale,
  botUsername: string,
  limits: VideoLimits,
  maxDownloadBytes: number,
  dailyQuota: number,
): string {
  const zh = locale === 'zh';
  const quota =
    dailyQuota > 0
      ? zh
        ? `\n每人每天最多 ${dailyQuota} 次。`
        : `\nEach person can restyle ${dailyQuota} clips a day.`
      : '';
  if (zh) {
    return [
      '👋 我可以把短视频重绘成卡通：日式漫画、美式漫画、3D 卡通、中国水墨等。',
      '',
      '• 私聊：直接发送视频，然后选择风格；或在说明里写上风格（如 “3d”）。',
      `• 群组：回复任意一段视频，发送 /restyle@${botUsername} 3d。`,
      '• /styles 查看风格，/queue 查看排队情况，/cancel 取消等待中的视频。',
      '',
      limitsText(limits, maxDownloadBytes, locale) + quota,
    ].join('\n');
  }
  return [
    '👋 I turn short videos into cartoons: Japanese manga, American comic, 3D cartoon, Chinese ink wash and more.',
    '',
    '• In a private chat: send me a video, then pick a style — or name one in the caption (e.g. “3d”).',
    `• In a group: reply to anyone's video with /restyle@${botUsername} 3d.`,
    '• /styles lists the styles, /queue shows your place in line, /cancel cancels waiting clips.',
    '',
    limitsText(limits, maxDownloadBytes, locale) + quota,
  ].join('\n');
}

/** The answer to /styles. */
export function stylesReply(locale: Locale): string {
  return stylesText(locale, '/restyle 3d');
}

/** Short sentences of the Telegram bot, in both languages. */
export const TEXT = {
  en: {
    pickStyle: 'Which style? Tap one:',
    pickedStyle: (name: string) => `${name}: on it!`,
    alreadyStarted: 'Already on it.',
    notYourClip: 'Only the person who asked can pick the style for this clip.',
    notYourJob: 'Only the person who asked can cancel this clip.',
    clipExpired: 'This clip is too old; please send it again.',
    replyToVideo:
      'Reply to a video with /restyle and a style, e.g. /restyle 3d (or send me a video in a private chat).',
    notVideo: "That isn't a video. Send me a video clip (MP4, MOV, MKV, AVI, …) and I'll restyle it.",
    sendVideo: 'Send me a video and I will restyle it. /help explains how.',
    notAllowed: 'Sorry, this bot is private and does not serve this chat.',
    downloadFailed: "I couldn't download the clip from Telegram. Please send it again.",
    internalError: 'Something went wrong on my side. Please try again in a moment.',
    interrupted:
      'The bot restarted while fetching your clip and cannot fetch it again. Please send it again.',
    queueEmpty: 'You have no clips in the queue. Send me a video!',
    queueHead: 'Your clips:',
    nothingToCancel: 'You have no waiting clips to cancel.',
    canceling: 'Canceling…',
    canceled: (count: number) =>
      count === 1 ? 'Canceled your waiting clip.' : `Canceled ${count} waiting clips.`,
    tooLateToCancel: 'Your clip is already being restyled and cannot be stopped now.',
    unknownCommand: 'I do not know that command. /help lists what I can do.',
  },
  zh: {
    pickStyle: '选择一种风格：',
    pickedStyle: (name: string) => `${name}：马上开始！`,
    alreadyStarted: '已经开始了。',
    notYourClip: '只有发起请求的人才能为这段视频选择风格。',
    notYourJob: '只有发起请求的人才能取消。',
    clipExpired: '这段视频太久了，请重新发送。',
    replyToVideo: '请回复一段视频并发送 /restyle 加风格，例如 /restyle 3d（或在私聊中直接发视频给我）。',
    notVideo: '这不是视频。请发送视频（MP4、MOV、MKV、AVI 等），我来重绘。',
    sendVideo: '发一段视频给我，我来重绘。/help 查看说明。',
    notAllowed: '抱歉，这个机器人不对本聊天开放。',
    downloadFailed: '无法从 Telegram 下载这段视频，请重新发送。',
    internalError: '我这边出了点问题，请稍后再试。',
    interrupted: '机器人在获取你的视频时重启了，无法再次获取。请重新发送。',
    queueEmpty: '你没有排队中的视频。发一段视频给我吧！',
    queueHead: '你的视频：',
    nothingToCancel: '你没有可以取消的等待中的视频。',
    canceling: '正在取消……',
    canceled: (count: number) =>
      count === 1 ? '已取消你等待中的视频。' : `已取消 ${count} 段等待中的视频。`,
    tooLateToCancel: '你的视频已经在重绘中，现在无法停止。',
    unknownCommand: '我不认识这个命令。/help 查看我能做什么。',
  },
} as const satisfies Record<Locale, Record<string, string | ((...args: never[]) => string)>>;
