/**
 * Which processes run chrooted in a directory: /proc/PID/root of every process, compared with
 * the jail's real path. The bootstrap asks before it removes the program copy from a jail that
 * other daemons' engines may share (the lab gives all its daemons one jail).
 *
 * Reading another user's /proc/PID/root needs ptrace access (CAP_SYS_PTRACE for root under a
 * hardened unit): when some cannot be read the answer is "unknown", never a guess.
 */
import { readdirSync, readlinkSync } from 'node:fs';

export type Occupants =
  | { readonly known: true; readonly pids: readonly number[] }
  | { readonly known: false; readonly reason: string };

export interface ProcReader {
  readonly pids: () => readonly number[];
  /** The target of /proc/PID/root; throws like readlink. */
  readonly rootOf: (pid: number) => string;
}

export const SYSTEM_PROC: ProcReader = {
  pids: () =>
    readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number),
  rootOf: (pid) => readlinkSync(`/proc/${pid}/root`),
};

/** Processes other than `exclude` whose root directory is `jail` (a real path). */
export function jailOccupants(
  jail: string,
  exclude: ReadonlySet<number>,
  proc: ProcReader = SYSTEM_PROC,
): Occupants {
  let pids: readonly number[];
  try {
    pids = proc.pids();
  } catch (error) {
    return { known: false, reason: error instanceof Error ? error.message : String(error) };
  }
  const inside: number[] = [];
  for (const pid of pids) {
    if (exclude.has(pid)) continue;
    let root: string;
    try {
      root = proc.rootOf(pid);
    } catch (error) {
      const errno = (error as NodeJS.ErrnoException).code;
      // The process ended meanwhile.
      if (errno === 'ENOENT' || errno === 'ESRCH') continue;
      return { known: false, reason: `/proc/${pid}/root: ${errno ?? String(error)}` };
    }
    if (root === jail) inside.push(pid);
  }
  return { known: true, pids: inside };
}
