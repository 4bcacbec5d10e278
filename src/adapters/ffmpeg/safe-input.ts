import { resolve } from 'node:path';

/**
 * Demuxers ffmpeg and ffprobe may open untrusted input with: the containers we accept or can convert,
 * and the two animated-picture formats fitting turns into video (GIF, WebP). No hls, concat, image2
 * or network demuxers, which read other files or URLs named inside the input.
 */
export const ALLOWED_DEMUXERS = [
  'mov',
  'avi',
  'matroska',
  'flv',
  'live_flv',
  'mpegts',
  'mpeg',
  'mpegvideo',
  'mxf',
  'asf',
  'ogg',
  'h264',
  'hevc',
  'm4v',
  'gif',
  'webp_pipe',
] as const;

/** Input options that confine ffmpeg and ffprobe to reading local files through the allowed demuxers. */
export const SAFE_INPUT_ARGS: readonly string[] = [
  '-protocol_whitelist',
  'file',
  '-format_whitelist',
  ALLOWED_DEMUXERS.join(','),
];

/** A path as an explicit `file:` URL, so a name like `-x` or `http:…` is never read as an option or protocol. */
export function fileUrl(path: string): string {
  return `file:${resolve(path)}`;
}
