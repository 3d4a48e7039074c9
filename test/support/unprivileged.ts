/**
 * Data-plane workers refuse to read as uid 0 (src/dataplane/reading-check.ts), whatever the engine
 * says. Unit tests that run real workers behind a recorded privilege drop must therefore run
 * unprivileged: as root, the test file runs again as nobody in a child process (one test here,
 * which passes when all of the child's pass), and its own tests are skipped in this process.
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

export const NOBODY = 65534;

/** For `test(name, { skip: unprivilegedOnly(import.meta.url) }, ...)` in the file at `fileUrl`. */
export function unprivilegedOnly(fileUrl: string): string | false {
  if (process.getuid?.() !== 0) return false;
  const file = fileURLToPath(fileUrl);
  test(`${basename(file)}, run again as nobody (data-plane workers refuse uid 0)`, async () => {
    const env = { ...process.env };
    // Set by a parent test runner for its own children: the child runner must report in plain text.
    delete env['NODE_TEST_CONTEXT'];
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], {
      uid: NOBODY,
      gid: NOBODY,
      env,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0, `${output}\n(nobody must be able to read the repository and run node)`);
  });
  return 'runs again as nobody';
}
