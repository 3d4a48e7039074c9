/**
 * The PID file, as Miredo keeps it: opened without following symbolic links, a regular file,
 * write-locked (fcntl F_SETLK, like lockf(F_TLOCK)) for the daemon's lifetime, holding the
 * decimal pid without a newline. The lock is what tells a second instance to stay away.
 *
 * fcntl locks belong to the process and vanish when ANY descriptor of the file is closed by it,
 * so the file must not be opened anywhere else in the process while the lock is held.
 */
import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { native } from './native.js';

export type PidFileLock =
  { readonly ok: true; readonly fd: number } | { readonly ok: false; readonly error: NodeJS.ErrnoException };

function asErrno(error: unknown): NodeJS.ErrnoException {
  return error instanceof Error ? error : new Error(String(error));
}

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message);
  error.code = code;
  return error;
}

/** Opens, checks and locks `path`; on failure nothing stays open. */
export function tryLockPidFile(path: string): PidFileLock {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    return { ok: false, error: asErrno(error) };
  }
  try {
    if (!fstatSync(fd).isFile()) throw errnoError('EINVAL', `${path} is not a regular file`);
    native.lockFile(fd);
    return { ok: true, fd };
  } catch (error) {
    closeSync(fd);
    return { ok: false, error: asErrno(error) };
  }
}

/** Replaces the file's content with the decimal pid and flushes it to disk. */
export function writePidFile(fd: number, pid: number): void {
  ftruncateSync(fd, 0);
  writeSync(fd, String(pid), 0, 'latin1');
  fdatasyncSync(fd);
}

/** Deletes the file, then closes (and so unlocks) it: no window where another instance could lock a file we then delete. */
export function removePidFile(path: string, fd: number): void {
  try {
    unlinkSync(path);
  } finally {
    closeSync(fd);
  }
}
