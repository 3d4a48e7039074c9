/**
 * Data-plane workers refuse to read as uid 0 (src/dataplane/reading-check.ts), whatever the engine
 * says. Unit tests that run real workers behind a recorded privilege drop must therefore run
 * unprivileged: as root, the test file runs again as nobody in a child process (one test here,
 * which passes when all of the child's pass), and those tests are not registered in this process.
 *
 * The child runs from a copy (nobody-copy.ts), not from the checkout, which root may keep where
 * nobody cannot enter.
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { test } from 'node:test';
import type { TestContext, TestOptions } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { copyForNobody } from './nobody-copy.js';

export const NOBODY = 65534;

type TestBody = (t: TestContext) => void | Promise<void>;

/**
 * `test` for the tests of the file at `fileUrl` that run real data-plane workers: node:test's own
 * when not root; as root, it registers nothing and the whole file runs again as nobody instead
 * (one test here), so that no test shows as skipped.
 */
export function unprivilegedTest(
  fileUrl: string,
): (name: string, options: TestOptions, body: TestBody) => void {
  if (process.getuid?.() !== 0) {
    return (name, options, body) => {
      void test(name, options, body);
    };
  }
  rerunAsNobody(fileURLToPath(fileUrl));
  return () => undefined;
}

function rerunAsNobody(file: string): void {
  test(`${basename(file)}, run again as nobody (data-plane workers refuse uid 0)`, async () => {
    const copy = await copyForNobody();
    try {
      const env = { ...process.env };
      // Set by a parent test runner for its own children: the child runner must report in plain text.
      delete env['NODE_TEST_CONTEXT'];
      const child = spawn(process.execPath, ['--test', '--test-reporter=spec', copy.at(file)], {
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
      assert.equal(code, 0, `${output}\n(run as nobody from ${copy.root})`);
      assert.doesNotMatch(output, /^ℹ skipped [1-9]/m, `the run as nobody skipped tests:\n${output}`);
    } finally {
      await copy.remove();
    }
  });
}
