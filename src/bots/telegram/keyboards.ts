import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'telegraf/types';
import { type Locale, STYLES, styleById } from '../../core/styles.ts';
import { sayTelegram } from './wording.ts';

/** What an inline button asks for. Encoded in callback_data, which holds at most 64 bytes. */
export type ButtonAction =
  /** A style picked for a clip from the picker under it. */
  | { readonly kind: 'style'; readonly clipId: string; readonly styleId: number }
  /** "Another style" under a result: the same clip again. */
  | { readonly kind: 'again'; readonly clipId: string; readonly styleId: number }
  /** "Adjust and restyle" under a rejection: the same clip with fitting on. */
  | { readonly kind: 'fit'; readonly clipId: string; readonly styleId: number }
  | { readonly kind: 'cancel'; readonly jobId: string };

const PREFIX = { style: 'st', again: 'ag', fit: 'ft', cancel: 'cx' } as const;
const MAX_CALLBACK_BYTES = 64;

/** The callback_data of a button. */
export function encodeAction(action: ButtonAction): string {
  const data =
    action.kind === 'cancel'
      ? `${PREFIX.cancel}:${action.jobId}`
      : `${PREFIX[action.kind]}:${action.clipId}:${action.styleId}`;
  if (Buffer.byteLength(data) > MAX_CALLBACK_BYTES) throw new Error(`callback data too long: ${data}`);
  return data;
}

/** The action of a tapped button; `undefined` for data this bot did not make. */
export function decodeAction(data: string | undefined): ButtonAction | undefined {
  if (!data) return undefined;
  const [prefix, first, second] = data.split(':');
  if (prefix === PREFIX.cancel && first) return { kind: 'cancel', jobId: first };
  const styleId = Number(second);
  if (!first || !Number.isInteger(styleId) || !styleById(styleId)) return undefined;
  if (prefix === PREFIX.style) return { kind: 'style', clipId: first, styleId };
  if (prefix === PREFIX.again) return { kind: 'again', clipId: first, styleId };
  if (prefix === PREFIX.fit) return { kind: 'fit', clipId: first, styleId };
  return undefined;
}

function rows<T>(items: readonly T[], perRow: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += perRow) out.push(items.slice(i, i + perRow));
  return out;
}

/** Every style as a button, two per row, in the user's language; `except` leaves one out. */
export function styleKeyboard(
  clipId: string,
  kind: 'style' | 'again',
  locale: Locale,
  except?: number,
): InlineKeyboardMarkup {
  const buttons: InlineKeyboardButton[] = STYLES.filter((style) => style.id !== except).map((style) => ({
    text: style.names[locale],
    callback_data: encodeAction({ kind, clipId, styleId: style.id }),
  }));
  return { inline_keyboard: rows(buttons, 2) };
}

/** A single Cancel button for a job's status message. */
export function cancelKeyboard(jobId: string, locale: Locale): InlineKeyboardMarkup {
  return {
    inline_keyboard: [
      [
        {
          text: sayTelegram(locale, 'telegram.button.cancel'),
          callback_data: encodeAction({ kind: 'cancel', jobId }),
        },
      ],
    ],
  };
}

/** "Adjust and restyle" under a rejection that fitting can repair. */
export function fitKeyboard(clipId: string, styleId: number, locale: Locale): InlineKeyboardMarkup {
  return {
    inline_keyboard: [
      [
        {
          text: sayTelegram(locale, 'telegram.button.adjust'),
          callback_data: encodeAction({ kind: 'fit', clipId, styleId }),
        },
      ],
    ],
  };
}

/** "Send again" under a status whose video may not have arrived: the same clip and style again. */
export function sendAgainKeyboard(clipId: string, styleId: number, locale: Locale): InlineKeyboardMarkup {
  return {
    inline_keyboard: [
      [
        {
          text: sayTelegram(locale, 'telegram.button.sendAgain'),
          callback_data: encodeAction({ kind: 'again', clipId, styleId }),
        },
      ],
    ],
  };
}
