/**
 * Dropping privileges: the calls the posix package lacks (setgroups, no_new_privs) and Node's
 * setgid/setuid, which glibc applies to every thread of the process. chroot is in posix.ts.
 */
import { native } from './native.js';
import { hinted } from './os-error.js';

/** setgroups(0, NULL): no supplementary groups (process-wide). Needs root / CAP_SETGID. */
export function setGroupsEmpty(): void {
  hinted({ EPERM: 'needs root / CAP_SETGID' }, () => native.setGroupsEmpty());
}

/**
 * prctl(PR_SET_NO_NEW_PRIVS, 1): execve can no longer grant privileges (setuid bits, file
 * capabilities). The kernel sets it on the CALLING THREAD only, and threads or processes it
 * creates afterwards inherit it: worker threads started earlier must call it themselves.
 */
export function setNoNewPrivs(): void {
  native.setNoNewPrivs();
}

/** process.setgid and friends exist only on POSIX systems; their absence is an error, never a no-op. */
function posixCall<A extends unknown[]>(
  fn: ((...args: A) => void) | undefined,
  name: string,
  ...args: A
): void {
  if (fn === undefined) throw new Error(`${name} is not available on this platform`);
  fn(...args);
}

export function setGid(gid: number): void {
  posixCall(process.setgid, 'setgid', gid);
}

export function setUid(uid: number): void {
  posixCall(process.setuid, 'setuid', uid);
}

/** Tries setuid(0): true when it worked (after a drop, that must never happen). */
export function canRegainRoot(): boolean {
  try {
    setUid(0);
    return true;
  } catch {
    return false;
  }
}
