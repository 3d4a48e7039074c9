/**
 * The data-plane program held in memory (dataplane-program.ts): a thread starts from it even
 * once its file is gone (as inside the jail), loads the addon by the path it is given, and the
 * errors it reports name the bundle file it came from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATAPLANE_BUNDLE, loadDataplaneProgram } from '../../../src/engine/dataplane-program.js';

test('a thread runs from memory once the file is gone; its errors are short and name the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dataplane-program-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const copy = join(dir, 'dataplane.cjs');
  copyFileSync(DATAPLANE_BUNDLE, copy);
  const program = loadDataplaneProgram(copy);
  rmSync(dir, { recursive: true, force: true });

  const thread = program.startThread();
  const errors: Error[] = [];
  thread.worker.on('error', (error: Error) => errors.push(error));
  // Not a task: the thread got as far as parsing its first message (its modules and the addon
  // loaded), then ends with the reason.
  thread.worker.postMessage({ workerIndex: 0 });
  assert.match(await thread.ended, /^invalid data-plane task: /);
  const [error] = errors;
  assert.ok(error?.stack !== undefined);
  assert.ok(error.stack.length < 4096, `a stack of ${error.stack.length} characters`);
  assert.match(error.stack, /dataplane\.cjs:\d+:\d+/);
});
