/**
 * Labs whose process died without destroy() (killed test runner, Ctrl-C on a demo without a
 * handler) leave namespaces, daemons and a jail (jail.ts) behind. Each lab directory
 * (`<tmp>/mtl-<id>-*`) holds the pid of the process that owns it; a lab whose owner is gone is
 * removed by the next lab.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeJailDirectories } from './jail.js';
import { LabNamespace } from './namespace.js';

const LAB_DIRECTORY = /^mtl-([0-9a-f]{6})-/;
const OWNER_FILE = 'owner';

/**
 * Creates the lab's directory with its owner file in one synchronous step: a signal handler
 * (the demo's forced exit) runs between event-loop turns, so it never sees the directory
 * without its owner and leaves it behind.
 */
export function createOwnedDirectory(prefix: string): string {
  const directory = mkdtempSync(prefix);
  writeFileSync(join(directory, OWNER_FILE), String(process.pid), { mode: 0o644 });
  return directory;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it just isn't ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ownerOf(directory: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(join(directory, OWNER_FILE), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Removes the namespaces (and processes inside) and directories of labs whose owner died; returns their ids. */
export async function sweepAbandonedLabs(): Promise<string[]> {
  const swept: string[] = [];
  const entries = await readdir(tmpdir());
  let namespaces: string[] | null = null;
  for (const entry of entries) {
    const id = LAB_DIRECTORY.exec(entry)?.[1];
    if (id === undefined) continue;
    const directory = join(tmpdir(), entry);
    // No owner file: a lab being created right now (or not one of ours): leave it.
    const owner = await ownerOf(directory);
    if (owner === null || processExists(owner)) continue;
    namespaces ??= await LabNamespace.list();
    const prefix = `mtl-${id}-`;
    await Promise.allSettled(
      namespaces
        .filter((name) => name.startsWith(prefix))
        .map((name) => LabNamespace.existing(name).delete()),
    );
    await rm(directory, { recursive: true, force: true });
    removeJailDirectories(prefix);
    swept.push(id);
  }
  return swept;
}
