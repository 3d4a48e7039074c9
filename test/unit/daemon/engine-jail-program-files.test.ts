/**
 * Which files a data-plane worker loads (jail-program-files.ts): followed through ESM and
 * CommonJS specifiers with Node's resolution, plus the package.json files that type them; the
 * real set holds the worker's code and nothing of the engine's or the bootstrap's.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DATAPLANE_FILE,
  NATIVE_ADDON_FILE,
  PISCINA_WORKER_FILE,
  programFiles,
  workerProgramFiles,
} from '../../../src/daemon/jail-program-files.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

test("the worker's files: piscina's worker, our data plane and its imports, zod, the addon", async () => {
  const result = await workerProgramFiles();
  assert.ok(result.ok, result.ok ? '' : result.message);
  const files = new Set(result.files);
  const expected = [
    PISCINA_WORKER_FILE,
    join(dirname(PISCINA_WORKER_FILE), 'common.js'),
    DATAPLANE_FILE,
    NATIVE_ADDON_FILE,
    join(ROOT, 'package.json'),
    join(ROOT, 'dist/src/daemon/ipc.js'),
    join(ROOT, 'dist/src/daemon/tunnel-dataplane.js'),
    join(ROOT, 'dist/src/daemon/server-dataplane.js'),
    join(ROOT, 'dist/src/os/native.js'),
    join(ROOT, 'node_modules/zod/package.json'),
    join(ROOT, 'node_modules/zod/index.js'),
    join(ROOT, 'node_modules/piscina/package.json'),
  ];
  for (const file of expected) assert.ok(files.has(file), `${file} is in the set`);
  for (const file of [
    'dist/src/daemon/engine.js',
    'dist/src/daemon/bootstrap.js',
    'dist/src/daemon/helper.js',
  ])
    assert.ok(!files.has(join(ROOT, file)), `${file} is not`);
  assert.ok(![...files].some((file) => file.includes('/node_modules/pino/')), 'no logger in a worker');
  assert.ok(result.files.every((file) => existsSync(file)));
  assert.deepEqual(result.files, [...files].sort(), 'sorted, no duplicates');
});

function write(root: string, files: Readonly<Record<string, string>>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

function scratch(t: TestContext): string {
  const root = mkdtempSync(join(tmpdir(), 'program-files-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

test('follows ESM and CommonJS specifiers the way Node resolves them', async (t) => {
  const root = scratch(t);
  write(root, {
    'package.json': '{ "type": "module" }\n',
    'main.js': [
      "import { a } from './a.js';",
      'import {',
      '  b,',
      "} from './b.js';",
      "export * from './c.js';",
      "import './side-effect.js';",
      "import { readFileSync } from 'node:fs';",
      "const lazy = () => import('./lazy.js');",
      "// import { gone } from './missing.js';",
      "import cjs from './cjs/index.cjs';",
    ].join('\n'),
    'a.js': 'export const a = 1;\n',
    'b.js': 'export const b = 2;\n',
    'c.js': 'export const c = 3;\n',
    'side-effect.js': '\n',
    'lazy.js': 'export default 4;\n',
    'unused.js': 'export default 5;\n',
    'cjs/index.cjs': "module.exports = require('../legacy/thing');\n",
    'legacy/package.json': '{ "type": "commonjs" }\n',
    'legacy/thing.js': "module.exports = require('./other'); require('node:path');\n",
    'legacy/other.js': 'module.exports = 6;\n',
  });
  const result = await programFiles([join(root, 'main.js')]);
  assert.ok(result.ok);
  const relative = result.files.map((file) => file.slice(root.length + 1));
  assert.deepEqual(relative, [
    'a.js',
    'b.js',
    'c.js',
    'cjs/index.cjs',
    'lazy.js',
    'legacy/other.js',
    'legacy/package.json',
    'legacy/thing.js',
    'main.js',
    'package.json',
    'side-effect.js',
  ]);
});

test('a missing entry is an error, not a partial copy', async (t) => {
  const root = scratch(t);
  const result = await programFiles([join(root, 'nothing.js')]);
  assert.deepEqual(result, { ok: false, message: `${join(root, 'nothing.js')} is missing` });
});
