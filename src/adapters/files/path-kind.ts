import { lstatSync, type Stats, statSync } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import type { NotAFileKind } from '../../core/limits.ts';

/** What a path names, learned without opening it (opening a FIFO would wait for a writer). */
export type PathKind =
  | { readonly kind: 'file' }
  | { readonly kind: 'missing'; readonly viaLink: boolean }
  | { readonly kind: NotAFileKind; readonly viaLink: boolean };

function classify(target: Stats | undefined, link: Stats | undefined): PathKind {
  const viaLink = link?.isSymbolicLink() ?? false;
  if (!target) return { kind: 'missing', viaLink };
  if (target.isFile()) return { kind: 'file' };
  const kind: NotAFileKind = target.isDirectory()
    ? 'directory'
    : target.isFIFO()
      ? 'fifo'
      : target.isCharacterDevice()
        ? 'character-device'
        : target.isBlockDevice()
          ? 'block-device'
          : target.isSocket()
            ? 'socket'
            : 'other';
  return { kind, viaLink };
}

const missing = (error: unknown): undefined => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
  throw error;
};

/** What `path` names, following links. */
export async function pathKind(path: string): Promise<PathKind> {
  const [target, link] = await Promise.all([stat(path).catch(missing), lstat(path).catch(missing)]);
  return classify(target, link);
}

/** `pathKind` for synchronous callers (argument checks). */
export function pathKindSync(path: string): PathKind {
  let target: Stats | undefined;
  let link: Stats | undefined;
  try {
    target = statSync(path);
  } catch (error) {
    target = missing(error);
  }
  try {
    link = lstatSync(path);
  } catch (error) {
    link = missing(error);
  }
  return classify(target, link);
}
