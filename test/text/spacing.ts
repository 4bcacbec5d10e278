/** Chinese characters and the full-width punctuation and quotes that go with them. */
const CJK = '\\p{Script=Han}\\u3000-\\u303F\\uFF00-\\uFFEF“”';
const OPENING = '（【「『“';
const CLOSING = '）】」』”';
const PAUSES = '，。：；！？、';
const SPACE = '[ \\u3000]+';

const RULES = [
  // `30 秒 的上限`: a space between two Chinese characters (a unit word and what follows it).
  new RegExp(`[${CJK}]${SPACE}[${CJK}]`, 'gu'),
  // `完成 。`, `（ 30 秒 ）`: a space before full-width punctuation or inside full-width brackets.
  new RegExp(`${SPACE}[${PAUSES}${CLOSING}]`, 'gu'),
  new RegExp(`[${PAUSES}${OPENING}]${SPACE}`, 'gu'),
];

/**
 * The places where a Chinese text has a space it should not, with a few characters around each.
 * Spaces between Chinese and Latin letters or digits (`约 2 分钟`, `100 MB 的`) are the house style.
 */
export function straySpaces(text: string): string[] {
  const found: string[] = [];
  for (const rule of RULES) {
    for (const match of text.matchAll(rule)) {
      found.push(text.slice(Math.max(0, match.index - 2), match.index + match[0].length + 2));
    }
  }
  return found;
}
