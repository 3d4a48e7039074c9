/**
 * Chroot directories for the daemons that the lab and the tests start. The daemon refuses a
 * jail unless it and every directory above it are root's and writable by no one else (like
 * OpenSSH's ChrootDirectory; src/bootstrap/jail-directory.ts), which rules out anything under /tmp:
 * they are made under /run instead, root's and 0755, and removed by whoever made them.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const JAIL_PARENT = '/run/miredo-ts-test';

/** A new empty jail, `<JAIL_PARENT>/<prefix>XXXXXX`. Needs root. */
export function createJailDirectory(prefix: string): string {
  mkdirSync(JAIL_PARENT, { recursive: true, mode: 0o755 });
  const jail = mkdtempSync(join(JAIL_PARENT, prefix));
  chmodSync(jail, 0o755);
  return jail;
}

export function removeJailDirectory(jail: string): void {
  rmSync(jail, { recursive: true, force: true });
}

/** Removes the jails whose name starts with `prefix` (those of a lab whose owner died). */
export function removeJailDirectories(prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(JAIL_PARENT);
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(prefix)) removeJailDirectory(join(JAIL_PARENT, name));
}
