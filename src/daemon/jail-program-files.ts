/**
 * The files a data-plane worker thread loads when it starts: piscina's worker script, our
 * data-plane task and everything they import (our compiled modules, zod, the native addon), plus
 * the package.json files Node reads to resolve and type them. The bootstrap copies exactly these
 * into the engine's jail so that a crashed worker can be replaced after the chroot.
 *
 * Found by following import/export/require specifiers in the sources (compiled tsc output and
 * the dependencies' published files), not by running them; the integration test
 * test/integration/daemon/worker-crash.test.ts proves the set is enough.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The data-plane task module (engine-main.ts hands the same path to the pool). */
export const DATAPLANE_FILE = fileURLToPath(new URL('./dataplane.js', import.meta.url));
/** What piscina starts every worker thread with (it resolves it next to its own main file). */
export const PISCINA_WORKER_FILE = join(dirname(require.resolve('piscina')), 'worker.js');
/** Loaded by src/os/native.ts through createRequire, with a computed path the scan cannot see. */
export const NATIVE_ADDON_FILE = fileURLToPath(
  new URL('../../../build/Release/miredo_native.node', import.meta.url),
);

export const WORKER_ENTRY_FILES: readonly string[] = [PISCINA_WORKER_FILE, DATAPLANE_FILE];

export type ProgramFiles =
  { readonly ok: true; readonly files: readonly string[] } | { readonly ok: false; readonly message: string };

type ModuleKind = 'esm' | 'cjs' | 'data';

const ESM_STATIC = /\b(?:import|export)\s+(?:[\w*${}\s,]*?\s+from\s*)?['"]([^'"\n]+)['"]/g;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g;
const REQUIRE_CALL = /\brequire\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g;

/** The package.json that decides how Node treats `file`, or null when there is none. */
function scopeOf(file: string): string | null {
  let dir = dirname(file);
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

async function kindOf(file: string, scope: string | null): Promise<ModuleKind> {
  if (file.endsWith('.mjs')) return 'esm';
  if (file.endsWith('.cjs')) return 'cjs';
  if (!file.endsWith('.js')) return 'data';
  if (scope === null) return 'cjs';
  const type = (JSON.parse(await readFile(scope, 'utf8')) as { readonly type?: unknown }).type;
  return type === 'module' ? 'esm' : 'cjs';
}

function specifiers(source: string, kind: ModuleKind): string[] {
  const patterns = kind === 'esm' ? [ESM_STATIC, DYNAMIC_IMPORT] : [REQUIRE_CALL, DYNAMIC_IMPORT];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''));
}

/**
 * Where `specifier`, imported by `importer`, leads; null for a built-in or for what cannot be
 * resolved (the scan also sees specifiers inside comments and strings: those are skipped).
 */
function resolveSpecifier(specifier: string, importer: string, kind: ModuleKind): string | null {
  if (specifier === '' || isBuiltin(specifier)) return null;
  try {
    if (kind === 'cjs') {
      const found = createRequire(importer).resolve(specifier);
      return isAbsolute(found) ? found : null;
    }
    if (specifier.startsWith('file:')) return fileURLToPath(specifier);
    if (specifier.startsWith('.') || specifier.startsWith('/')) return resolve(dirname(importer), specifier);
    // A bare specifier: every package we load lives in this program's one node_modules tree.
    return fileURLToPath(import.meta.resolve(specifier));
  } catch {
    return null;
  }
}

/**
 * Every file the entries load, with the package.json files in scope, sorted; absolute paths.
 * Asynchronous: the root bootstrap runs it while it serves the engine.
 */
export async function programFiles(
  entries: readonly string[],
  extras: readonly string[] = [],
): Promise<ProgramFiles> {
  const found = new Set<string>();
  const pending = [...entries];
  const isFile = (file: string): boolean => {
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  for (const file of [...entries, ...extras]) {
    if (!isFile(file)) return { ok: false, message: `${file} is missing` };
  }
  for (const extra of extras) found.add(extra);
  while (pending.length > 0) {
    const file = pending.pop();
    if (file === undefined || found.has(file)) continue;
    found.add(file);
    const scope = scopeOf(file);
    if (scope !== null) found.add(scope);
    const kind = await kindOf(file, scope);
    if (kind === 'data') continue;
    for (const specifier of specifiers(await readFile(file, 'utf8'), kind)) {
      const target = resolveSpecifier(specifier, file, kind);
      if (target !== null && !found.has(target) && isFile(target)) pending.push(target);
    }
  }
  return { ok: true, files: [...found].sort() };
}

/** The data-plane worker's files in this installation. */
export function workerProgramFiles(): Promise<ProgramFiles> {
  return programFiles(WORKER_ENTRY_FILES, [NATIVE_ADDON_FILE]);
}
