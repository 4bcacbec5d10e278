import type { Locale } from '../core/styles.ts';

/** One sentence (or piece of one) in English and Simplified Chinese, with `{name}` placeholders. */
export interface Phrase {
  readonly en: string;
  readonly zh: string;
}

/** Phrases by key (`area.what`, e.g. `violation.duration`). */
export type Phrases = Readonly<Record<string, Phrase>>;

/** The placeholder names of a template: `'{a} of {b}'` gives `'a' | 'b'`. */
export type Placeholders<
  S extends string,
  Found extends string = never,
> = S extends `${string}{${infer Name}}${infer Rest}` ? Placeholders<Rest, Found | Name> : Found;

/** Placeholder names of a phrase in either language (a test keeps both languages equal). */
export type PhraseParams<P extends Phrase> = Placeholders<P['en']> | Placeholders<P['zh']>;

/** The values a phrase is filled with: one per placeholder. */
export type ParamsOf<P extends Phrase> = { readonly [Name in PhraseParams<P>]: string | number };

/** The arguments after the key: nothing for a phrase without placeholders, else its values. */
export type ParamArgs<P extends Phrase> = [PhraseParams<P>] extends [never] ? [] : [params: ParamsOf<P>];

/** A typed reader of one set of phrases. */
export type Say<P extends Phrases> = <K extends keyof P & string>(
  locale: Locale,
  key: K,
  ...params: ParamArgs<P[K]>
) => string;

const PLACEHOLDER = /\{(\w+)\}/g;

/** The placeholder names a template uses, in order of first use. */
export function placeholdersOf(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((match) => match[1]!))];
}

/** Fills a template's placeholders; a placeholder without a value is a programming error and throws. */
export function fill(template: string, params: Readonly<Record<string, string | number>> = {}): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for {${name}} in "${template}"`);
    return String(value);
  });
}

/** A reader of phrases: `say(locale, key, params)` fills the phrase's text in that language. */
export function reader<P extends Phrases>(phrases: P): Say<P> {
  return (locale, key, ...params) => {
    const phrase = phrases[key];
    if (!phrase) throw new Error(`no phrase "${key}"`);
    return fill(phrase[locale], params[0]);
  };
}

/** Builds a value once per language, e.g. a bot's table of short sentences. */
export function perLocale<T>(build: (locale: Locale) => T): Readonly<Record<Locale, T>> {
  return { en: build('en'), zh: build('zh') };
}
