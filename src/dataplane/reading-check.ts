/**
 * A data-plane worker's own check just before its first read, in defence in depth: the engine
 * has dropped privileges and checked that already, but a worker reads hostile bytes only if it
 * sees for itself that no id of its thread is root and that its root directory is the jail the
 * engine identified (by device and inode) before it chrooted.
 */
import type { DirectoryIdentity, ThreadIds } from '../os/identity.js';

/** Why the worker must not read, or null when it may. */
export function readingRefusal(
  ids: ThreadIds,
  root: DirectoryIdentity,
  jail: DirectoryIdentity,
): string | null {
  const problems: string[] = [];
  if (ids.uid <= 0 || ids.euid <= 0) problems.push(`uid ${ids.uid}, euid ${ids.euid}`);
  if (ids.gid <= 0 || ids.egid <= 0) problems.push(`gid ${ids.gid}, egid ${ids.egid}`);
  if (root.dev !== jail.dev || root.ino !== jail.ino)
    problems.push(`root directory ${root.dev}:${root.ino} is not the jail ${jail.dev}:${jail.ino}`);
  return problems.length === 0 ? null : problems.join('; ');
}
