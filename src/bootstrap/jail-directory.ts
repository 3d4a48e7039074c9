/**
 * The directory the engine is jailed in: -t DIR (must already exist), else a default created
 * here. Like OpenSSH's ChrootDirectory, it is refused unless it and every directory above it are
 * owned by root and writable by no one else: otherwise whoever could write there could swap the
 * jail (or a directory on its path) between this check and the engine's chroot, or fill it.
 * The directory itself must not be a symbolic link; links above it are resolved once, here, and
 * the engine gets the real path, whose every component is checked with lstat.
 */
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { errnoText } from './errno-text.js';

export const DEFAULT_CHROOT_DIR = '/run/miredo-ts/empty';

export type ChrootDir =
  { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly message: string };

/** `dir` and its ancestors, from / down to `dir` (an absolute path without symbolic links). */
function pathFromRoot(dir: string): string[] {
  const chain = [dir];
  for (let parent = dirname(dir); parent !== chain[0]; parent = dirname(parent)) chain.unshift(parent);
  return chain;
}

/** Why `path` (a component of a real path) cannot be part of a jail, or null. */
function componentProblem(path: string): string | null {
  const stats = lstatSync(path);
  if (!stats.isDirectory()) return 'not a directory';
  if (stats.uid !== 0) return `owned by uid ${stats.uid}`;
  if ((stats.mode & 0o022) !== 0) return `mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;
  return null;
}

function check(requested: string): ChrootDir {
  try {
    const given = resolve(requested);
    const stats = lstatSync(given);
    if (stats.isSymbolicLink()) return { ok: false, message: `Error (${requested}): Is a symbolic link` };
    if (!stats.isDirectory()) return { ok: false, message: `Error (${requested}): Not a directory` };
    const dir = realpathSync(given);
    for (const component of pathFromRoot(dir)) {
      const problem = componentProblem(component);
      if (problem === null) continue;
      const which = component === dir ? 'directory' : 'directory component';
      return {
        ok: false,
        message: `Error (${requested}): bad ownership or modes for chroot ${which} "${component}" (${problem}): it and every directory above it must be owned by root and writable by no one else`,
      };
    }
    return { ok: true, dir };
  } catch (error) {
    return { ok: false, message: `Error (${requested}): ${errnoText(error)}` };
  }
}

/** -t DIR as given, or (null) the default, created 0755 with its parents when missing. */
export function prepareChrootDir(requested: string | null, defaultDir = DEFAULT_CHROOT_DIR): ChrootDir {
  if (requested !== null) return check(requested);
  try {
    mkdirSync(defaultDir, { recursive: true, mode: 0o755 });
  } catch (error) {
    return { ok: false, message: `Error (${defaultDir}): ${errnoText(error)}` };
  }
  return check(defaultDir);
}
