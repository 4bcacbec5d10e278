import { extname } from 'node:path';

/** File names chat apps give videos: what a name must end with to be taken for one. */
const VIDEO_EXTENSIONS = /\.(mp4|m4v|mov|qt|avi|mkv|webm|flv|ts|mts|m2ts|mpg|mpeg|mxf|3gp|wmv)$/i;

/** True when a file name says video (`clip.MOV`, `a.webm`). */
export function looksLikeVideoName(fileName: string | undefined): boolean {
  return fileName !== undefined && VIDEO_EXTENSIONS.test(fileName);
}

/** A safe lower-case extension for a downloaded clip (`.mov`), or `undefined` when the name has none. */
export function videoExtension(fileName: string | undefined): string | undefined {
  const ext = fileName ? extname(fileName).toLowerCase() : '';
  return /^\.[a-z0-9]{1,5}$/.test(ext) ? ext : undefined;
}
