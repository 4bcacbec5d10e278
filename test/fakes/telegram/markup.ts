import { bad } from './request.ts';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from './types.ts';

const MAX_CALLBACK_DATA_BYTES = 64;

// Button kinds other than url and callback_data; one of them makes a button valid as it is.
const OTHER_BUTTON_TYPES = [
  'callback_game',
  'pay',
  'switch_inline_query',
  'switch_inline_query_chosen_chat',
  'switch_inline_query_current_chat',
  'login_url',
  'web_app',
  'copy_text',
] as const;

const validButtonUrl = (url: string): boolean => {
  try {
    return ['http:', 'https:', 'tg:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
};

/**
 * Checks a `reply_markup` argument as the server does and returns the inline keyboard a message
 * shows, or undefined (no markup, an empty keyboard, or a reply keyboard, which messages don't carry);
 * throws ApiError with the server's wording.
 */
export function parseReplyMarkup(raw: string | undefined): InlineKeyboardMarkup | undefined {
  if (raw === undefined || raw === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw bad("Can't parse reply keyboard markup JSON object");
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw bad('Object expected as reply markup');
  const { inline_keyboard: keyboard, keyboard: replyKeyboard } = value as {
    inline_keyboard?: unknown;
    keyboard?: unknown;
  };
  if (replyKeyboard !== undefined) {
    if (!Array.isArray(replyKeyboard)) throw bad('Field "keyboard" must be of type Array');
    if (replyKeyboard.some((row) => !Array.isArray(row)))
      throw bad('Field "keyboard" must be an Array of Arrays');
  }
  if (keyboard === undefined) return undefined;
  if (!Array.isArray(keyboard)) throw bad('Field "inline_keyboard" must be of type Array');
  const rows: InlineKeyboardButton[][] = [];
  for (const row of keyboard) {
    if (!Array.isArray(row)) {
      throw bad('Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
    }
    rows.push((row as unknown[]).map(parseInlineButton));
  }
  return rows.some((row) => row.length > 0) ? { inline_keyboard: rows } : undefined;
}

function parseInlineButton(button: unknown): InlineKeyboardButton {
  const fail = (why: string) => bad(`Can't parse inline keyboard button: ${why}`);
  if (!button || typeof button !== 'object' || Array.isArray(button)) {
    throw fail('InlineKeyboardButton must be an Object');
  }
  const b = button as Record<string, unknown>;
  if (b.text === undefined) throw fail('Can\'t find field "text"');
  if (typeof b.text !== 'string') throw fail('Field "text" must be of type String');
  // An empty url or callback_data counts as absent, as in the server.
  if (typeof b.url === 'string' && b.url !== '') {
    if (!validButtonUrl(b.url)) throw bad('BUTTON_URL_INVALID');
    return { text: b.text, url: b.url };
  }
  if (typeof b.callback_data === 'string' && b.callback_data !== '') {
    if (Buffer.byteLength(b.callback_data) > MAX_CALLBACK_DATA_BYTES) throw bad('BUTTON_DATA_INVALID');
    return { text: b.text, callback_data: b.callback_data };
  }
  const type = OTHER_BUTTON_TYPES.find((key) => key in b);
  if (type === undefined) throw fail('Text buttons are unallowed in the inline keyboard');
  return { text: b.text, [type]: b[type] };
}
