/**
 * Bundles the daemons' entry points (after `tsc`) into one file each, under dist/bundle/: the bundle of
 * dist/src/DIR/NAME.js is dist/bundle/DIR/NAME.js (the data plane's: .cjs).
 *
 * Why: Node 20 has no compile cache for ES modules, and loading our ~150 compiled modules plus
 * zod's and pino's took 100-200 ms in each of the bootstrap, the engine and every data-plane
 * worker, all of it before the first Router Solicitation. One file per process halves that.
 *
 * The bundles sit three directories below the package root, like dist/src/os/native.js, so the
 * addon's relative path (build/Release/) resolves the same way from both layouts, and so does the
 * bootstrap's path to the engine's entry point (../engine/main.js). posix stays external: it is
 * an addon.
 *
 * dataplane.cjs is different: the engine reads it into memory before its chroot and runs every
 * data-plane thread from that text (src/engine/dataplane-program.ts), so it has no file location
 * and must be self-contained: no external, no createRequire(import.meta.url) banner; the addon
 * is loaded through process.dlopen with a path the engine passes. It is a CommonJS script, which
 * a Worker evaluates from source text (`eval: true`, where require() serves Node's built-ins):
 * measured here, a thread starts ~100 ms sooner that way than from the same code as a `data:`
 * URL module, and as soon as from a file.
 */
import { build } from 'esbuild';
import type { Plugin } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BUNDLE_DIR = `${ROOT}dist/bundle`;

/** Bundle name (its path under dist/bundle/, without extension) → entry point (compiled). */
const ENTRIES: Readonly<Record<string, string>> = {
  'cli/miredo': 'dist/src/cli/miredo.js',
  'cli/miredo-server': 'dist/src/cli/miredo-server.js',
  'cli/miredo-checkconf': 'dist/src/cli/miredo-checkconf.js',
  'cli/miredo-ctl': 'dist/src/cli/miredo-ctl.js',
};
const ENGINE_ENTRY = 'dist/src/engine/main.js';
const DATAPLANE_ENTRY = 'dist/src/dataplane/main.js';

// CommonJS dependencies (pino) call require() for Node's built-ins: give the ES module bundle one.
const REQUIRE_BANNER =
  "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);";

/**
 * zod re-exports every one of its ~50 message locales (`z.locales`, `core.locales`) from one
 * index module, which esbuild cannot drop: a third of each bundle (392 KB of the bootstrap's 1.16
 * MB), parsed and evaluated by every process and thread before the first solicitation. Nothing of
 * ours reads `locales` (zod's default messages come from its `en` module, imported apart), so the
 * index is replaced by one that exports `en` alone. Measured on the data-plane bundle: see README's
 * Benchmarks section.
 */
const ZOD_ENGLISH_ONLY: Plugin = {
  name: 'zod-english-only',
  setup(on) {
    on.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '../locales/index.js'), namespace: 'zod-english-only' }
        : undefined,
    );
    on.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

const COMMON = {
  absWorkingDir: ROOT,
  outdir: BUNDLE_DIR,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  metafile: false,
  plugins: [ZOD_ENGLISH_ONLY] as Plugin[],
} as const;

rmSync(BUNDLE_DIR, { recursive: true, force: true });
const results = await Promise.all([
  build({
    ...COMMON,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, `${ROOT}${file}`])),
    external: ['posix'],
    banner: { js: REQUIRE_BANNER },
  }),
  // The engine's entry point starts the data-plane threads before it imports the rest
  // (src/engine/main.ts): split at that import, main.js is a few kilobytes that V8 compiles at
  // once, and the rest (engine-HASH.js and a shared chunk beside it, all in dist/bundle/engine/,
  // read before the chroot) is compiled while the threads boot, instead of before they start.
  build({
    ...COMMON,
    entryPoints: { 'engine/main': `${ROOT}${ENGINE_ENTRY}` },
    splitting: true,
    chunkNames: 'engine/[name]-[hash]',
    external: ['posix'],
    banner: { js: REQUIRE_BANNER },
  }),
  // Compiled afresh by every new thread (first ones and replacements): a smaller text starts
  // faster (measured: about 60 ms less per thread here). Names are kept for readable stacks.
  build({
    ...COMMON,
    format: 'cjs',
    entryPoints: { 'dataplane/main': `${ROOT}${DATAPLANE_ENTRY}` },
    outExtension: { '.js': '.cjs' },
    minifyWhitespace: true,
    minifySyntax: true,
    // native.ts reads import.meta.url only when workerData lacks the addon path, which the
    // engine always gives its data-plane threads.
    logOverride: { 'empty-import-meta': 'silent' },
  }),
]);
if (results.some((result) => result.errors.length > 0)) process.exit(1);
