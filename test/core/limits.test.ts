import { describe, expect, it } from 'vitest';
import { allFixable, checkProbe, checkVideo } from '../../src/core/limits.ts';
import { compliantFacts } from '../helpers/facts.ts';

const ok = compliantFacts();

describe('checkVideo', () => {
  it('accepts a clip inside every limit', () => {
    expect(checkVideo(ok)).toEqual([]);
  });

  it('accepts the exact boundaries: 30 s, 100 MB, 256 and 4096 px, 1.8:1', () => {
    expect(
      checkVideo({ ...ok, durationSec: 30, sizeBytes: 100_000_000, displayWidth: 460.8, displayHeight: 256 }),
    ).toEqual([]);
    expect(checkVideo({ ...ok, displayWidth: 4096, displayHeight: 2276 })).toEqual([]);
  });

  it('reports a clip longer than 30 s with both numbers', () => {
    expect(checkVideo({ ...ok, durationSec: 41.2, pictureSec: 41.2 })).toEqual([
      { code: 'duration-too-long', durationSec: 41.2, maxDurationSec: 30, pictureSec: 41.2 },
    ]);
  });

  it('reports every violation at once', () => {
    const codes = checkVideo({
      ...ok,
      container: 'webm',
      codec: 'theora',
      durationSec: 31,
      sizeBytes: 101_000_000,
      displayWidth: 5000,
      displayHeight: 200,
    }).map((violation) => violation.code);
    expect(codes).toEqual([
      'container-unsupported',
      'codec-unsupported',
      'duration-too-long',
      'file-too-large',
      'side-too-small',
      'side-too-large',
      'aspect-too-wide',
    ]);
  });

  it('names an animated GIF once, by its format, not again by its codec', () => {
    expect(checkVideo({ ...ok, container: 'gif', codec: 'gif' })).toEqual([
      { code: 'container-unsupported', container: 'gif', allowed: expect.any(Array) },
    ]);
  });

  it('checks the file as the model measures it: audio that runs past 30 s breaks the limit', () => {
    expect(checkVideo({ ...ok, durationSec: 35, pictureSec: 20, longerStream: 'audio' })).toEqual([
      {
        code: 'duration-too-long',
        durationSec: 35,
        maxDurationSec: 30,
        pictureSec: 20,
        longerStream: 'audio',
      },
    ]);
  });

  it('reports an incomplete file instead of its declared length', () => {
    const incomplete = { declaredSec: 40, readableSec: 12, pastEnd: true };
    expect(checkVideo({ ...ok, durationSec: 40, pictureSec: 40, incomplete })).toEqual([
      { code: 'incomplete', ...incomplete },
    ]);
  });

  it('judges the displayed size, so a rotated portrait clip is checked as portrait', () => {
    const portrait = {
      ...ok,
      width: 2000,
      height: 1000,
      rotationDeg: 90,
      displayWidth: 1000,
      displayHeight: 2000,
    };
    expect(checkVideo(portrait)).toEqual([
      { code: 'aspect-too-wide', width: 1000, height: 2000, ratio: 2, maxAspectRatio: 1.8 },
    ]);
  });

  it('turns an unreadable probe into one violation and says which are fixable', () => {
    const violations = checkProbe({
      kind: 'unreadable',
      reason: 'still-image',
      sizeBytes: 10,
      what: 'PNG image',
    });
    expect(violations).toEqual([{ code: 'still-image', sizeBytes: 10, what: 'PNG image' }]);
    expect(allFixable(violations)).toBe(false);
    expect(allFixable(checkVideo({ ...ok, durationSec: 31 }))).toBe(true);
  });
});
