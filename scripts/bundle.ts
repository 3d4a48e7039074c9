/**
 * Bundles the daemons' entry points (after `tsc`) into one file each, under dist/bundle/daemon/.
 *
 * Why: Node 20 has no compile cache for ES modules, and loading our ~150 compiled modules plus
 * zod's and pino's took 100-200 ms in each of the bootstrap, the engine and every data-plane
 * worker, all of it before the first Router Solicitation. One file per process halves that.
 *
 * The bundles sit three directories below the package root, like dist/src/os/native.js, so the
 * addon's relative path (build/Release/) and every `new URL('./x.js', import.meta.url)` between
 * entry points (engine-main.js, dataplane.js) resolve the same way from both layouts. piscina
 * and posix stay external: piscina starts its own worker script by path, posix is an addon.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BUNDLE_DIR = `${ROOT}dist/bundle/daemon`;

/** Entry point (compiled) → bundle name. */
const ENTRIES: Readonly<Record<string, string>> = {
  miredo: 'dist/src/cli/miredo.js',
  'miredo-server': 'dist/src/cli/miredo-server.js',
  'miredo-checkconf': 'dist/src/cli/miredo-checkconf.js',
  'engine-main': 'dist/src/daemon/engine-main.js',
  dataplane: 'dist/src/daemon/dataplane.js',
};

// CommonJS dependencies (pino) call require() for Node's built-ins: give the ES module bundle one.
const REQUIRE_BANNER =
  "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);";

rmSync(BUNDLE_DIR, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, `${ROOT}${file}`])),
  outdir: BUNDLE_DIR,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['piscina', 'posix'],
  banner: { js: REQUIRE_BANNER },
  logLevel: 'warning',
  metafile: false,
});
if (result.errors.length > 0) process.exit(1);
