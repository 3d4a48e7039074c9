/** The directory the engine is jailed in: -t DIR (must already exist), else a default created here. */
import { accessSync, constants, mkdirSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { errnoText } from './errno-text.js';

export const DEFAULT_CHROOT_DIR = '/run/miredo-ts/empty';

export type ChrootDir =
  { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly message: string };

function check(dir: string): ChrootDir {
  try {
    const absolute = realpathSync(resolve(dir));
    if (!statSync(absolute).isDirectory()) return { ok: false, message: `Error (${dir}): Not a directory` };
    accessSync(absolute, constants.X_OK);
    return { ok: true, dir: absolute };
  } catch (error) {
    return { ok: false, message: `Error (${dir}): ${errnoText(error)}` };
  }
}

export function prepareChrootDir(requested: string | null): ChrootDir {
  if (requested !== null) return check(requested);
  try {
    mkdirSync(DEFAULT_CHROOT_DIR, { recursive: true, mode: 0o755 });
  } catch (error) {
    return { ok: false, message: `Error (${DEFAULT_CHROOT_DIR}): ${errnoText(error)}` };
  }
  return check(DEFAULT_CHROOT_DIR);
}
