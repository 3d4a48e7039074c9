/**
 * The client hook's timeout ends the hook's whole process group (issue 11, finding 7): a real
 * hook script (no root needed) that backgrounds a `sleep` holding its output no longer keeps the
 * helper's queue past the timeout, and the background process is gone afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createClientHook, systemHookRunner } from '../../../src/bootstrap/client-hook.js';
import { captureLog } from '../../support/fakes.js';

const TIMEOUT_MS = 1000;
/** Far beyond the timeout: what the run took when only the hook's own pid was killed. */
const SLEEP_SECONDS = 20;
const ENDS_WITHIN_MS = 5000;

/** Whether `pid` still runs (a zombie waiting for its reaper counts as ended). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Another process's end has no event to wait on: look for it for up to two seconds. */
async function ended(pid: number): Promise<boolean> {
  for (let tries = 0; tries < 100; tries++) {
    if (!running(pid)) return true;
    await delay(20);
  }
  return false;
}

describe('client hook timeout', () => {
  let dir = '';
  const leftovers: number[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mts-hook-group-'));
  });

  after(() => {
    for (const pid of leftovers) {
      try {
        if (running(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** A hook that starts `sleep` in the background (stdout inherited) and writes its pid. */
  function hookScript(name: string, tail: string): { script: string; pidFile: string } {
    const script = join(dir, name);
    const pidFile = join(dir, `${name}.pid`);
    writeFileSync(script, `#!/bin/sh\nsleep ${SLEEP_SECONDS} &\necho $! > ${pidFile}\necho started\n${tail}`);
    chmodSync(script, 0o755);
    return { script, pidFile };
  }

  function backgroundPid(pidFile: string): number {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(Number.isInteger(pid) && pid > 1, `background pid ${pid}`);
    leftovers.push(pid);
    return pid;
  }

  for (const [name, tail, what] of [
    ['exits', 'exit 0\n', 'exits at once, leaving the sleep holding its output'],
    ['waits', 'wait\n', 'waits for its background sleep'],
  ] as const) {
    it(`a hook that ${what} ends at the timeout, with the sleep`, async () => {
      const { script, pidFile } = hookScript(name, tail);
      const started = Date.now();
      const outcome = await systemHookRunner(script, {}, TIMEOUT_MS);
      const took = Date.now() - started;
      assert.ok(took >= TIMEOUT_MS - 50, `ended after ${took} ms, before the timeout`);
      assert.ok(took < ENDS_WITHIN_MS, `ended after ${took} ms`);
      assert.equal(outcome.code, null, 'reported as killed at the timeout');
      assert.equal(outcome.output, 'started\n');
      const pid = backgroundPid(pidFile);
      assert.equal(await ended(pid), true, `background sleep ${pid} still runs`);
    });
  }

  it("frees the helper's queue at the timeout: the report fails, the next one runs", async () => {
    const { script, pidFile } = hookScript('queue', 'exit 0\n');
    const { log } = captureLog();
    const hook = createClientHook({
      path: script,
      ifname: 'teredo',
      ifindex: 9,
      log,
      timeoutMs: TIMEOUT_MS,
    });
    const started = Date.now();
    await assert.rejects(hook.report('down', null, 1280), new RegExp(`killed after ${TIMEOUT_MS} ms`));
    const first = backgroundPid(pidFile);
    writeFileSync(script, '#!/bin/sh\necho quick\n');
    await hook.report('down', null, 1280);
    assert.ok(Date.now() - started < ENDS_WITHIN_MS, `both runs took ${Date.now() - started} ms`);
    assert.equal(await ended(first), true);
  });
});
