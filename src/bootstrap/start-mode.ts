/**
 * Who the bootstrap may start as, and so how its engine runs:
 * - root: the engine drops to -u USER itself (setgroups, setgid, setuid) after its chroot;
 * - a service user holding, as ambient capabilities, exactly what the role needs (systemd's
 *   User= with AmbientCapabilities=, or setpriv): the engine runs as that same user, started by
 *   miredo-engine-launch with no capability, and chrooted by its jailer (SECURITY.md).
 * Pure: the ids and the effective set come from the caller.
 */
import { CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_CHROOT, hasCapability } from '../os/capabilities.js';
import type { Program } from './command-line.js';
import type { UserLookup } from './user.js';

export const NOT_ROOT_MESSAGE =
  'This program must be started as root, or as a service user holding the capabilities it needs ' +
  '(miredo: CAP_NET_ADMIN and CAP_SYS_CHROOT; miredo-server: CAP_NET_RAW and CAP_SYS_CHROOT): it ' +
  'creates a network interface and opens sockets, then runs its engine unprivileged in a jail.';

export type StartMode =
  | { readonly kind: 'root' }
  | { readonly kind: 'service-user'; readonly uid: number; readonly gid: number }
  | { readonly kind: 'refused'; readonly message: string };

/** The capabilities a bootstrap that is not root needs, by program. */
export function neededCapabilities(program: Program): readonly number[] {
  return program === 'miredo-server' ? [CAP_NET_RAW, CAP_SYS_CHROOT] : [CAP_NET_ADMIN, CAP_SYS_CHROOT];
}

export function startMode(
  program: Program,
  ids: { readonly uid: number; readonly gid: number },
  effective: bigint,
  requestedUser: string | null,
  lookup: UserLookup,
): StartMode {
  if (ids.uid === 0) return { kind: 'root' };
  const refused = { kind: 'refused', message: `${program}: ${NOT_ROOT_MESSAGE}` } as const;
  if (ids.uid < 0 || ids.gid <= 0) return refused;
  if (!neededCapabilities(program).every((capability) => hasCapability(effective, capability)))
    return refused;
  if (requestedUser !== null && lookup(requestedUser)?.uid !== ids.uid)
    return {
      kind: 'refused',
      message: `${program}: -u ${requestedUser}: without root, the engine runs as the user that started the daemon (uid ${ids.uid})`,
    };
  return { kind: 'service-user', uid: ids.uid, gid: ids.gid };
}
