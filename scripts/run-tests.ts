/**
 * `npm test`'s runner: `node --test` over every compiled test file, listed by name.
 *
 * Why not `node --test dist/test/`: a directory's discovery rules differ between Node.js lines
 * (Node 20 takes every .js file under a `test` directory, later lines only the test-name
 * patterns), so the same suite ran 940 tests on Node 20 and 913 on Node 26, and Node 20's
 * `--test` takes no glob. Listing `*.test.js` ourselves gives every line the same files.
 *
 * Usage: node dist/scripts/run-tests.js [DIR...] [-- NODE_TEST_OPTION...]
 * (DIR defaults to dist/test; the options go to `node --test`, e.g. --test-name-pattern=...).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEST_FILE = /\.test\.js$/;

/** Every `*.test.js` below `dir`, sorted, relative to the package root. */
export function listTestFiles(dir: string): string[] {
  const absolute = join(ROOT, dir);
  return readdirSync(absolute, { recursive: true, encoding: 'utf8' })
    .filter((name) => TEST_FILE.test(name))
    .map((name) => relative(ROOT, join(absolute, name)))
    .sort();
}

function main(argv: readonly string[]): void {
  const split = argv.indexOf('--');
  const dirs = split < 0 ? argv : argv.slice(0, split);
  const options = split < 0 ? [] : argv.slice(split + 1);
  const files = (dirs.length > 0 ? dirs : ['dist/test']).flatMap(listTestFiles);
  if (files.length === 0) {
    process.stderr.write(`run-tests: no *.test.js file under ${dirs.join(' ')}\n`);
    process.exit(1);
  }
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...options, ...files], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  // Ctrl-C reaches the whole foreground process group; SIGTERM is passed on so that the tests'
  // own cleanup (namespaces, daemons) runs.
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGINT', () => undefined);
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128 + 15)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
