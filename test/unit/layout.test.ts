/**
 * The layout of src/ is the design (README, "Architecture"): one folder per process (bootstrap,
 * engine, dataplane) over shared layers (ipc, config, log, os, teredo), cli on top. This checks
 * what eslint's import rules check file by file, over the whole graph: every import goes the
 * allowed way, no import circle, no source file over 400 lines, and a comment saying why on
 * every function over 80 lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import { longFunctions, sourceFiles } from '../../scripts/source-layout.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const files = sourceFiles(ROOT);

/**
 * What each folder of src/ may import besides itself: eslint's table (eslint.config.js), with
 * src/version.ts named as folderOf names it.
 */
const eslintConfig = (await import(new URL('eslint.config.js', pathToFileURL(ROOT)).href)) as {
  readonly LAYERS: Readonly<Record<string, readonly string[]>>;
};
const ALLOWED: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(eslintConfig.LAYERS).map(([folder, allowed]) => [
    folder,
    allowed.map((name) => name.replace(/\.js$/, '.ts')),
  ]),
);

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

test('npm run lint refuses a wrong-way import in any folder, type-only ones included', async () => {
  const eslint = new ESLint({ cwd: ROOT });
  const lint = async (path: string, code: string): Promise<string[]> => {
    const [result] = await eslint.lintText(code, { filePath: `${ROOT}${path}` });
    return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
  };
  const refused = [
    ['src/teredo/x.ts', "import { parseIPv4 } from '../config/values.js'; export const x = parseIPv4;"],
    ['src/teredo/x.ts', "import { statSync } from 'node:fs'; export const x = statSync;"],
    [
      'src/os/x.ts',
      "import { TEREDO_CONSTANTS } from '../teredo/constants.js'; export const x = TEREDO_CONSTANTS;",
    ],
    [
      'src/log/x.ts',
      "import type { DaemonSettings } from '../config/settings-schema.js'; export type X = DaemonSettings;",
    ],
    [
      'src/ipc/x.ts',
      "import { spawnEngine } from '../bootstrap/engine-process.js'; export const x = spawnEngine;",
    ],
    [
      'src/engine/x.ts',
      "import { decideHelperRequest } from '../bootstrap/helper-policy.js'; export const x = decideHelperRequest;",
    ],
    ['src/dataplane/x.ts', "export { createEngine } from '../engine/engine.js';"],
    [
      'src/bootstrap/x.ts',
      "import { readingRefusal } from '../dataplane/reading-check.js'; export const x = readingRefusal;",
    ],
  ];
  for (const [path, code] of refused)
    assert.ok((await lint(path ?? '', code ?? '')).includes('no-restricted-imports'), `${path}: ${code}`);
  const allowed =
    "import { TEREDO_CONSTANTS } from '../teredo/constants.js'; export const x = TEREDO_CONSTANTS;";
  assert.deepEqual(await lint('src/engine/x.ts', allowed), []);
});
