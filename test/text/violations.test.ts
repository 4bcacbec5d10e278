import { describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/core/errors.ts';
import { checkVideo, type LimitViolation } from '../../src/core/limits.ts';
import {
  describeFitChange,
  describeRemoteError,
  describeViolation,
  formatClock,
  localeFrom,
} from '../../src/text/index.ts';

describe('user wording', () => {
  it('says how long a clip is and what the limit is, in both languages', () => {
    const violation: LimitViolation = { code: 'duration-too-long', durationSec: 41.2, maxDurationSec: 30 };
    expect(describeViolation(violation, 'en')).toBe('41.2 s is longer than the 30 s limit.');
    expect(describeViolation(violation, 'zh')).toBe('视频时长 41.2 秒，超过 30 秒的上限。');
  });

  it('gives every violation code a sentence with its numbers in en and zh', () => {
    const violations = checkVideo({
      container: 'webm',
      formatName: 'matroska,webm',
      sizeBytes: 101_000_000,
      durationSec: 31,
      codec: 'theora',
      width: 5000,
      height: 200,
      rotationDeg: 0,
      displayWidth: 5000,
      displayHeight: 200,
      frameRate: 25,
      hasAudio: false,
    });
    const samples: LimitViolation[] = [
      ...violations,
      { code: 'empty-file', sizeBytes: 0 },
      { code: 'unreadable', sizeBytes: 10 },
      { code: 'still-image', sizeBytes: 10, what: 'PNG image' },
      { code: 'no-video-stream', sizeBytes: 10, what: 'aac audio' },
      { code: 'embedded-reference', sizeBytes: 10 },
    ];
    for (const violation of samples) {
      for (const locale of ['en', 'zh'] as const) {
        const text = describeViolation(violation, locale);
        expect(text.length).toBeGreaterThan(10);
        if (locale === 'zh') expect(text).toMatch(/[\u4e00-\u9fff]/);
      }
    }
    expect(describeViolation(violations[3]!, 'en')).toBe('101.0 MB is larger than the 100.0 MB limit.');
    expect(describeViolation(violations[4]!, 'en')).toContain('5000×200 px');
    expect(describeViolation(violations[6]!, 'en')).toContain('25.00:1');
  });

  it('describes fit changes and remote failures', () => {
    expect(describeFitChange({ kind: 'trim', fromSec: 41.2, toSec: 30 }, 'en')).toBe(
      'trimmed from 41.2 s to 30 s',
    );
    const auth = new RemoteError({
      kind: 'auth',
      code: 'InvalidApiKey',
      message: 'Invalid API-key provided.',
    });
    expect(describeRemoteError(auth, 'en')).toContain('API key');
    const failed = new RemoteError({
      kind: 'task-failed',
      code: 'InvalidParameter.FileDownload',
      message: 'x',
    });
    expect(describeRemoteError(failed, 'zh')).toContain('下载');
  });

  it('picks the locale from a language tag', () => {
    expect(localeFrom('zh_CN.UTF-8')).toBe('zh');
    expect(localeFrom('zh-TW')).toBe('zh');
    expect(localeFrom('en_US.UTF-8')).toBe('en');
    expect(localeFrom(undefined)).toBe('en');
    expect(formatClock(62_000)).toBe('1:02');
    expect(formatClock(3_725_000)).toBe('1:02:05');
  });
});
