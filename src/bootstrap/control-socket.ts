/**
 * The control socket's file, made by the root bootstrap and served by the engine (which gets the
 * listening descriptor: SECURITY.md argues why). Next to the PID file (controlSocketPath), owned
 * by root and group CONTROL_GROUP, mode 0660. It is bound under umask 0177 (root only) and only
 * then given to the group, so no one else can connect in between. Without that group, it stays
 * root:root 0660: only root can use miredo-ctl. The PID file's lock makes the path ours: a file
 * left there by a daemon that crashed is removed first.
 */
import type { Logger } from '../log/logger.js';
import { controlSocketPath } from '../ipc/control-protocol.js';
import { errnoText } from './errno-text.js';

/** The group whose members may use miredo-ctl. */
export const CONTROL_GROUP = 'miredo';
export const CONTROL_SOCKET_MODE = 0o660;

export interface ControlSocketOps {
  readonly openUnixListener: (path: string) => number;
  readonly lookupGroup: (name: string) => number | null;
  readonly chown: (path: string, uid: number, gid: number) => void;
  readonly chmod: (path: string, mode: number) => void;
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
  let fd: number;
  try {
    removeStale(path, ops);
    const previous = ops.umask(0o177);
    try {
      fd = ops.openUnixListener(path);
    } finally {
      ops.umask(previous);
    }
  } catch (error) {
    log.warning('Cannot create the control socket %s: %s; miredo-ctl will not work', path, errnoText(error));
    return null;
  }
  const gid = ops.lookupGroup(CONTROL_GROUP);
  try {
    if (gid === null)
      log.notice('No group "%s": only root can use the control socket %s', CONTROL_GROUP, path);
    else ops.chown(path, 0, gid);
    ops.chmod(path, CONTROL_SOCKET_MODE);
  } catch (error) {
    log.warning('Cannot give the control socket %s to group %s: %s', path, CONTROL_GROUP, errnoText(error));
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
