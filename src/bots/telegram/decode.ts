import { parseStyle, type Style } from '../../core/styles.ts';
import { mayHoldClip } from '../shared/clip-files.ts';

/** A video someone sent, as the Bot API describes it. Sizes and lengths are the sender's claims. */
export interface TelegramClip {
  readonly kind: 'video' | 'animation' | 'video_note' | 'document';
  readonly fileId: string;
  readonly fileUniqueId: string;
  /** Bytes, when Telegram says (it usually does). */
  readonly fileSizeBytes?: number;
  readonly fileName?: string;
  readonly mimeType?: string;
}

interface FileFields {
  readonly file_id?: unknown;
  readonly file_unique_id?: unknown;
  readonly file_size?: unknown;
  readonly file_name?: unknown;
  readonly mime_type?: unknown;
}

/** The parts of a Bot API Message this bot reads; every field is optional, as in the API. */
export interface IncomingMessage {
  readonly message_id: number;
  readonly chat: { readonly id: number; readonly type: string };
  readonly from?: {
    readonly id: number;
    readonly is_bot?: boolean;
    readonly first_name?: string;
    readonly username?: string;
    readonly language_code?: string;
  };
  readonly message_thread_id?: number;
  readonly is_topic_message?: boolean;
  readonly text?: string;
  readonly caption?: string;
  readonly entities?: readonly { readonly type: string; readonly offset: number; readonly length: number }[];
  readonly caption_entities?: readonly {
    readonly type: string;
    readonly offset: number;
    readonly length: number;
  }[];
  readonly video?: FileFields;
  readonly animation?: FileFields;
  readonly video_note?: FileFields;
  readonly document?: FileFields;
  readonly reply_to_message?: IncomingMessage;
}

function clipOf(kind: TelegramClip['kind'], file: FileFields | undefined): TelegramClip | undefined {
  if (!file || typeof file.file_id !== 'string' || file.file_id === '') return undefined;
  return {
    kind,
    fileId: file.file_id,
    fileUniqueId: typeof file.file_unique_id === 'string' ? file.file_unique_id : file.file_id,
    ...(typeof file.file_size === 'number' ? { fileSizeBytes: file.file_size } : {}),
    ...(typeof file.file_name === 'string' ? { fileName: file.file_name } : {}),
    ...(typeof file.mime_type === 'string' ? { mimeType: file.mime_type } : {}),
  };
}

/**
 * The video a message carries: a video, an animation (GIF-like MP4), a round video note, or a
 * document whose MIME type or file name says video (or GIF/WebP, which may be animated). `undefined` for anything else.
 */
export function clipFromMessage(message: IncomingMessage | undefined): TelegramClip | undefined {
  if (!message) return undefined;
  // Animations also carry a `document` field: look at them first.
  const direct =
    clipOf('video', message.video) ??
    clipOf('animation', message.animation) ??
    clipOf('video_note', message.video_note);
  if (direct) return direct;
  const document = clipOf('document', message.document);
  if (!document) return undefined;
  return mayHoldClip(document.fileName, document.mimeType) ? document : undefined;
}

/** True when a message carries a file that is not a video (a photo, a PDF, a sticker…). */
export function hasOtherMedia(message: IncomingMessage): boolean {
  const record = message as unknown as Record<string, unknown>;
  return ['photo', 'document', 'sticker', 'audio', 'voice'].some((field) => record[field] !== undefined);
}

/** A bot command at the start of a message's text or caption. */
export interface ParsedCommand {
  /** Lower case, without the slash or the bot's name. */
  readonly name: string;
  /** The rest of the text, trimmed. */
  readonly args: string;
}

/**
 * The command a message starts with, when it is meant for this bot: `/restyle ink` or
 * `/restyle@ThisBot ink`. `undefined` for plain text and for commands addressed to another bot.
 */
export function parseCommand(message: IncomingMessage, botUsername: string): ParsedCommand | undefined {
  const text = message.text ?? message.caption;
  const entities = message.text !== undefined ? message.entities : message.caption_entities;
  if (text === undefined) return undefined;
  const entity = entities?.find((e) => e.type === 'bot_command' && e.offset === 0);
  // Some clients send no entities for captions: fall back to the text's shape.
  const raw = entity ? text.slice(0, entity.length) : /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text)?.[0];
  if (!raw?.startsWith('/')) return undefined;
  const [name = '', target] = raw.slice(1).split('@');
  if (target !== undefined && target.toLowerCase() !== botUsername.toLowerCase()) return undefined;
  return { name: name.toLowerCase(), args: text.slice(raw.length).trim() };
}

/** What a caption or command arguments ask for. */
export interface StyleAsk {
  readonly style: Style | undefined;
  /** The user asked to trim/scale/crop a clip that breaks a limit (`fit`, `auto`, `自动`). */
  readonly fit: boolean;
}

const FIT_WORDS = new Set(['fit', 'auto', 'adjust', '--fit', '自动', '调整']);

/**
 * Reads a style from free text: the whole text (`3d cartoon`, `水墨`), else any word or pair of
 * words in it (`make it ink please`). A leading `/restyle` is ignored.
 */
export function askFromText(text: string | undefined): StyleAsk {
  if (!text) return { style: undefined, fit: false };
  const body = text.replace(/^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/, '').trim();
  const words = body.split(/[\s,，。!！?？]+/).filter(Boolean);
  const fit = words.some((word) => FIT_WORDS.has(word.toLowerCase()));
  const rest = words.filter((word) => !FIT_WORDS.has(word.toLowerCase()));
  let style = rest.length > 0 ? parseStyle(rest.join(' ')) : undefined;
  // Within a sentence a bare number is more often a count than a style id.
  const named = (word: string) => (/^\d+$/.test(word) ? undefined : parseStyle(word));
  for (let i = 0; !style && i < rest.length; i += 1) {
    style = (i + 1 < rest.length ? named(`${rest[i]} ${rest[i + 1]}`) : undefined) ?? named(rest[i]!);
  }
  return { style, fit };
}
