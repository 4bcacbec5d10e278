import { extname } from 'node:path';

/** File names chat apps give videos: what a name must end with to be taken for one. */
const VIDEO_EXTENSIONS = /\.(mp4|m4v|mov|qt|avi|mkv|webm|flv|ts|mts|m2ts|mpg|mpeg|mxf|3gp|wmv)$/i;

/** Moving pictures people share as images: the probe tells an animation from a still one. */
const ANIMATION_EXTENSIONS = /\.(gif|webp)$/i;
const ANIMATION_TYPES = new Set(['image/gif', 'image/webp']);

/** True when a file name says video (`clip.MOV`, `a.webm`). */
function looksLikeVideoName(fileName: string | undefined): boolean {
  return fileName !== undefined && VIDEO_EXTENSIONS.test(fileName);
}

/**
 * True when a shared file may hold a clip, by its content type or name: any video, and GIF or WebP,
 * which are often animations. Only a first filter: the file is probed after download.
 */
export function mayHoldClip(fileName: string | undefined, contentType: string | undefined): boolean {
  const type = contentType?.toLowerCase().split(';')[0]?.trim();
  if (type?.startsWith('video/') || (type !== undefined && ANIMATION_TYPES.has(type))) return true;
  return looksLikeVideoName(fileName) || (fileName !== undefined && ANIMATION_EXTENSIONS.test(fileName));
}

/** A safe lower-case extension for a downloaded clip (`.mov`), or `undefined` when the name has none. */
export function videoExtension(fileName: string | undefined): string | undefined {
  const ext = fileName ? extname(fileName).toLowerCase() : '';
  return /^\.[a-z0-9]{1,5}$/.test(ext) ? ext : undefined;
}
