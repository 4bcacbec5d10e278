import { describe, expect, it } from 'vitest';
import { type FitPlan, measuredChanges, planFit } from '../../src/core/fit.ts';
import { checkVideo, DEFAULT_LIMITS, type VideoFacts } from '../../src/core/limits.ts';
import { compliantFacts } from '../helpers/facts.ts';

const compliant = compliantFacts();

function clip(overrides: Partial<VideoFacts>): VideoFacts {
  const merged = { ...compliant, ...overrides };
  const quarter = merged.rotationDeg === 90 || merged.rotationDeg === 270;
  return {
    ...merged,
    pictureSec: overrides.pictureSec ?? overrides.durationSec ?? merged.pictureSec,
    displayWidth: overrides.displayWidth ?? (quarter ? merged.height : merged.width),
    displayHeight: overrides.displayHeight ?? (quarter ? merged.width : merged.height),
  };
}

function mustPlan(facts: VideoFacts): FitPlan {
  const plan = planFit(facts);
  if (!plan) throw new Error('expected a plan');
  return plan;
}

/** The facts a faithful transcode of `plan` would have (size aside, which only ffmpeg knows). */
function outputOf(plan: FitPlan): VideoFacts {
  return clip({
    container: 'mp4',
    codec: 'h264',
    width: plan.size.width,
    height: plan.size.height,
    durationSec: plan.durationSec,
    sizeBytes: 1_000_000,
  });
}

describe('planFit', () => {
  it('cuts the audio where the picture ends when only the audio runs past the limit', () => {
    const plan = mustPlan(clip({ durationSec: 35, pictureSec: 20, longerStream: 'audio' }));
    expect(plan.changes).toEqual([{ kind: 'cut-streams', stream: 'audio', fromSec: 35, toSec: 20 }]);
    expect(plan.trimToSec).toBe(20);
    // The H.264 picture complies as it is: it is copied, not encoded again.
    expect(plan.copyPicture).toBe(true);
    expect(checkVideo(outputOf(plan))).toEqual([]);
    expect(mustPlan(clip({ durationSec: 35, pictureSec: 20, codec: 'hevc' })).copyPicture).toBe(false);
  });

  it('re-encodes what decodes of an incomplete file, and no more', () => {
    const plan = mustPlan(
      clip({ durationSec: 10, incomplete: { declaredSec: 10, readableSec: 4.93, pastEnd: true } }),
    );
    expect(plan.changes).toEqual([{ kind: 'salvage', declaredSec: 10, keptSec: 4.93 }]);
    expect(plan.trimToSec).toBe(4.93);
    expect(plan.durationSec).toBe(4.93);
  });

  it('salvages and trims a long incomplete file', () => {
    const plan = mustPlan(
      clip({ durationSec: 60, incomplete: { declaredSec: 60, readableSec: 41, pastEnd: false } }),
    );
    expect(plan.changes.map((change) => change.kind)).toEqual(['salvage', 'trim']);
    expect(plan.trimToSec).toBe(29.95);
  });

  it('names what fitting really did once the fitted file is measured', () => {
    const trimmed = mustPlan(clip({ durationSec: 30.04, sizeBytes: 50_000_000 }));
    expect(measuredChanges(trimmed.changes, clip({ durationSec: 29.93 }))).toEqual([
      { kind: 'trim', fromSec: 30.04, toSec: 29.93 },
    ]);
    const shrunk = mustPlan(clip({ durationSec: 20, sizeBytes: 100_000_001 }));
    expect(measuredChanges(shrunk.changes, clip({ durationSec: 20, sizeBytes: 61_000_000 }))).toEqual([
      { kind: 'shrink', fromBytes: 100_000_001, maxBytes: 100_000_000, toBytes: 61_000_000 },
    ]);
  });

  it('returns undefined when the clip already complies', () => {
    expect(planFit(compliant)).toBeUndefined();
  });

  it('cuts 0.15 s early when the frame rate is unknown', () => {
    expect(mustPlan(clip({ durationSec: 41.2, frameRate: undefined })).trimToSec).toBe(29.85);
  });

  it('does not cut when nothing needs trimming', () => {
    const plan = mustPlan(clip({ width: 200, height: 200 }));
    expect(plan.trimToSec).toBeUndefined();
    expect(plan.durationSec).toBe(10);
  });

  it('trims a 41.2 s clip to 30 s and changes nothing else', () => {
    const plan = mustPlan(clip({ durationSec: 41.2 }));
    expect(plan).toEqual({
      changes: [{ kind: 'trim', fromSec: 41.2, toSec: 29.95 }],
      size: { width: 1280, height: 720 },
      crop: { width: 1280, height: 720 },
      maxDurationSec: 30,
      // 1.5 frames at 30 fps early, so the last frame kept ends before 30 s.
      trimToSec: 29.95,
      durationSec: 29.95,
      videoBitrateKbps: undefined,
      maxSizeBytes: 100_000_000,
      // A trim re-encodes: a copied picture could only be cut at a packet boundary.
      copyPicture: false,
    });
  });

  it('scales a 4097×2300 clip down to 4096×2300', () => {
    const plan = mustPlan(clip({ width: 4097, height: 2300 }));
    expect(plan.changes).toEqual([
      { kind: 'scale', from: { width: 4097, height: 2300 }, to: { width: 4096, height: 2300 } },
    ]);
    expect(plan.size).toEqual({ width: 4096, height: 2300 });
  });

  it('scales an 8K clip down so the long side is 4096 and keeps 16:9', () => {
    expect(mustPlan(clip({ width: 7680, height: 4320 })).size).toEqual({ width: 4096, height: 2304 });
  });

  it('upscales a 200×200 clip to 256×256', () => {
    const plan = mustPlan(clip({ width: 200, height: 200 }));
    expect(plan.changes).toEqual([
      { kind: 'scale', from: { width: 200, height: 200 }, to: { width: 256, height: 256 } },
    ]);
  });

  it('upscales a small portrait clip until its short side is 256 px, rounding to even numbers', () => {
    expect(mustPlan(clip({ width: 200, height: 360 })).size).toEqual({ width: 256, height: 460 });
  });

  it('centre-crops a 2:1 clip to 1.8:1 instead of padding it', () => {
    const plan = mustPlan(clip({ width: 640, height: 320 }));
    expect(plan.changes).toEqual([
      { kind: 'crop', from: { width: 640, height: 320 }, to: { width: 576, height: 320 } },
    ]);
    expect(plan.crop).toEqual({ width: 576, height: 320 });
    expect(plan.size).toEqual({ width: 576, height: 320 });
  });

  it('crops a rotated portrait clip along its displayed height', () => {
    const plan = mustPlan(clip({ width: 1080, height: 320, rotationDeg: 90 }));
    expect(plan.changes).toEqual([
      { kind: 'crop', from: { width: 320, height: 1080 }, to: { width: 320, height: 576 } },
    ]);
  });

  it('crops a tall sliver to 1.8:1 and then upscales it', () => {
    const plan = mustPlan(clip({ width: 100, height: 400 }));
    expect(plan.changes).toEqual([
      { kind: 'crop', from: { width: 100, height: 400 }, to: { width: 100, height: 180 } },
      { kind: 'scale', from: { width: 100, height: 180 }, to: { width: 256, height: 460 } },
    ]);
  });

  it('remuxes and re-encodes a webm to H.264 in MP4', () => {
    const plan = mustPlan(clip({ container: 'webm', formatName: 'matroska,webm', codec: 'vp8' }));
    expect(plan.changes).toEqual([
      { kind: 'reencode', fromCodec: 'vp8', toCodec: 'h264' },
      { kind: 'remux', fromContainer: 'webm', toContainer: 'mp4' },
    ]);
    expect(plan.videoBitrateKbps).toBeUndefined();
  });

  it('re-encodes an unsupported codec even in an accepted container', () => {
    expect(mustPlan(clip({ codec: 'jpeg2000' })).changes).toEqual([
      { kind: 'reencode', fromCodec: 'jpeg2000', toCodec: 'h264' },
    ]);
  });

  it('caps the bitrate of a 150 MB clip so 20 s fit in 90 MB with 128 kbps of audio', () => {
    const plan = mustPlan(clip({ sizeBytes: 150_000_000, durationSec: 20 }));
    expect(plan.changes).toEqual([{ kind: 'shrink', fromBytes: 150_000_000, maxBytes: 100_000_000 }]);
    // 90 MB × 8 / 20 s = 36,000 kbps, minus 128 kbps of audio.
    expect(plan.videoBitrateKbps).toBe(35_872);
  });

  it('leaves the audio share to the video when there is no audio', () => {
    expect(
      mustPlan(clip({ sizeBytes: 150_000_000, durationSec: 20, hasAudio: false })).videoBitrateKbps,
    ).toBe(36_000);
  });

  it('needs no bitrate cap when trimming alone brings the estimate under the limit', () => {
    const plan = mustPlan(clip({ sizeBytes: 120_000_000, durationSec: 60 }));
    expect(plan.changes).toEqual([{ kind: 'trim', fromSec: 60, toSec: 29.95 }]);
    expect(plan.videoBitrateKbps).toBeUndefined();
  });

  it('caps a 101 MB file whose duration is short, because its bytes say nothing about its video', () => {
    const plan = mustPlan(clip({ sizeBytes: 101_050_000, durationSec: 1, width: 384, height: 288 }));
    expect(plan.changes).toEqual([{ kind: 'shrink', fromBytes: 101_050_000, maxBytes: 100_000_000 }]);
    expect(plan.videoBitrateKbps).toBe(719_872);
  });

  it('combines trim, crop, re-encode, remux and shrink, estimating after trim and crop', () => {
    const plan = mustPlan(
      clip({
        container: 'webm',
        codec: 'vp9',
        durationSec: 60,
        width: 5000,
        height: 1000,
        sizeBytes: 800_000_000,
        hasAudio: false,
      }),
    );
    expect(plan.changes).toEqual([
      { kind: 'trim', fromSec: 60, toSec: 29.95 },
      { kind: 'crop', from: { width: 5000, height: 1000 }, to: { width: 1800, height: 1000 } },
      { kind: 'reencode', fromCodec: 'vp9', toCodec: 'h264' },
      { kind: 'remux', fromContainer: 'webm', toContainer: 'mp4' },
      // The estimate (800 MB × 29.95/60 × 1800/5000 = 143.76 MB) is over the limit; the change names
      // the input's real size.
      { kind: 'shrink', fromBytes: 800_000_000, maxBytes: 100_000_000 },
    ]);
    // 90 MB × 8 / 29.95 s
    expect(plan.videoBitrateKbps).toBe(24_040);
  });

  it('evens odd sizes when a clip is transcoded anyway', () => {
    const plan = mustPlan(clip({ width: 641, height: 361, durationSec: 31 }));
    expect(plan.changes).toContainEqual({
      kind: 'scale',
      from: { width: 641, height: 361 },
      to: { width: 640, height: 362 },
    });
  });

  it('follows custom limits', () => {
    const plan = planFit(clip({ durationSec: 12 }), { ...DEFAULT_LIMITS, maxDurationSec: 5, maxSidePx: 640 });
    expect(plan?.changes).toEqual([
      { kind: 'trim', fromSec: 12, toSec: 4.95 },
      { kind: 'scale', from: { width: 1280, height: 720 }, to: { width: 640, height: 360 } },
    ]);
  });

  it('always plans an even output size that passes every limit', () => {
    const sides = [
      1, 3, 99, 200, 255, 256, 257, 333, 480, 719, 1080, 1920, 2161, 4095, 4096, 4097, 6000, 9999,
    ];
    for (const width of sides) {
      for (const height of sides) {
        const facts = clip({ width, height, durationSec: 45, codec: 'hevc', container: 'mkv' });
        const plan = mustPlan(facts);
        expect(plan.size.width % 2, `${width}×${height}`).toBe(0);
        expect(plan.size.height % 2, `${width}×${height}`).toBe(0);
        expect(plan.crop.width, `${width}×${height}`).toBeLessThanOrEqual(width);
        expect(plan.crop.height, `${width}×${height}`).toBeLessThanOrEqual(height);
        expect(checkVideo(outputOf(plan)), `${width}×${height}`).toEqual([]);
      }
    }
  });
});
