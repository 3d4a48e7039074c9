/** The calls the daemon uses from node-posix (the package ships no types). */
import { createRequire } from 'node:module';

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

interface PosixModule {
  getpwnam(name: string): PasswdEntry;
  chroot(dir: string): void;
}

const posix = createRequire(import.meta.url)('posix') as PosixModule;

/** The password entry for `name`, or null when there is no such user. */
export function lookupUser(name: string): PasswdEntry | null {
  try {
    const entry = posix.getpwnam(name);
    return { name: entry.name, uid: entry.uid, gid: entry.gid };
  } catch {
    return null;
  }
}

/** chroot(2); node-posix changes into the directory first, so the working directory is inside. */
export function chroot(dir: string): void {
  posix.chroot(dir);
}
