import {
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  ButtonStyle,
  ComponentType,
} from 'discord.js';
import { type Locale, STYLES } from '../../core/styles.ts';
import { TEXT } from './wording.ts';

/** What a button or select of this bot stands for. custom_id holds at most 100 characters. */
export type ComponentAction =
  /** The style select after "Restyle video" on a message. */
  | { readonly kind: 'pick'; readonly ref: string }
  /** The "another style" select under a result. */
  | { readonly kind: 'again'; readonly ref: string }
  /** "Adjust and restyle" under a rejection: the clip, fitted, in the style asked. */
  | { readonly kind: 'fit'; readonly ref: string; readonly styleId: number }
  | { readonly kind: 'cancel'; readonly jobId: string };

const PREFIX = 'rs';

/** The custom_id of a component. */
export function encodeCustomId(action: ComponentAction): string {
  switch (action.kind) {
    case 'cancel':
      return `${PREFIX}:c:${action.jobId}`;
    case 'fit':
      return `${PREFIX}:f:${action.ref}:${action.styleId}`;
    case 'pick':
      return `${PREFIX}:p:${action.ref}`;
    case 'again':
      return `${PREFIX}:a:${action.ref}`;
  }
}

/** The action of a component; `undefined` for ids this bot did not make. */
export function decodeCustomId(customId: string): ComponentAction | undefined {
  const [prefix, kind, ref, extra] = customId.split(':');
  if (prefix !== PREFIX || !ref) return undefined;
  switch (kind) {
    case 'c':
      return { kind: 'cancel', jobId: ref };
    case 'p':
      return { kind: 'pick', ref };
    case 'a':
      return { kind: 'again', ref };
    case 'f': {
      const styleId = Number(extra);
      return Number.isInteger(styleId) && STYLES.some((s) => s.id === styleId)
        ? { kind: 'fit', ref, styleId }
        : undefined;
    }
    default:
      return undefined;
  }
}

/** A row with one select listing every style in the reader's language. */
export function styleSelectRow(
  customId: string,
  locale: Locale,
): APIActionRowComponent<APIComponentInMessageActionRow> {
  return {
    type: ComponentType.ActionRow,
    components: [
      {
        type: ComponentType.StringSelect,
        custom_id: customId,
        placeholder: TEXT[locale].pickStyle,
        options: STYLES.map((style) => ({ label: style.names[locale], value: style.slug })),
      },
    ],
  };
}

/** A row with one button. */
export function buttonRow(
  customId: string,
  label: string,
  style:
    | ButtonStyle.Primary
    | ButtonStyle.Secondary
    | ButtonStyle.Success
    | ButtonStyle.Danger = ButtonStyle.Secondary,
): APIActionRowComponent<APIComponentInMessageActionRow> {
  return {
    type: ComponentType.ActionRow,
    components: [{ type: ComponentType.Button, custom_id: customId, label, style }],
  };
}
