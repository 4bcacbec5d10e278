import type { VideoFacts } from '../../src/core/limits.ts';

/** Facts of a 10 s 1280×720 H.264 MP4 of 10 MB that breaks no limit; override what a test needs. */
export function compliantFacts(overrides: Partial<VideoFacts> = {}): VideoFacts {
  const durationSec = overrides.durationSec ?? 10;
  return {
    container: 'mp4',
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    sizeBytes: 10_000_000,
    durationSec,
    pictureSec: overrides.pictureSec ?? durationSec,
    codec: 'h264',
    width: 1280,
    height: 720,
    rotationDeg: 0,
    displayWidth: 1280,
    displayHeight: 720,
    frameRate: 30,
    hasAudio: true,
    ...overrides,
  };
}
