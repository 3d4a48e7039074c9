/**
 * A copy of what an unprivileged process needs to run this package's compiled code, in a fresh
 * directory under /tmp that every user can read. Root's checkout may sit where other users cannot
 * enter (a clone into /root, mode 700); a test that starts `node` as nobody runs it from here.
 *
 * Copied: package.json (module type), bin/, dist/ (the compiled tests and sources and the bundles
 * the data-plane threads run), build/Release's files (the addon, the engine's launcher) and the production dependencies'
 * closure from node_modules, read from their package.json files.
 */
import { chmod, cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, seen from dist/test/support/. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface NobodyCopy {
  /** The copy's package root. */
  readonly root: string;
  /** Where `path` (a file or directory of this checkout) is in the copy. */
  at(path: string): string;
  remove(): Promise<void>;
}

interface Manifest {
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

async function manifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Names of the packages `npm install --omit=dev` would need (hoisted layout), root excluded. */
export async function productionPackages(root: string = PACKAGE_ROOT): Promise<string[]> {
  const found = new Set<string>();
  const pending = Object.keys((await manifest(root)).dependencies ?? {});
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const dir = join(root, 'node_modules', name);
    // A version nested under its dependent's own node_modules comes along with that dependent.
    if (found.has(name) || !existsSync(dir)) continue;
    found.add(name);
    const { dependencies = {}, optionalDependencies = {} } = await manifest(dir);
    pending.push(...Object.keys(dependencies), ...Object.keys(optionalDependencies));
  }
  return [...found].sort();
}

export async function copyForNobody(): Promise<NobodyCopy> {
  const root = await mkdtemp('/tmp/mts-');
  try {
    await chmod(root, 0o755);
    await cp(join(PACKAGE_ROOT, 'package.json'), join(root, 'package.json'));
    for (const dir of ['bin', 'dist']) {
      await cp(join(PACKAGE_ROOT, dir), join(root, dir), { recursive: true });
    }
    const release = join(PACKAGE_ROOT, 'build', 'Release');
    // The addon and the engine's launcher (miredo_engine_launch), not the build's object files.
    for (const entry of await readdir(release, { withFileTypes: true })) {
      if (entry.isFile()) await cp(join(release, entry.name), join(root, 'build', 'Release', entry.name));
    }
    for (const name of await productionPackages()) {
      await cp(join(PACKAGE_ROOT, 'node_modules', name), join(root, 'node_modules', name), {
        recursive: true,
        verbatimSymlinks: true,
      });
    }
    // Copies keep their modes; a checkout made under umask 077 would leave them root's only.
    await makeReadable(root);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return {
    root,
    at: (path) => join(root, relative(PACKAGE_ROOT, path)),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** chmod a+rX, recursively. */
async function makeReadable(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await chmod(path, 0o755);
      await makeReadable(path);
    } else if (entry.isFile()) {
      const ownerExecutes = ((await stat(path)).mode & 0o100) !== 0;
      await chmod(path, ownerExecutes ? 0o755 : 0o644);
    }
  }
}
