import { describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/core/errors.ts';
import { checkVideo, type LimitViolation, type StreamKind } from '../../src/core/limits.ts';
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
      pictureSec: 31,
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
      { code: 'not-a-file', sizeBytes: 0, fileKind: 'fifo', viaLink: true },
      { code: 'undecodable-animation', sizeBytes: 10, what: 'WebP' },
      { code: 'incomplete', declaredSec: 10, readableSec: 4.93, pastEnd: true },
      {
        code: 'duration-too-long',
        durationSec: 35,
        maxDurationSec: 30,
        pictureSec: 20,
        longerStream: 'audio',
      },
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
    expect(describeViolation(violations[6]!, 'en')).toContain('25:1');
  });

  it('shows numbers near a limit with the precision that keeps the sentence true', () => {
    const justOver: LimitViolation = { code: 'duration-too-long', durationSec: 30.04, maxDurationSec: 30 };
    expect(describeViolation(justOver, 'en')).toBe('30.04 s is longer than the 30 s limit.');
    expect(describeViolation(justOver, 'zh')).toBe('视频时长 30.04 秒，超过 30 秒的上限。');
    const byteOver: LimitViolation = {
      code: 'file-too-large',
      sizeBytes: 100_000_001,
      maxSizeBytes: 100_000_000,
    };
    expect(describeViolation(byteOver, 'en')).toBe('100,000,001 bytes is over the 100,000,000-byte limit.');
    expect(describeViolation(byteOver, 'zh')).toBe(
      '文件大小 100,000,001 字节，超过 100,000,000 字节的上限。',
    );
    const wide: LimitViolation = {
      code: 'aspect-too-wide',
      width: 1442,
      height: 800,
      ratio: 1442 / 800,
      maxAspectRatio: 1.8,
    };
    expect(describeViolation(wide, 'en')).toContain('1.803:1, wider than the 1.8:1 limit');
    expect(describeFitChange({ kind: 'trim', fromSec: 30.04, toSec: 29.95 }, 'en')).toBe(
      'trimmed from 30.04 s to 29.95 s',
    );
    expect(describeFitChange({ kind: 'shrink', fromBytes: 100_000_001, maxBytes: 100_000_000 }, 'en')).toBe(
      'compressed 100,000,001 bytes → at most 100,000,000 bytes',
    );
    expect(
      describeFitChange(
        { kind: 'shrink', fromBytes: 100_000_001, maxBytes: 100_000_000, toBytes: 61_234_567 },
        'zh',
      ),
    ).toBe('压缩 100.0 MB → 61.2 MB');
  });

  it('names both lengths when a stream runs past the picture, and what fitting cut', () => {
    const longAudio: LimitViolation = {
      code: 'duration-too-long',
      durationSec: 35,
      maxDurationSec: 30,
      pictureSec: 20,
      longerStream: 'audio',
    };
    expect(describeViolation(longAudio, 'en')).toBe(
      'The picture lasts 20 s, but the audio runs to 35 s, longer than the 30 s limit.',
    );
    expect(describeViolation(longAudio, 'zh')).toBe('画面时长 20 秒，但音频长达 35 秒，超过 30 秒的上限。');
    expect(describeFitChange({ kind: 'cut-streams', stream: 'audio', fromSec: 35.02, toSec: 20 }, 'en')).toBe(
      'cut the audio from 35 s to 20 s, where the picture ends',
    );
    expect(
      describeViolation({ code: 'incomplete', declaredSec: 10, readableSec: 4.93, pastEnd: true }, 'en'),
    ).toBe(
      'The file is cut short: its index points past the end of the file, and only the first 4.9 s of its 10 s can be read (51% missing).',
    );
    expect(
      describeViolation({ code: 'not-a-file', sizeBytes: 0, fileKind: 'directory', viaLink: false }, 'zh'),
    ).toBe('这是一个文件夹，不是视频文件。');
  });

  it('names what makes the file longer than its picture, whatever it is, with the right grammar', () => {
    const over = (longerStream: StreamKind | undefined, more = {}) =>
      describeViolation(
        {
          code: 'duration-too-long',
          durationSec: 40,
          maxDurationSec: 30,
          pictureSec: 10,
          longerStream,
          ...more,
        },
        'en',
      );
    expect(over('subtitles')).toBe(
      'The picture lasts 10 s, but the subtitles run to 40 s, longer than the 30 s limit.',
    );
    expect(over('video')).toBe(
      'The picture lasts 10 s, but a second video stream runs to 40 s, longer than the 30 s limit.',
    );
    // Nothing in the file runs that long: the container declares it.
    expect(over(undefined)).toBe(
      'The picture lasts 10 s, but the file runs to 40 s, longer than the 30 s limit.',
    );
    // A few hundredths of audio past a picture that fits still decide it: named.
    expect(over('audio', { durationSec: 30.02, pictureSec: 29.99 })).toBe(
      'The picture lasts 29.99 s, but the audio runs to 30.02 s, longer than the 30 s limit.',
    );
    // Past a picture that is itself too long, they add nothing worth reading.
    expect(over('audio', { durationSec: 31.02, pictureSec: 31 })).toBe('31 s is longer than the 30 s limit.');
    expect(
      describeFitChange({ kind: 'cut-streams', stream: undefined, fromSec: 3600, toSec: 10 }, 'en'),
    ).toBe('ended the file at 10 s, where the picture ends (it ran to 3600 s)');
  });

  it('says what a file is instead of a video in the reader’s language', () => {
    const still = { code: 'still-image', sizeBytes: 10, what: 'GIF image' } as const;
    expect(describeViolation(still, 'en')).toBe('This is a still image (GIF image), not a video.');
    expect(describeViolation(still, 'zh')).toBe('这是一张图片（GIF 图片），不是视频。');
    const sound = { code: 'no-video-stream', sizeBytes: 10, what: 'aac audio' } as const;
    expect(describeViolation(sound, 'zh')).toBe('这个文件没有画面（只有 aac 音频）。');
    const subtitles = { code: 'no-video-stream', sizeBytes: 10, what: 'subtitles' } as const;
    expect(describeViolation(subtitles, 'zh')).toBe('这个文件没有画面（只有 字幕）。');
  });

  it('describes fit changes and remote failures', () => {
    // The length kept is given to the hundredth: "30 s" would read as exactly the limit.
    expect(describeFitChange({ kind: 'trim', fromSec: 41.2, toSec: 29.95 }, 'en')).toBe(
      'trimmed from 41.2 s to 29.95 s',
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
