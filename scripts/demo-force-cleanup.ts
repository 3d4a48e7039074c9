/**
 * The forced way out (a second Ctrl-C): remove, synchronously and right now, every lab this
 * process owns - its namespaces (after SIGKILLing what runs inside) and its directory. The lab
 * library writes the owner's pid into an `owner` file in the lab's directory (`<tmp>/mtl-<id>-...`)
 * before it creates any namespace, so this finds labs still being built too.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LAB_DIRECTORY = /^mtl-([0-9a-f]{6})-/;
const COMMAND_TIMEOUT_MS = 2000;

function quietly(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      timeout: COMMAND_TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return '';
  }
}

function ownedBy(directory: string, pid: number): boolean {
  try {
    return Number(readFileSync(join(directory, 'owner'), 'utf8').trim()) === pid;
  } catch {
    return false;
  }
}

/** Removes the labs owned by `pid` (default: this process); returns their ids. */
export function forceRemoveOwnLabs(pid: number = process.pid): string[] {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    return [];
  }
  const labs = entries
    .map((entry) => ({ entry, id: LAB_DIRECTORY.exec(entry)?.[1] }))
    .filter((lab): lab is { entry: string; id: string } => lab.id !== undefined)
    .filter((lab) => ownedBy(join(tmpdir(), lab.entry), pid));
  if (labs.length === 0) return [];
  const namespaces = quietly('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
  for (const lab of labs) {
    for (const namespace of namespaces.filter((name) => name.startsWith(`mtl-${lab.id}-`))) {
      for (const inside of quietly('ip', ['netns', 'pids', namespace]).split(/\s+/)) {
        const target = Number(inside);
        if (!Number.isInteger(target) || target <= 0) continue;
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      quietly('ip', ['netns', 'delete', namespace]);
    }
    rmSync(join(tmpdir(), lab.entry), { recursive: true, force: true });
  }
  return labs.map((lab) => lab.id);
}
