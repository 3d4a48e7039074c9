/**
 * The calls the daemon uses from node-posix (the package ships no types): the password and group
 * databases, chroot(2), and syslog(3).
 */
import { createRequire } from 'node:module';

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

interface PosixModule {
  getpwnam(name: string): PasswdEntry;
  getgrnam(name: string): { readonly gid: number };
  chroot(dir: string): void;
  openlog(ident: string, options: { pid?: boolean; ndelay?: boolean }, facility: string): void;
  closelog(): void;
  syslog(priority: string, message: string): void;
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

/** The numeric id of group `name`, or null when there is no such group. */
export function lookupGroup(name: string): number | null {
  try {
    return posix.getgrnam(name).gid;
  } catch {
    return null;
  }
}

/** chroot(2); node-posix changes into the directory first, so the working directory is inside. */
export function chroot(dir: string): void {
  posix.chroot(dir);
}

/** openlog(3) with LOG_PID | LOG_NDELAY; `facility` is a name node-posix knows ("daemon"). */
export function openSyslog(ident: string, facility: string): void {
  posix.openlog(ident, { pid: true, ndelay: true }, facility);
}

/** syslog(3); `priority` is a name node-posix knows ("err", "notice"). */
export function writeSyslog(priority: string, message: string): void {
  posix.syslog(priority, message);
}

export function closeSyslog(): void {
  posix.closelog();
}
