/**
 * The engine's privilege drop and the proof that it worked. The calls are injected so that the
 * order and the checks are unit-tested; SYSTEM_DROP and SYSTEM_CHECK are the real ones (src/os/).
 *
 * Started by a root bootstrap, order: chroot needs CAP_SYS_CHROOT and setgroups/setgid need
 * CAP_SETGID, so they all come before setuid, which clears every capability; no-new-privs last
 * (it needs no privilege).
 *
 * Started by a bootstrap that runs as a service user with ambient capabilities, through
 * miredo-engine-launch (src/os/native/engine_launch.cc): the engine already runs as that user and
 * has never held a capability; its `jailer` chroots it. It checks every thread first (/proc is out
 * of reach once in the jail; no thread can gain a capability afterwards: no_new_privs, no exec),
 * then asks for the jail.
 */
import type { DirIdentity } from '../ipc/engine-worker-messages.js';
import { identifyDirectory, supplementaryGroups, threadIds } from '../os/identity.js';
import { chroot } from '../os/posix.js';
import { privilegedThreads } from '../os/capabilities.js';
import { canChroot, requestJail } from '../os/jail.js';
import { canRegainRoot, setGid, setGroupsEmpty, setNoNewPrivs, setUid } from '../os/privileges.js';
import { canOpenTunDevice } from '../os/tun.js';

export interface DropTarget {
  readonly uid: number;
  readonly gid: number;
  readonly chrootDir: string;
  /** The jailer's descriptor (started by miredo-engine-launch), or null (started as root). */
  readonly jailer: number | null;
}

export interface DropOperations {
  /** The directory's device and inode, taken before chroot (the workers check their root against it). */
  identify(dir: string): DirIdentity;
  chroot(dir: string): void;
  chdir(dir: string): void;
  setGroupsEmpty(): void;
  setgid(gid: number): void;
  setuid(uid: number): void;
  setNoNewPrivs(): void;
  /** Threads that hold a capability or lack no_new_privs, described. */
  privilegedThreads(): readonly string[];
  /** The jailer chroots this process (throws when it could not). */
  requestJail(fd: number): void;
}

export interface CheckOperations {
  getuid(): number;
  geteuid(): number;
  getgid(): number;
  getegid(): number;
  getgroups(): readonly number[];
  /** Tries setuid(0); true if it succeeded (which must not happen). */
  regainRoot(): boolean;
  /** Tries to open /dev/net/tun; true if it opened (which must not happen). */
  openTunDevice(): boolean;
  /** Tries chroot("/"); true if it succeeded (which must not happen: no CAP_SYS_CHROOT left). */
  chroot(): boolean;
}

export type DropResult =
  { readonly ok: true } | { readonly ok: false; readonly step: string; readonly error: string };
export type CheckResult =
  { readonly ok: true } | { readonly ok: false; readonly failures: readonly string[] };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function noPrivilegedThread(ops: DropOperations): void {
  const threads = ops.privilegedThreads();
  if (threads.length > 0) throw new Error(threads.join('; '));
}

function dropSteps(target: DropTarget, ops: DropOperations): ReadonlyArray<readonly [string, () => void]> {
  const { jailer } = target;
  if (jailer !== null)
    return [
      ['no capability in any thread', () => noPrivilegedThread(ops)],
      [`jailer chroot(${target.chrootDir})`, () => ops.requestJail(jailer)],
      ['chdir(/)', () => ops.chdir('/')],
      ['prctl(PR_SET_NO_NEW_PRIVS)', () => ops.setNoNewPrivs()],
    ];
  return [
    [`chroot(${target.chrootDir})`, () => ops.chroot(target.chrootDir)],
    ['chdir(/)', () => ops.chdir('/')],
    ['setgroups([])', () => ops.setGroupsEmpty()],
    [`setgid(${target.gid})`, () => ops.setgid(target.gid)],
    [`setuid(${target.uid})`, () => ops.setuid(target.uid)],
    ['prctl(PR_SET_NO_NEW_PRIVS)', () => ops.setNoNewPrivs()],
  ];
}

export function dropPrivileges(target: DropTarget, ops: DropOperations): DropResult {
  const steps = dropSteps(target, ops);
  for (const [step, run] of steps) {
    try {
      run();
    } catch (error) {
      return { ok: false, step, error: errorText(error) };
    }
  }
  return { ok: true };
}

/** Every way back to privilege we can test from inside must be closed. */
export function checkDropped(target: DropTarget, ops: CheckOperations): CheckResult {
  const failures: string[] = [];
  const ids = { uid: ops.getuid(), euid: ops.geteuid(), gid: ops.getgid(), egid: ops.getegid() };
  if (ids.uid === 0 || ids.euid === 0) failures.push(`still uid ${ids.uid}/euid ${ids.euid}`);
  if (ids.uid !== target.uid || ids.euid !== target.uid)
    failures.push(`uid ${ids.uid}/${ids.euid}, expected ${target.uid}`);
  if (ids.gid === 0 || ids.egid === 0) failures.push(`still gid ${ids.gid}/egid ${ids.egid}`);
  if (ids.gid !== target.gid || ids.egid !== target.gid)
    failures.push(`gid ${ids.gid}/${ids.egid}, expected ${target.gid}`);
  // Without CAP_SETGID the launched engine keeps its service user's groups: nothing beyond them.
  const groups = ops.getgroups().filter((group) => group !== target.gid);
  if (target.jailer === null && groups.length > 0)
    failures.push(`supplementary groups remain: ${groups.join(',')}`);
  let regained: boolean;
  try {
    regained = ops.regainRoot();
  } catch {
    regained = false;
  }
  if (regained) failures.push('setuid(0) succeeded');
  let opened: boolean;
  try {
    opened = ops.openTunDevice();
  } catch {
    opened = false;
  }
  if (opened) failures.push('/dev/net/tun can still be opened');
  let chrooted: boolean;
  try {
    chrooted = ops.chroot();
  } catch {
    chrooted = false;
  }
  if (chrooted) failures.push('chroot() succeeded');
  return failures.length === 0 ? { ok: true } : { ok: false, failures };
}

export const SYSTEM_DROP: DropOperations = {
  identify: identifyDirectory,
  chroot,
  chdir: (dir) => process.chdir(dir),
  setGroupsEmpty,
  setgid: setGid,
  setuid: setUid,
  setNoNewPrivs,
  privilegedThreads,
  requestJail,
};

export const SYSTEM_CHECK: CheckOperations = {
  getuid: () => threadIds().uid,
  geteuid: () => threadIds().euid,
  getgid: () => threadIds().gid,
  getegid: () => threadIds().egid,
  getgroups: supplementaryGroups,
  regainRoot: canRegainRoot,
  openTunDevice: canOpenTunDevice,
  chroot: canChroot,
};
