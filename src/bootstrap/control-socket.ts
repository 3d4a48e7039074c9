/**
 * The control socket's file, made by the root bootstrap and served by the engine (which gets the
 * listening descriptor: SECURITY.md argues why). Next to the PID file (controlSocketPath), owned
 * by root and group CONTROL_GROUP, mode 0660. It is born that way: bound under umask 0117 with
 * the group as the effective group id for that one call, so there is no moment with another owner
 * or mode, and no chown (which needs CAP_CHOWN, outside the systemd units' bounding set). Without
 * that group it is root:root 0660: only root can use miredo-ctl. The PID file's lock makes the
 * path ours: a file left there by a daemon that crashed is removed first.
 */
import type { Logger } from '../log/logger.js';
import { controlSocketPath } from '../ipc/control-protocol.js';
import { errnoText } from './errno-text.js';

/** The group whose members may use miredo-ctl. */
export const CONTROL_GROUP = 'miredo';
export const CONTROL_SOCKET_MODE = 0o660;
const CONTROL_SOCKET_UMASK = 0o777 & ~CONTROL_SOCKET_MODE;

export interface ControlSocketOps {
  readonly openUnixListener: (path: string) => number;
  readonly lookupGroup: (name: string) => number | null;
  /** Sets the effective group id (the bootstrap is single-threaded: nothing else runs meanwhile). */
  readonly setegid: (gid: number) => void;
  readonly getegid: () => number;
  readonly unlink: (path: string) => void;
  readonly umask: (mask: number) => number;
  readonly closeFd: (fd: number) => void;
}

export interface ControlSocket {
  readonly fd: number;
  readonly path: string;
  /** Close the descriptor and remove the file (at exit; the engine is gone). */
  close(): void;
}

function removeStale(path: string, ops: ControlSocketOps): void {
  try {
    ops.unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Opens the control socket of the daemon whose PID file is `pidFile`; null (logged) when it cannot. */
export function openControlSocket(pidFile: string, ops: ControlSocketOps, log: Logger): ControlSocket | null {
  const path = controlSocketPath(pidFile);
  const gid = ops.lookupGroup(CONTROL_GROUP);
  if (gid === null) log.notice('No group "%s": only root can use the control socket %s', CONTROL_GROUP, path);
  let fd: number;
  const egid = ops.getegid();
  const umask = ops.umask(CONTROL_SOCKET_UMASK);
  try {
    removeStale(path, ops);
    if (gid !== null) ops.setegid(gid);
    fd = ops.openUnixListener(path);
  } catch (error) {
    log.warning('Cannot create the control socket %s: %s; miredo-ctl will not work', path, errnoText(error));
    return null;
  } finally {
    if (gid !== null) ops.setegid(egid);
    ops.umask(umask);
  }
  return {
    fd,
    path,
    close(): void {
      try {
        ops.closeFd(fd);
        removeStale(path, ops);
      } catch (error) {
        log.warning('Cannot remove the control socket %s: %s', path, errnoText(error));
      }
    },
  };
}
