// Wire shapes of the Telegram Bot API (core.telegram.org/bots/api), reduced to the fields this fake
// reads or writes. Kept here rather than borrowed from telegraf so the fake checks the client
// against an independent model of the protocol.

/** A Telegram user or bot. */
export interface User {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  /** IETF language tag of the user's client. */
  language_code?: string;
}

/** What `getMe` returns. */
export interface BotUser extends User {
  is_bot: true;
  username: string;
  can_join_groups: boolean;
  can_read_all_group_messages: boolean;
  supports_inline_queries: boolean;
  can_connect_to_business: boolean;
  has_main_web_app: boolean;
}

/** A private chat, group, supergroup or channel. */
export interface Chat {
  id: number;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
  is_forum?: boolean;
}

/** A special span of a text or caption; offsets and lengths in UTF-16 code units. */
export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  user?: User;
  language?: string;
  custom_emoji_id?: string;
}

/** One size of a photo or a thumbnail. */
export interface PhotoSize {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  file_size?: number;
}

/** A video file; width, height and duration are "as defined by sender". */
export interface Video {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  duration: number;
  thumbnail?: PhotoSize;
  file_name?: string;
  mime_type?: string;
  file_size?: number;
}

/** An animation (GIF or H.264/MPEG-4 AVC video without sound). */
export interface Animation {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  duration: number;
  thumbnail?: PhotoSize;
  file_name?: string;
  mime_type?: string;
  file_size?: number;
}

/** A round video message; `length` is its diameter. */
export interface VideoNote {
  file_id: string;
  file_unique_id: string;
  length: number;
  duration: number;
  thumbnail?: PhotoSize;
  file_size?: number;
}

/** A general file. */
export interface Document {
  file_id: string;
  file_unique_id: string;
  thumbnail?: PhotoSize;
  file_name?: string;
  mime_type?: string;
  file_size?: number;
}

/** One button of an inline keyboard; exactly one of the optional fields must be used. */
export interface InlineKeyboardButton {
  text: string;
  url?: string;
  callback_data?: string;
  [other: string]: unknown;
}

/** An inline keyboard that appears right next to the message it belongs to. */
export interface InlineKeyboardMarkup {
  inline_keyboard: InlineKeyboardButton[][];
}

/** Where a message came from when it was forwarded. */
export interface MessageOrigin {
  type: 'user' | 'hidden_user' | 'chat' | 'channel';
  date: number;
  sender_user?: User;
  sender_chat?: Chat;
}

/** A message. */
export interface Message {
  message_id: number;
  message_thread_id?: number;
  from?: User;
  sender_chat?: Chat;
  date: number;
  chat: Chat;
  forward_origin?: MessageOrigin;
  /** The replied message; it never carries its own `reply_to_message`. */
  reply_to_message?: Message;
  edit_date?: number;
  text?: string;
  entities?: MessageEntity[];
  animation?: Animation;
  document?: Document;
  video?: Video;
  video_note?: VideoNote;
  caption?: string;
  caption_entities?: MessageEntity[];
  has_media_spoiler?: true;
  reply_markup?: InlineKeyboardMarkup;
}

/** An incoming callback query from an inline keyboard button. */
export interface CallbackQuery {
  id: string;
  from: User;
  message?: Message;
  inline_message_id?: string;
  chat_instance: string;
  data?: string;
}

/** An incoming update; exactly one optional field is set. */
export interface Update {
  update_id: number;
  message?: Message;
  edited_message?: Message;
  callback_query?: CallbackQuery;
}

/** The kinds of update this fake produces, as named in `allowed_updates`. */
export type UpdateKind = 'message' | 'edited_message' | 'callback_query';

/** A file ready to be downloaded, as `getFile` returns it. */
export interface File {
  file_id: string;
  file_unique_id: string;
  file_size?: number;
  file_path?: string;
}

/** A bot command in the menu. */
export interface BotCommand {
  command: string;
  description: string;
}

/** The scope a command list applies to. */
export interface BotCommandScope {
  type:
    | 'default'
    | 'all_private_chats'
    | 'all_group_chats'
    | 'all_chat_administrators'
    | 'chat'
    | 'chat_administrators'
    | 'chat_member';
  chat_id?: number | string;
  user_id?: number;
}

/** The current webhook status. */
export interface WebhookInfo {
  url: string;
  has_custom_certificate: boolean;
  pending_update_count: number;
  ip_address?: string;
  last_error_date?: number;
  last_error_message?: string;
  max_connections?: number;
  allowed_updates?: string[];
}

/** Why a request failed, and what the client may do about it. */
export interface ResponseParameters {
  migrate_to_chat_id?: number;
  /** Seconds to wait before repeating the request. */
  retry_after?: number;
}

/** Every reply of the Bot API. */
export type ApiResponse =
  | { ok: true; result: unknown; description?: string }
  | { ok: false; error_code: number; description: string; parameters?: ResponseParameters };
