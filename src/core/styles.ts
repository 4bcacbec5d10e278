/** A drawing style of DashScope's `video-style-transform` model. */
export interface Style {
  /** The model's `parameters.style` value. */
  readonly id: number;
  /** Stable, URL-safe name used in commands, callback data and the store. */
  readonly slug: string;
  /** Extra names people type; matched case-insensitively, ignoring spaces, `-` and `_`. */
  readonly aliases: readonly string[];
  readonly names: { readonly en: string; readonly zh: string };
}

/** The catalogue, in the model's id order. A new style is one entry here. */
export const STYLES = [
  {
    id: 0,
    slug: 'japanese-manga',
    aliases: ['manga', 'anime', 'japanese', 'jp', '日漫', '日式漫画', '日式'],
    names: { en: 'Japanese manga', zh: '日式漫画' },
  },
  {
    id: 1,
    slug: 'american-comic',
    aliases: ['comic', 'american', 'us', 'marvel', '美漫', '美式漫画', '美式'],
    names: { en: 'American comic', zh: '美式漫画' },
  },
  {
    id: 2,
    slug: 'fresh-comic',
    aliases: ['fresh', 'light', '清新', '清新漫画'],
    names: { en: 'Fresh comic', zh: '清新漫画' },
  },
  {
    id: 3,
    slug: '3d-cartoon',
    aliases: ['3d', 'cartoon', 'pixar', '3d卡通', '3D卡通', '卡通'],
    names: { en: '3D cartoon', zh: '3D卡通' },
  },
  {
    id: 4,
    slug: 'chinese-cartoon',
    aliases: ['chinese', 'guofeng', 'cn', '国风', '国风卡通'],
    names: { en: 'Chinese-style cartoon', zh: '国风卡通' },
  },
  {
    id: 5,
    slug: 'paper-art',
    aliases: ['paper', 'papercraft', '纸艺', '纸艺风格'],
    names: { en: 'Paper art', zh: '纸艺风格' },
  },
  {
    id: 6,
    slug: 'simple-illustration',
    aliases: ['simple', 'sketch', 'illustration', 'lineart', '简笔画', '简笔'],
    names: { en: 'Simple illustration', zh: '简笔画' },
  },
  {
    id: 7,
    slug: 'chinese-ink',
    aliases: ['ink', 'ink-wash', 'shuimo', 'watercolor', '水墨', '中国水墨'],
    names: { en: 'Chinese ink wash', zh: '中国水墨' },
  },
] as const satisfies readonly Style[];

/** Languages the product speaks. */
export type Locale = 'en' | 'zh';

function normalise(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
}

const byName = new Map<string, Style>();
for (const style of STYLES) {
  for (const name of [style.slug, String(style.id), ...style.aliases, style.names.en, style.names.zh]) {
    const key = normalise(name);
    const taken = byName.get(key);
    if (taken && taken !== style) throw new Error(`style name "${name}" is used by two styles`);
    byName.set(key, style);
  }
}

/** Finds a style by id, slug, alias or localized name; `undefined` when nothing matches. */
export function parseStyle(text: string): Style | undefined {
  const trimmed = text.trim();
  if (/^[-+]?\d+$/.test(trimmed)) return styleById(Number(trimmed));
  return byName.get(normalise(trimmed));
}

/** The style with this model id, or `undefined`. */
export function styleById(id: number): Style | undefined {
  return STYLES.find((style) => style.id === id);
}

/** The style's display name in a locale. */
export function styleName(style: Style, locale: Locale): string {
  return style.names[locale];
}
