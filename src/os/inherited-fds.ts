/**
 * Miredo starts with closefrom(3): a daemon must not keep descriptors its parent leaked to it
 * (a shell's pipes, say), nor pass them on to the engine. Node opens its own descriptors
 * close-on-exec, so one WITHOUT O_CLOEXEC that we did not ask for was inherited: those are
 * closed. (Inherited ones that are already close-on-exec cannot be told from Node's own; they
 * at least never reach the engine.) Flags come from /proc/self/fdinfo: Node has no fcntl.
 */
import { closeSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;

/** The open flags in a /proc/PID/fdinfo/N text, or null when absent. */
export function fdinfoFlags(text: string): number | null {
  const match = /^flags:\s*([0-7]+)$/m.exec(text);
  return match?.[1] === undefined ? null : Number.parseInt(match[1], 8);
}

export interface FdSource {
  list(): readonly number[];
  fdinfo(fd: number): string | null;
}

export const PROC_SELF: FdSource = {
  list: () => {
    try {
      return readdirSync('/proc/self/fd').map(Number).filter(Number.isInteger);
    } catch {
      return [];
    }
  },
  fdinfo: (fd) => {
    try {
      return readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      return null;
    }
  },
};

/** Descriptors from 3 up that are not close-on-exec and not in `keep`. */
export function inheritedDescriptors(keep: ReadonlySet<number>, source: FdSource = PROC_SELF): number[] {
  return source.list().filter((fd) => {
    if (fd < 3 || keep.has(fd)) return false;
    const flags = fdinfoFlags(source.fdinfo(fd) ?? '');
    return flags !== null && (flags & O_CLOEXEC) === 0;
  });
}

/** Closes them; returns what was closed. */
export function closeInheritedDescriptors(keep: ReadonlySet<number>, source: FdSource = PROC_SELF): number[] {
  const leaked = inheritedDescriptors(keep, source);
  for (const fd of leaked) {
    try {
      closeSync(fd);
    } catch {
      // Gone meanwhile.
    }
  }
  return leaked;
}
