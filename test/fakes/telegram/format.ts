import type { MessageEntity, User } from './types.ts';

/** A text with its entities, as the Bot API stores it after parsing. */
export interface FormattedText {
  readonly text: string;
  readonly entities: MessageEntity[];
}

/** Thrown when `parse_mode` markup is malformed; the message is the API's wording after "Bad Request: ". */
export class EntityParseError extends Error {
  override readonly name = 'EntityParseError';
}

const cantParse = (detail: string) => new EntityParseError(`can't parse entities: ${detail}`);

/** UTF-8 byte offset of a UTF-16 index, as the API reports positions in its errors. */
const byteOffset = (src: string, index: number): number => Buffer.byteLength(src.slice(0, index), 'utf8');

interface Open {
  type: string;
  readonly start: number;
  readonly at: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
  user?: User;
  /** Open tag that produces no entity of its own (e.g. `<code>` inside `<pre>`). */
  silent?: boolean;
}

const close = (open: Open, end: number, entities: MessageEntity[]) => {
  if (open.silent || end <= open.start) return;
  const entity: MessageEntity = { type: open.type, offset: open.start, length: end - open.start };
  if (open.url !== undefined) entity.url = open.url;
  if (open.language !== undefined) entity.language = open.language;
  if (open.custom_emoji_id !== undefined) entity.custom_emoji_id = open.custom_emoji_id;
  if (open.user !== undefined) entity.user = open.user;
  entities.push(entity);
};

const HTML_TAGS: Readonly<Record<string, string>> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
  a: 'text_link',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  'tg-emoji': 'custom_emoji',
};

const NAMED_HTML_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"' };

function parseAttributes(raw: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const m of raw.matchAll(/([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g)) {
    attributes.set(m[1]!.toLowerCase(), decodeHtmlEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attributes;
}

function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    return NAMED_HTML_ENTITIES[name] ?? whole;
  });
}

/** Parses `parse_mode: 'HTML'` text the way the Bot API does, with its tag set and error wording. */
export function parseHtml(src: string): FormattedText {
  let out = '';
  const entities: MessageEntity[] = [];
  const stack: (Open & { tag: string })[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === '&') {
      const m = /^&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);/.exec(src.slice(i, i + 12));
      if (m) {
        out += decodeHtmlEntities(m[0]);
        i += m[0].length;
        continue;
      }
      out += ch;
      i += 1;
      continue;
    }
    if (ch !== '<') {
      out += ch;
      i += 1;
      continue;
    }
    const rest = src.slice(i);
    if (rest.startsWith('</')) {
      const m = /^<\/([a-zA-Z0-9-]*)\s*>/.exec(rest);
      const top = stack.pop();
      if (!m || !top) throw cantParse(`Unexpected end tag at byte offset ${byteOffset(src, i)}`);
      const name = m[1]!.toLowerCase();
      if (name !== top.tag) {
        throw cantParse(
          `Unmatched end tag at byte offset ${byteOffset(src, i)}, expected "</${top.tag}>", found "</${name}>"`,
        );
      }
      close(top, out.length, entities);
      i += m[0].length;
      continue;
    }
    const m =
      /^<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*>/.exec(rest);
    const name = m?.[1]?.toLowerCase();
    const type = name === undefined ? undefined : HTML_TAGS[name];
    if (!m || name === undefined || type === undefined) {
      const word = /^<\/?([^\s>]*)/.exec(rest)?.[1] ?? '';
      throw cantParse(`Unsupported start tag "${word}" at byte offset ${byteOffset(src, i)}`);
    }
    const attributes = parseAttributes(m[2] ?? '');
    const open: Open & { tag: string } = { tag: name, type, start: out.length, at: i };
    if (name === 'span' && attributes.get('class') !== 'tg-spoiler') {
      throw cantParse(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(src, i)}`);
    }
    if (name === 'a') {
      const href = attributes.get('href') ?? '';
      const mention = /^tg:\/\/user\?id=(\d+)$/.exec(href);
      if (mention) {
        open.type = 'text_mention';
        open.user = { id: Number(mention[1]), is_bot: false, first_name: '' };
      } else open.url = href;
    }
    if (name === 'blockquote' && attributes.has('expandable')) open.type = 'expandable_blockquote';
    if (name === 'tg-emoji') open.custom_emoji_id = attributes.get('emoji-id') ?? '';
    if (name === 'code') {
      const parent = stack[stack.length - 1];
      const language = /^language-(.+)$/.exec(attributes.get('class') ?? '')?.[1];
      if (parent?.tag === 'pre' && language !== undefined) {
        parent.language = language;
        open.silent = true;
      }
    }
    stack.push(open);
    i += m[0].length;
  }
  const unclosed = stack.pop();
  if (unclosed) throw cantParse(`Can't find end tag corresponding to start tag "${unclosed.tag}"`);
  return { text: out, entities };
}

const MARKDOWN_V2_RESERVED = new Set('_*[]()~`>#+-=|{}.!');

const V2_NAMES: Readonly<Record<string, string>> = {
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  strikethrough: 'Strikethrough',
  spoiler: 'Spoiler',
  text_link: 'TextUrl',
  custom_emoji: 'CustomEmoji',
  blockquote: 'BlockQuote',
};

/** Parses `parse_mode: 'MarkdownV2'` text, including its rule that reserved characters be escaped. */
export function parseMarkdownV2(src: string): FormattedText {
  let out = '';
  const entities: MessageEntity[] = [];
  const stack: Open[] = [];
  let quote: Open | undefined;
  let i = 0;

  const toggle = (type: string, width: number) => {
    const index = stack.findLastIndex((open) => open.type === type);
    if (index === -1) {
      stack.push({ type, start: out.length, at: i });
    } else if (index === stack.length - 1) {
      close(stack.pop()!, out.length, entities);
    } else {
      const inner = stack[stack.length - 1]!;
      throw cantParse(
        `Can't find end of ${V2_NAMES[inner.type]} entity at byte offset ${byteOffset(src, inner.at)}`,
      );
    }
    i += width;
  };

  /** Reads until an unescaped `terminator`, where only `\` and the terminator may be escaped. */
  const readRaw = (from: number, terminator: string, entity: string): { value: string; end: number } => {
    let value = '';
    let j = from;
    while (j < src.length) {
      if (src[j] === '\\' && j + 1 < src.length) {
        value += src[j + 1];
        j += 2;
        continue;
      }
      if (src.startsWith(terminator, j)) return { value, end: j + terminator.length };
      value += src[j];
      j += 1;
    }
    throw cantParse(`Can't find end of ${entity} entity at byte offset ${byteOffset(src, i)}`);
  };

  while (i < src.length) {
    const ch = src[i]!;
    const lineStart = i === 0 || src[i - 1] === '\n';
    if (ch === '\\') {
      const next = src[i + 1];
      if (next === undefined) throw cantParse(`Entity end is expected at byte offset ${byteOffset(src, i)}`);
      out += next;
      i += 2;
      continue;
    }
    if (ch === '>' && lineStart) {
      quote ??= { type: 'blockquote', start: out.length, at: i };
      i += 1;
      continue;
    }
    if (ch === '\n') {
      if (quote && src[i + 1] !== '>') {
        close(quote, out.length, entities);
        quote = undefined;
      }
      out += ch;
      i += 1;
      continue;
    }
    if (ch === '`') {
      if (src.startsWith('```', i)) {
        const { value, end } = readRaw(i + 3, '```', 'Pre');
        const newline = value.indexOf('\n');
        const language = newline > 0 ? value.slice(0, newline).trim() : '';
        const body = newline >= 0 && language !== '' ? value.slice(newline + 1) : value;
        const entity: MessageEntity = { type: 'pre', offset: out.length, length: body.length };
        if (language !== '') entity.language = language;
        if (body.length > 0) entities.push(entity);
        out += body;
        i = end;
        continue;
      }
      const { value, end } = readRaw(i + 1, '`', 'Code');
      if (value.length > 0) entities.push({ type: 'code', offset: out.length, length: value.length });
      out += value;
      i = end;
      continue;
    }
    if (ch === '*') {
      toggle('bold', 1);
      continue;
    }
    if (ch === '_') {
      if (src[i + 1] === '_') toggle('underline', 2);
      else toggle('italic', 1);
      continue;
    }
    if (ch === '~') {
      toggle('strikethrough', 1);
      continue;
    }
    if (ch === '|' && src[i + 1] === '|') {
      toggle('spoiler', 2);
      continue;
    }
    if (ch === '[' || (ch === '!' && src[i + 1] === '[')) {
      const width = ch === '!' ? 2 : 1;
      stack.push({ type: ch === '!' ? 'custom_emoji' : 'text_link', start: out.length, at: i });
      i += width;
      continue;
    }
    if (ch === ']') {
      const top = stack[stack.length - 1];
      if (top?.type !== 'text_link' && top?.type !== 'custom_emoji') {
        throw cantParse(`Character ']' is reserved and must be escaped with the preceding '\\'`);
      }
      if (src[i + 1] !== '(') {
        throw cantParse(
          `Can't find end of ${V2_NAMES[top.type]} entity at byte offset ${byteOffset(src, top.at)}`,
        );
      }
      const { value, end } = readRaw(i + 2, ')', V2_NAMES[top.type]!);
      stack.pop();
      if (top.type === 'custom_emoji') {
        top.custom_emoji_id = /[?&]id=(\d+)/.exec(value)?.[1] ?? '';
      } else top.url = value;
      close(top, out.length, entities);
      i = end;
      continue;
    }
    if (MARKDOWN_V2_RESERVED.has(ch)) {
      throw cantParse(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
    }
    out += ch;
    i += 1;
  }
  const unclosed = stack.pop();
  if (unclosed) {
    throw cantParse(
      `Can't find end of ${V2_NAMES[unclosed.type]} entity at byte offset ${byteOffset(src, unclosed.at)}`,
    );
  }
  if (quote) close(quote, out.length, entities);
  return { text: out, entities };
}

/** Parses legacy `parse_mode: 'Markdown'`: bold, italic, code, pre and links, without nesting. */
export function parseMarkdownLegacy(src: string): FormattedText {
  let out = '';
  const entities: MessageEntity[] = [];
  let i = 0;
  const unclosed = (at: number) =>
    cantParse(`Can't find end of the entity starting at byte offset ${byteOffset(src, at)}`);
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === '\\' && '_*`['.includes(src[i + 1] ?? '')) {
      out += src[i + 1];
      i += 2;
      continue;
    }
    if (ch === '*' || ch === '_') {
      const end = src.indexOf(ch, i + 1);
      if (end === -1) throw unclosed(i);
      const body = src.slice(i + 1, end);
      if (body.length > 0) {
        entities.push({ type: ch === '*' ? 'bold' : 'italic', offset: out.length, length: body.length });
      }
      out += body;
      i = end + 1;
      continue;
    }
    if (ch === '`') {
      const fence = src.startsWith('```', i) ? '```' : '`';
      const end = src.indexOf(fence, i + fence.length);
      if (end === -1) throw unclosed(i);
      let body = src.slice(i + fence.length, end);
      let language: string | undefined;
      if (fence === '```') {
        const newline = body.indexOf('\n');
        if (newline > 0 && /^\S+$/.test(body.slice(0, newline))) {
          language = body.slice(0, newline);
          body = body.slice(newline + 1);
        }
      }
      if (body.length > 0) {
        const entity: MessageEntity = {
          type: fence === '```' ? 'pre' : 'code',
          offset: out.length,
          length: body.length,
        };
        if (language !== undefined) entity.language = language;
        entities.push(entity);
      }
      out += body;
      i = end + fence.length;
      continue;
    }
    if (ch === '[') {
      const m = /^\[([^\]]*)\]\(([^)]*)\)/.exec(src.slice(i));
      if (!m) throw unclosed(i);
      if (m[1]!.length > 0) {
        entities.push({ type: 'text_link', offset: out.length, length: m[1]!.length, url: m[2]! });
      }
      out += m[1];
      i += m[0].length;
      continue;
    }
    out += ch;
    i += 1;
  }
  return { text: out, entities };
}

// Entities the server detects by itself in any text, unless they overlap a span that carries meaning.
const AUTO_ENTITIES: readonly { type: string; pattern: RegExp }[] = [
  {
    type: 'bot_command',
    pattern: /(?<=^|[\s(])\/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z][a-zA-Z0-9_]{2,31})?(?![\w/])/g,
  },
  { type: 'url', pattern: /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'}]/g },
  { type: 'mention', pattern: /(?<=^|[^\w@/])@[a-zA-Z][a-zA-Z0-9_]{3,31}(?!\w)/g },
  { type: 'hashtag', pattern: /(?<=^|[^\w#&])#[\p{L}\p{N}_]*[\p{L}_][\p{L}\p{N}_]*/gu },
];

const OPAQUE_ENTITIES = new Set([
  'code',
  'pre',
  'text_link',
  'text_mention',
  'custom_emoji',
  'url',
  'email',
  'mention',
  'bot_command',
  'hashtag',
  'cashtag',
  'phone_number',
]);

/** Adds the entities the server detects itself (commands, links, mentions, hashtags) and sorts them. */
export function withDetectedEntities(text: string, entities: readonly MessageEntity[]): MessageEntity[] {
  const all = [...entities];
  for (const { type, pattern } of AUTO_ENTITIES) {
    for (const m of text.matchAll(pattern)) {
      const offset = m.index;
      const length = m[0].length;
      const overlaps = all.some(
        (e) => OPAQUE_ENTITIES.has(e.type) && e.offset < offset + length && offset < e.offset + e.length,
      );
      if (!overlaps) all.push({ type, offset, length });
    }
  }
  return all.sort((a, b) => a.offset - b.offset || b.length - a.length);
}

/** Strips leading and trailing whitespace as the server does, moving and clipping the entities along. */
function trimFormatted({ text, entities }: FormattedText): FormattedText {
  const lead = text.length - text.trimStart().length;
  const trimmed = text.trim();
  const clipped: MessageEntity[] = [];
  for (const entity of entities) {
    const start = Math.max(0, entity.offset - lead);
    const end = Math.min(trimmed.length, entity.offset + entity.length - lead);
    if (end > start) clipped.push({ ...entity, offset: start, length: end - start });
  }
  return { text: trimmed, entities: clipped };
}

/**
 * Turns a text as a bot sends it (`text` or `caption`, with `parse_mode` or explicit entities) into
 * what the server stores; throws EntityParseError on malformed markup.
 */
export function formatOutgoing(
  raw: string,
  parseMode: string | undefined,
  explicit: readonly MessageEntity[] | undefined,
): FormattedText {
  let parsed: FormattedText;
  if (parseMode === undefined || parseMode === '') parsed = { text: raw, entities: [...(explicit ?? [])] };
  else if (parseMode.toLowerCase() === 'html') parsed = parseHtml(raw);
  else if (parseMode.toLowerCase() === 'markdownv2') parsed = parseMarkdownV2(raw);
  else if (parseMode.toLowerCase() === 'markdown') parsed = parseMarkdownLegacy(raw);
  else throw new EntityParseError('unsupported parse_mode');
  const trimmed = trimFormatted(parsed);
  return { text: trimmed.text, entities: withDetectedEntities(trimmed.text, trimmed.entities) };
}
