import { describe, expect, it } from 'vitest';
import { parseStyle, STYLES, styleById, styleName } from '../../src/core/styles.ts';

describe('style catalogue', () => {
  it('has the eight documented styles with ids 0 to 7 in order', () => {
    expect(STYLES.map((style) => style.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(STYLES.map((style) => style.slug)).toEqual([
      'japanese-manga',
      'american-comic',
      'fresh-comic',
      '3d-cartoon',
      'chinese-cartoon',
      'paper-art',
      'simple-illustration',
      'chinese-ink',
    ]);
  });

  it.each([
    ['3d', 3],
    ['3D', 3],
    [' 3D ', 3],
    ['3d-cartoon', 3],
    ['3D_Cartoon', 3],
    ['manga', 0],
    ['anime', 0],
    ['Anime', 0],
    ['ink', 7],
    ['ink wash', 7],
    ['0', 0],
    ['7', 7],
    ['国风', 4],
    ['3D卡通', 3],
    ['中国水墨', 7],
    ['American comic', 1],
    ['paper', 5],
    ['sketch', 6],
  ])('finds %j as style %i', (text, id) => {
    expect(parseStyle(text)?.id).toBe(id);
  });

  it.each(['', '8', '-1', 'watercolour-ish', '3dd'])('returns undefined for %j', (text) => {
    expect(parseStyle(text)).toBeUndefined();
  });

  it('names every style in English and Simplified Chinese', () => {
    for (const style of STYLES) {
      expect(styleName(style, 'en')).toMatch(/[A-Za-z]/);
      expect(styleName(style, 'zh')).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(styleById(7)?.names.zh).toBe('中国水墨');
    expect(styleById(9)).toBeUndefined();
  });
});
