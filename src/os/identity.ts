/**
 * Who the calling thread runs as, and which directory is which: what the engine and each
 * data-plane worker check before they read a byte from the network (unprivileged, in the jail).
 */
import { statSync } from 'node:fs';

/** The calling thread's ids (-1 where the platform has none). */
export interface ThreadIds {
  readonly uid: number;
  readonly euid: number;
  readonly gid: number;
  readonly egid: number;
}

/** A directory by device and inode number (bigint: inode numbers pass 2^53). */
export interface DirectoryIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
}

export function threadIds(): ThreadIds {
  return {
    uid: process.getuid?.() ?? -1,
    euid: process.geteuid?.() ?? -1,
    gid: process.getgid?.() ?? -1,
    egid: process.getegid?.() ?? -1,
  };
}

export function supplementaryGroups(): readonly number[] {
  return process.getgroups?.() ?? [];
}

export function identifyDirectory(path: string): DirectoryIdentity {
  const stats = statSync(path, { bigint: true });
  return { dev: stats.dev, ino: stats.ino };
}
