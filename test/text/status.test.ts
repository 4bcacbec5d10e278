import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/core/limits.ts';
import { styleById } from '../../src/core/styles.ts';
import {
  downloadTooLargeText,
  formatEta,
  formatMebibytes,
  quotaText,
  refusalText,
  rejectionText,
  type StatusView,
  statusText,
  textBar,
} from '../../src/text/index.ts';

const ink = styleById(7)!;

describe('chat wording', () => {
  it('rounds waits the way people say them', () => {
    expect(formatEta(4_200, 'en')).toBe('about 4 s');
    expect(formatEta(42_000, 'en')).toBe('about 40 s');
    expect(formatEta(125_000, 'en')).toBe('about 2 min');
    expect(formatEta(3_900_000, 'en')).toBe('about 1 h 5 min');
    expect(formatEta(125_000, 'zh')).toBe('约 2 分钟');
    expect(formatEta(0, 'zh')).toBe('约 1 秒');
  });

  it('draws a ten-step bar', () => {
    expect(textBar(0)).toBe('▱▱▱▱▱▱▱▱▱▱');
    expect(textBar(0.68)).toBe('▰▰▰▰▰▰▰▱▱▱');
    expect(textBar(2)).toBe('▰▰▰▰▰▰▰▰▰▰');
  });

  it('says where a job stands in both languages', () => {
    const views: [StatusView, string, string][] = [
      [
        { kind: 'queued', position: 3, etaMs: 120_000 },
        '⏳ Queued: #3 in line, ready in about 2 min (Chinese ink wash)',
        '⏳ 已排队：第 3 位，约 2 分钟后完成（中国水墨）',
      ],
      [
        { kind: 'restyling', remote: 'running', elapsedMs: 42_000, etaMs: 20_000, fraction: 0.68 },
        '🎨 Restyling as Chinese ink wash… 0:42, about 0:20 left\n▰▰▰▰▰▰▰▱▱▱ 68%',
        '🎨 正在重绘为中国水墨…… 0:42，约剩 0:20\n▰▰▰▰▰▰▰▱▱▱ 68%',
      ],
      [{ kind: 'done', cached: false }, '✅ Chinese ink wash: done!', '✅ 中国水墨：完成！'],
      [{ kind: 'canceled' }, '🚫 Canceled (Chinese ink wash).', '🚫 已取消（中国水墨）。'],
    ];
    for (const [view, en, zh] of views) {
      expect(statusText(view, ink, 'en')).toBe(en);
      expect(statusText(view, ink, 'zh')).toBe(zh);
    }
    const failed = statusText(
      {
        kind: 'failed',
        failure: {
          kind: 'inspection',
          code: 'DataInspectionFailed',
          message: 'x',
          requestId: 'req-1',
          taskId: 't-1',
        },
      },
      ink,
      'en',
    );
    expect(failed).toBe(
      '❌ Failed: The video did not pass DashScope content inspection.\n(DataInspectionFailed, request req-1, task t-1)',
    );
  });

  it('explains rejections, refusals, the download limit and the quota with their numbers', () => {
    expect(
      rejectionText([{ code: 'duration-too-long', durationSec: 31, maxDurationSec: 30 }], true, 'en'),
    ).toBe(
      "I can't restyle this clip:\n• 31 s is longer than the 30 s limit.\nI can adjust it automatically and restyle it.",
    );
    expect(refusalText({ kind: 'refused', reason: 'user-cap', limit: 2 }, 'en', '/cancel')).toBe(
      'You already have 2 clips waiting. Wait for one to finish, or use /cancel.',
    );
    expect(downloadTooLargeText(25 * 1024 * 1024, 20 * 1024 * 1024, DEFAULT_LIMITS, 'zh')).toBe(
      '文件大小 25 MB，机器人最多只能下载 20 MB 的文件。请发送更短（最长 30 秒）或压缩过的视频。',
    );
    expect(quotaText(5, 3 * 3_600_000, 'en')).toBe(
      "You have used today's 5 restyles. The quota resets at midnight UTC, in about 3 h.",
    );
    expect(formatMebibytes(50 * 1024 * 1024)).toBe('50 MB');
  });
});
