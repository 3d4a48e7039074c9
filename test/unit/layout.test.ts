/**
 * The layout of src/ is the design (README, "Architecture"): one folder per process (bootstrap,
 * engine, dataplane) over shared layers (ipc, config, log, os, teredo), cli on top. This checks
 * what eslint's import rules check file by file, over the whole graph: every import goes the
 * allowed way, no import circle, no source file over 400 lines, and a comment saying why on
 * every function over 80 lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { longFunctions, sourceFiles } from '../../scripts/source-layout.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const files = sourceFiles(ROOT);

/** What each folder of src/ may import besides itself (src/version.ts: anyone but teredo and os). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  teredo: [],
  os: [],
  log: ['os'],
  config: ['teredo', 'log', 'version.ts'],
  ipc: ['teredo', 'os', 'log', 'config'],
  bootstrap: ['teredo', 'os', 'log', 'config', 'ipc', 'version.ts'],
  engine: ['teredo', 'os', 'log', 'config', 'ipc'],
  dataplane: ['teredo', 'os', 'log', 'config', 'ipc'],
  cli: ['bootstrap', 'config', 'version.ts'],
};

/** src/engine/engine.ts → engine; src/version.ts → version.ts. */
function folderOf(path: string): string {
  return path.split('/')[1] ?? path;
}

test('every folder of src/ is a known layer or process', () => {
  const unknown = [...new Set(files.map((file) => folderOf(file.path)))].filter(
    (folder) => folder !== 'version.ts' && !Object.hasOwn(ALLOWED, folder),
  );
  assert.deepEqual(unknown, []);
});

test('imports go only the allowed ways', () => {
  const wrong = files.flatMap((file) => {
    const from = folderOf(file.path);
    const allowed = ALLOWED[from] ?? [];
    return file.imports
      .filter((target) => {
        const to = folderOf(target);
        return to !== from && !allowed.includes(to);
      })
      .map((target) => `${file.path} -> ${target}`);
  });
  assert.deepEqual(wrong, []);
});

test('no import circle, type-only imports included', () => {
  const graph = new Map(files.map((file) => [file.path, file.imports]));
  const circles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (path: string): void => {
    state.set(path, 'open');
    stack.push(path);
    for (const next of graph.get(path) ?? []) {
      if (state.get(next) === 'open')
        circles.push(stack.slice(stack.indexOf(next)).concat(next).join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(path, 'done');
  };
  for (const path of graph.keys()) if (!state.has(path)) visit(path);
  assert.deepEqual(circles, []);
});

test('no source file over 400 lines', () => {
  const long = files.filter((file) => file.lines > 400).map((file) => `${file.path}: ${file.lines}`);
  assert.deepEqual(long, []);
});

test('a function over 80 lines says why in its comment ("Longer than 80 lines: ...")', () => {
  const unexplained = longFunctions(ROOT, 80)
    .filter((found) => !found.comment.includes('Longer than 80 lines:'))
    .map((found) => `${found.path}:${found.line} ${found.name} (${found.lines} lines)`);
  assert.deepEqual(unexplained, []);
});

test('the checks see the imports they judge', () => {
  const engine = files.find((file) => file.path === 'src/engine/engine.ts');
  assert.ok(engine?.imports.includes('src/ipc/channel.ts'));
  assert.ok(files.some((file) => file.path === 'src/os/native/packet_io.cc'));
});
