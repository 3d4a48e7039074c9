/**
 * A read-only copy of program files inside a jail, at the same absolute paths (file F becomes
 * <jail>/F): root-owned, files 0444, directories 0555. Only what we create is ever removed: a
 * manifest in the jail (MANIFEST_NAME, one "d PATH" or "f PATH" line per directory or file we
 * made) lists it, so that an administrator's own files in a `-t DIR` are never touched, and a
 * copy left by a killed daemon, or shared by several daemons in one jail, is cleaned up by the
 * last one out. Symbolic links inside the jail are refused, never followed.
 *
 * A copy of another version of the program (a killed daemon's, before an upgrade) is reported
 * with the files of it that differ, when the manifest lists them all (removeStaleFiles clears
 * them); a differing file the manifest does not list is the administrator's and always wins.
 *
 * Runs in the root bootstrap, asynchronously: the bootstrap keeps serving the engine's helper
 * requests meanwhile (a few hundred small files, once per engine start).
 */
import { lstatSync } from 'node:fs';
import type { Stats } from 'node:fs';
import {
  appendFile,
  chmod,
  link,
  lstat,
  mkdir,
  open,
  readFile,
  rename,
  rmdir,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { errnoText } from './errno-text.js';

export const MANIFEST_NAME = '.miredo-ts-program-copy';
export const COPY_FILE_MODE = 0o444;
export const COPY_DIR_MODE = 0o555;
/** While we fill a directory: its owner (root) must be able to write without CAP_DAC_OVERRIDE. */
const FILLING_DIR_MODE = 0o755;

export type CopyResult =
  | { readonly ok: true; readonly created: number; readonly reused: number }
  | {
      readonly ok: false;
      readonly message: string;
      /**
       * When the only problem is files that an earlier copy made (the manifest lists them) and
       * that differ from the program: those files. Empty for any other failure.
       */
      readonly stale: readonly string[];
    };

export interface RemoveResult {
  readonly removed: number;
  /** Entries that could not go (a directory someone else still uses, say): still listed. */
  readonly kept: number;
}

interface ManifestEntry {
  readonly kind: 'd' | 'f';
  readonly path: string;
}

class CopyFailure extends Error {
  constructor(
    message: string,
    readonly stale: readonly string[] = [],
  ) {
    super(message);
  }
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** An absolute, normalised path with no `..`: the only kind a manifest line may name. */
function isCleanAbsolute(path: string): boolean {
  return path.startsWith('/') && path !== '/' && posix.normalize(path) === path && !path.includes('/../');
}

function manifestPath(jail: string): string {
  return join(jail, MANIFEST_NAME);
}

export async function readManifest(jail: string): Promise<ManifestEntry[]> {
  let text: string;
  try {
    text = await readFile(manifestPath(jail), 'utf8');
  } catch {
    return [];
  }
  const entries: ManifestEntry[] = [];
  for (const line of text.split('\n')) {
    const kind = line.slice(0, 1);
    const path = line.slice(2);
    if ((kind === 'd' || kind === 'f') && line[1] === ' ' && isCleanAbsolute(path))
      entries.push({ kind, path });
  }
  return entries;
}

function record(jail: string, entry: ManifestEntry): Promise<void> {
  return appendFile(manifestPath(jail), `${entry.kind} ${entry.path}\n`, { mode: 0o644 });
}

/** Replaces the manifest (atomically) by `entries`, or removes it when there are none. */
async function writeManifest(jail: string, entries: readonly ManifestEntry[]): Promise<void> {
  const manifest = manifestPath(jail);
  try {
    if (entries.length === 0) await unlink(manifest);
    else {
      const temporary = `${manifest}.${process.pid}.tmp`;
      await writeFile(temporary, entries.map((entry) => `${entry.kind} ${entry.path}\n`).join(''), {
        mode: 0o644,
      });
      await rename(temporary, manifest);
    }
  } catch (error) {
    if (code(error) !== 'ENOENT') throw error;
  }
}

function listed(entries: readonly ManifestEntry[], kind: ManifestEntry['kind']): Set<string> {
  return new Set(entries.filter((entry) => entry.kind === kind).map((entry) => entry.path));
}

/**
 * Our read-only directories (the manifest lists them), made writable while we add or remove a
 * file in them: the bootstrap may lack CAP_DAC_OVERRIDE. restore() makes them read-only again.
 */
function directoryOpener(jail: string, ours: ReadonlySet<string>) {
  const opened = new Set<string>();
  return {
    async open(dir: string): Promise<void> {
      if (!ours.has(dir) || opened.has(dir)) return;
      await chmod(join(jail, dir), FILLING_DIR_MODE);
      opened.add(dir);
    },
    async restore(): Promise<void> {
      for (const dir of opened) await chmod(join(jail, dir), COPY_DIR_MODE).catch(() => undefined);
      opened.clear();
    },
  };
}

/** lstat, or null when nothing is there. */
async function look(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (error) {
    if (code(error) === 'ENOENT') return null;
    throw error;
  }
}

/** Every directory of `path` below the jail, outermost first: /a/b/c → /a, /a/b. */
function ancestors(path: string): string[] {
  const result: string[] = [];
  for (let dir = dirname(path); dir !== '/'; dir = dirname(dir)) result.unshift(dir);
  return result;
}

/** True when no component of `path` inside the jail is a symbolic link (missing ones are fine). */
async function noLinksBelow(jail: string, path: string): Promise<boolean> {
  for (const part of [...ancestors(path), path]) {
    const stat = await look(join(jail, part));
    if (stat === null) return true;
    if (stat.isSymbolicLink()) return false;
  }
  return true;
}

async function sameBytes(path: string, expected: Buffer): Promise<boolean> {
  try {
    return (await readFile(path)).equals(expected);
  } catch {
    return false;
  }
}

/** Writes `bytes` to a fresh read-only file next to `target`, then links it in; false if `target` appeared first. */
async function placeFile(target: string, bytes: Buffer): Promise<boolean> {
  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  const handle = await open(temporary, 'wx', COPY_FILE_MODE);
  try {
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, target);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary);
  }
}

/**
 * Makes <jail>/F a copy of F for every file F (absolute paths). Files already there with the
 * same bytes are used as they are. On failure, removes what this call created. Once a file in
 * the way differs, it creates nothing more but still compares the rest, so that the result
 * names every stale file at once.
 */
export async function installProgramCopy(jail: string, files: readonly string[]): Promise<CopyResult> {
  const manifest = await readManifest(jail);
  const ourFiles = listed(manifest, 'f');
  const ourDirs = directoryOpener(jail, listed(manifest, 'd'));
  const madeDirs: string[] = [];
  const madeFiles: string[] = [];
  const conflicts: Array<{ readonly file: string; readonly ours: boolean }> = [];
  let reused = 0;
  const ensureDir = async (dir: string): Promise<void> => {
    const target = join(jail, dir);
    const stat = await look(target);
    if (stat !== null) {
      if (stat.isSymbolicLink() || !stat.isDirectory()) throw new CopyFailure(`${target} is not a directory`);
      return;
    }
    try {
      await mkdir(target, { mode: FILLING_DIR_MODE });
    } catch (error) {
      if (code(error) === 'EEXIST') return ensureDir(dir);
      throw error;
    }
    await chmod(target, FILLING_DIR_MODE);
    madeDirs.push(dir);
    await record(jail, { kind: 'd', path: dir });
  };
  try {
    for (const file of files) {
      if (!isCleanAbsolute(file)) throw new CopyFailure(`${file}: not an absolute, normalised path`);
      if (!(await noLinksBelow(jail, file)))
        throw new CopyFailure(`a symbolic link is in the way of ${join(jail, file)}`);
      const target = join(jail, file);
      const bytes = await readFile(file);
      if (conflicts.length === 0) {
        for (const dir of ancestors(file)) await ensureDir(dir);
        if ((await look(target)) === null) {
          await ourDirs.open(dirname(file));
          if (await placeFile(target, bytes)) {
            madeFiles.push(file);
            await record(jail, { kind: 'f', path: file });
            continue;
          }
        }
      }
      const existing = await look(target);
      if (existing === null && conflicts.length > 0) continue;
      if (existing === null || !existing.isFile() || !(await sameBytes(target, bytes))) {
        conflicts.push({ file, ours: ourFiles.has(file) && existing?.isFile() === true });
        continue;
      }
      reused += 1;
    }
    const [first] = conflicts;
    if (first !== undefined) {
      const foreign = conflicts.find((conflict) => !conflict.ours);
      const shown = foreign ?? first;
      const more = conflicts.length > 1 ? ` (${conflicts.length} files differ)` : '';
      throw new CopyFailure(
        `${join(jail, shown.file)} exists and differs from ${shown.file}${more}`,
        foreign === undefined ? conflicts.map((conflict) => conflict.file) : [],
      );
    }
    for (const dir of madeDirs) await chmod(join(jail, dir), COPY_DIR_MODE);
    return { ok: true, created: madeDirs.length + madeFiles.length, reused };
  } catch (error) {
    await removeEntries(jail, [
      ...madeDirs.map((path) => ({ kind: 'd' as const, path })),
      ...madeFiles.map((path) => ({ kind: 'f' as const, path })),
    ]);
    if (error instanceof CopyFailure) return { ok: false, message: error.message, stale: error.stale };
    return { ok: false, message: errnoText(error), stale: [] };
  } finally {
    await ourDirs.restore();
  }
}

/**
 * Removes files of an earlier copy (installProgramCopy's `stale`): only those the manifest lists
 * as files we made, only regular files, never through a symbolic link; the manifest then lists
 * what is left. The caller makes sure that no engine still uses them.
 */
export async function removeStaleFiles(jail: string, files: readonly string[]): Promise<RemoveResult> {
  const manifest = await readManifest(jail);
  const ourFiles = listed(manifest, 'f');
  const ourDirs = directoryOpener(jail, listed(manifest, 'd'));
  const gone = new Set<string>();
  let kept = 0;
  try {
    for (const file of new Set(files)) {
      if (!ourFiles.has(file)) continue;
      if (!(await noLinksBelow(jail, file))) {
        kept += 1;
        continue;
      }
      const target = join(jail, file);
      const stat = await look(target);
      if (stat === null) {
        gone.add(file);
        continue;
      }
      if (!stat.isFile()) {
        kept += 1;
        continue;
      }
      await ourDirs.open(dirname(file));
      try {
        await unlink(target);
        gone.add(file);
      } catch (error) {
        if (code(error) === 'ENOENT') gone.add(file);
        else kept += 1;
      }
    }
  } finally {
    await ourDirs.restore();
  }
  await writeManifest(
    jail,
    manifest.filter((entry) => entry.kind !== 'f' || !gone.has(entry.path)),
  );
  return { removed: gone.size, kept };
}

/** Removes the listed files, then the listed directories that are empty; returns what stayed. */
async function removeEntries(jail: string, entries: readonly ManifestEntry[]): Promise<ManifestEntry[]> {
  const kept: ManifestEntry[] = [];
  const safeDirs: ManifestEntry[] = [];
  const deepestFirst = entries
    .filter((entry) => entry.kind === 'd')
    .sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const entry of deepestFirst) {
    const stat = (await noLinksBelow(jail, entry.path)) ? await look(join(jail, entry.path)) : null;
    if (stat !== null && stat.isDirectory()) safeDirs.push(entry);
  }
  const attempt = async (entry: ManifestEntry, operation: () => Promise<void>): Promise<void> => {
    try {
      await operation();
    } catch (error) {
      if (code(error) !== 'ENOENT') kept.push(entry);
    }
  };
  for (const entry of safeDirs) await attempt(entry, () => chmod(join(jail, entry.path), FILLING_DIR_MODE));
  for (const entry of entries) {
    if (entry.kind !== 'f' || !(await noLinksBelow(jail, entry.path))) continue;
    const target = join(jail, entry.path);
    const stat = await look(target);
    if (stat !== null && stat.isFile()) await attempt(entry, () => unlink(target));
  }
  for (const entry of safeDirs) {
    const target = join(jail, entry.path);
    try {
      await rmdir(target);
    } catch (error) {
      if (code(error) === 'ENOENT') continue;
      kept.push(entry);
      // Not empty: someone else's files are in it. Back to read-only (it may be gone meanwhile).
      await chmod(target, COPY_DIR_MODE).catch(() => undefined);
    }
  }
  return kept;
}

/** Removes everything the manifest lists (and the manifest once nothing is left). */
export async function removeProgramCopy(jail: string): Promise<RemoveResult> {
  const entries = await readManifest(jail);
  const kept = await removeEntries(jail, entries);
  await writeManifest(jail, kept);
  return { removed: entries.length - kept.length, kept: kept.length };
}

/** True when every file is in the jail at its own path (the engine asks from inside, jail = /). */
export function programCopyPresent(jail: string, files: readonly string[]): boolean {
  return files.every((file) => {
    try {
      return lstatSync(join(jail, file)).isFile();
    } catch {
      return false;
    }
  });
}
