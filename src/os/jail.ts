/**
 * The engine's jail: chroot() must be out of reach once it is in, and an engine started by
 * miredo-engine-launch asks its jailer for the chroot (src/os/native/engine_launch.cc).
 * Apart from privileges.ts, which the data-plane bundle loads (posix.ts cannot be bundled).
 */
import { readSync, writeSync } from 'node:fs';
import { errnoName } from './errno.js';
import { native } from './native.js';
import { chroot } from './posix.js';

/** Tries chroot("/"): true when it worked (without CAP_SYS_CHROOT, it must not). */
export function canChroot(): boolean {
  try {
    chroot('/');
    return true;
  } catch {
    return false;
  }
}

/**
 * Asks the jailer (descriptor `fd`) to chroot this process into the jail it was given, waits for
 * its answer and reaps it. Throws when the chroot failed.
 */
export function requestJail(fd: number): void {
  writeSync(fd, Buffer.of(1));
  const answer = Buffer.alloc(1);
  const got = readSync(fd, answer);
  const status = native.waitChild();
  if (got !== 1) throw new Error(`the jailer ended without an answer (exit status ${status})`);
  if (answer[0] !== 0) throw new Error(`the jailer's chroot failed: ${errnoName(answer[0] ?? 0)}`);
}
