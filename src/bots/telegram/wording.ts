import type { VideoLimits } from '../../core/limits.ts';
import type { Locale } from '../../core/styles.ts';
import { limitsText, type Phrases, perLocale, reader, stylesText } from '../../text/index.ts';

/** What only the Telegram bot says, in both languages. */
export const TELEGRAM_PHRASES = {
  'telegram.command.restyle': {
    en: 'Restyle a video: reply to it with a style, e.g. /restyle 3d',
    zh: '重绘视频：回复一段视频并写上风格，如 /restyle 3d',
  },
  'telegram.command.styles': { en: 'List the styles', zh: '查看所有风格' },
  'telegram.command.queue': { en: 'My clips in the queue', zh: '我在队列中的视频' },
  'telegram.command.cancel': { en: 'Cancel my waiting clips', zh: '取消我等待中的视频' },
  'telegram.command.help': { en: 'How it works and the limits', zh: '使用说明和限制' },
  'telegram.command.start': { en: 'Start', zh: '开始' },
  'telegram.help.intro': {
    en: '👋 I turn short videos into cartoons: Japanese manga, American comic, 3D cartoon, Chinese ink wash and more.',
    zh: '👋 我可以把短视频重绘成卡通：日式漫画、美式漫画、3D 卡通、中国水墨等。',
  },
  'telegram.help.private': {
    en: '• In a private chat: send me a video, then pick a style — or name one in the caption (e.g. “3d”).',
    zh: '• 私聊：直接发送视频，然后选择风格；或在说明里写上风格（如“3d”）。',
  },
  'telegram.help.group': {
    en: "• In a group: reply to anyone's video with /restyle@{bot} 3d.",
    zh: '• 群组：回复任意一段视频，发送 /restyle@{bot} 3d。',
  },
  'telegram.help.commands': {
    en: '• /styles lists the styles, /queue shows your place in line, /cancel cancels waiting clips.',
    zh: '• /styles 查看风格，/queue 查看排队情况，/cancel 取消等待中的视频。',
  },
  'telegram.help.quota': {
    en: 'Each person can restyle {quota} clips a day.',
    zh: '每人每天最多 {quota} 次。',
  },
  'telegram.pickStyle': { en: 'Which style? Tap one:', zh: '选择一种风格：' },
  'telegram.pickedStyle': { en: '{style}: on it!', zh: '{style}：马上开始！' },
  'telegram.alreadyStarted': { en: 'Already on it.', zh: '已经开始了。' },
  'telegram.notYourClip': {
    en: 'Only the person who asked can pick the style for this clip.',
    zh: '只有发起请求的人才能为这段视频选择风格。',
  },
  'telegram.notYourJob': {
    en: 'Only the person who asked can cancel this clip.',
    zh: '只有发起请求的人才能取消。',
  },
  'telegram.clipExpired': {
    en: 'This clip is too old; please send it again.',
    zh: '这段视频太久了，请重新发送。',
  },
  'telegram.replyToVideo': {
    en: 'Reply to a video with /restyle and a style, e.g. /restyle 3d (or send me a video in a private chat).',
    zh: '请回复一段视频并发送 /restyle 加风格，例如 /restyle 3d（或在私聊中直接发视频给我）。',
  },
  'telegram.notVideo': {
    en: "That isn't a video. Send me a video clip (MP4, MOV, MKV, AVI, …) and I'll restyle it.",
    zh: '这不是视频。请发送视频（MP4、MOV、MKV、AVI 等），我来重绘。',
  },
  'telegram.sendVideo': {
    en: 'Send me a video and I will restyle it. /help explains how.',
    zh: '发一段视频给我，我来重绘。/help 查看说明。',
  },
  'telegram.notAllowed': {
    en: 'Sorry, this bot is private and does not serve this chat.',
    zh: '抱歉，这个机器人不对本聊天开放。',
  },
  'telegram.downloadFailed': {
    en: "I couldn't download the clip from Telegram. Please send it again.",
    zh: '无法从 Telegram 下载这段视频，请重新发送。',
  },
  'telegram.internalError': {
    en: 'Something went wrong on my side. Please try again in a moment.',
    zh: '我这边出了点问题，请稍后再试。',
  },
  'telegram.interrupted': {
    en: 'The bot restarted while fetching your clip and cannot fetch it again. Please send it again.',
    zh: '机器人在获取你的视频时重启了，无法再次获取。请重新发送。',
  },
  'telegram.button.sendAgain': { en: 'Send again', zh: '重新发送' },
  'telegram.queueEmpty': {
    en: 'You have no clips in the queue. Send me a video!',
    zh: '你没有排队中的视频。发一段视频给我吧！',
  },
  'telegram.queueHead': { en: 'Your clips:', zh: '你的视频：' },
  'telegram.nothingToCancel': {
    en: 'You have no waiting clips to cancel.',
    zh: '你没有可以取消的等待中的视频。',
  },
  'telegram.canceling': { en: 'Canceling…', zh: '正在取消……' },
  'telegram.canceled.one': { en: 'Canceled your waiting clip.', zh: '已取消你等待中的视频。' },
  'telegram.canceled.many': { en: 'Canceled {count} waiting clips.', zh: '已取消 {count} 段等待中的视频。' },
  'telegram.tooLateToCancel': {
    en: 'Your clip is already being restyled and cannot be stopped now.',
    zh: '你的视频已经在重绘中，现在无法停止。',
  },
  'telegram.unknownCommand': {
    en: 'I do not know that command. /help lists what I can do.',
    zh: '我不认识这个命令。/help 查看我能做什么。',
  },
  'telegram.button.cancel': { en: 'Cancel', zh: '取消' },
  'telegram.button.adjust': { en: 'Adjust and restyle', zh: '自动调整并重绘' },
  'telegram.result.style': { en: '🎨 {style}', zh: '🎨 {style}' },
  'telegram.result.compressed': {
    en: "(compressed from {from} to fit Telegram's {limit} upload limit)",
    zh: '（已从 {from} 压缩，以符合 Telegram 的 {limit} 上传限制）',
  },
  'telegram.result.another': { en: 'Another style? Tap one below:', zh: '想换个风格？点下面的按钮：' },
} as const satisfies Phrases;

/** A phrase of the Telegram bot in one language. */
export const sayTelegram = reader(TELEGRAM_PHRASES);

const COMMANDS = ['restyle', 'styles', 'queue', 'cancel', 'help', 'start'] as const;

/** The bot's commands as setMyCommands registers them, per language. */
export function commandList(locale: Locale): { command: string; description: string }[] {
  return COMMANDS.map((command) => ({
    command,
    description: sayTelegram(locale, `telegram.command.${command}`),
  }));
}

/** The answer to /start and /help. */
export function helpText(
  locale: Locale,
  botUsername: string,
  limits: VideoLimits,
  maxDownloadBytes: number,
  dailyQuota: number,
): string {
  return [
    sayTelegram(locale, 'telegram.help.intro'),
    '',
    sayTelegram(locale, 'telegram.help.private'),
    sayTelegram(locale, 'telegram.help.group', { bot: botUsername }),
    sayTelegram(locale, 'telegram.help.commands'),
    '',
    limitsText(limits, maxDownloadBytes, locale),
    ...(dailyQuota > 0 ? [sayTelegram(locale, 'telegram.help.quota', { quota: dailyQuota })] : []),
  ].join('\n');
}

/** The answer to /styles. */
export function stylesReply(locale: Locale): string {
  return stylesText(locale, '/restyle 3d');
}

/** Short sentences of the Telegram bot, per language. */
export const TEXT = perLocale((locale) => ({
  pickStyle: sayTelegram(locale, 'telegram.pickStyle'),
  pickedStyle: (name: string) => sayTelegram(locale, 'telegram.pickedStyle', { style: name }),
  alreadyStarted: sayTelegram(locale, 'telegram.alreadyStarted'),
  notYourClip: sayTelegram(locale, 'telegram.notYourClip'),
  notYourJob: sayTelegram(locale, 'telegram.notYourJob'),
  clipExpired: sayTelegram(locale, 'telegram.clipExpired'),
  replyToVideo: sayTelegram(locale, 'telegram.replyToVideo'),
  notVideo: sayTelegram(locale, 'telegram.notVideo'),
  sendVideo: sayTelegram(locale, 'telegram.sendVideo'),
  notAllowed: sayTelegram(locale, 'telegram.notAllowed'),
  downloadFailed: sayTelegram(locale, 'telegram.downloadFailed'),
  internalError: sayTelegram(locale, 'telegram.internalError'),
  interrupted: sayTelegram(locale, 'telegram.interrupted'),
  queueEmpty: sayTelegram(locale, 'telegram.queueEmpty'),
  queueHead: sayTelegram(locale, 'telegram.queueHead'),
  nothingToCancel: sayTelegram(locale, 'telegram.nothingToCancel'),
  canceling: sayTelegram(locale, 'telegram.canceling'),
  canceled: (count: number) =>
    count === 1
      ? sayTelegram(locale, 'telegram.canceled.one')
      : sayTelegram(locale, 'telegram.canceled.many', { count }),
  tooLateToCancel: sayTelegram(locale, 'telegram.tooLateToCancel'),
  unknownCommand: sayTelegram(locale, 'telegram.unknownCommand'),
}));
