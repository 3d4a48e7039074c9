/**
 * A bug in the root bootstrap (an uncaught exception or an unhandled rejection) does not leave
 * a mess (issue 11, finding 2): it is logged, the engine is stopped, its changes to the interface
 * are reverted, the resources closed, the PID file removed, and the exit status is 1; when that
 * cleanup hangs, the last resort still kills the engine and removes the PID file.
 * The bootstrap runs in its own process (bootstrap-fatal-child.ts) with a fake kernel.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FATAL_ENV } from './bootstrap-fatal-child.js';

const CHILD = fileURLToPath(new URL('./bootstrap-fatal-child.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly lines: ReadonlyArray<Record<string, unknown>>;
  readonly pidFile: string;
}

/**
 * Whether `pid` still exists 5 s from now. A process killed by SIGKILL answers kill(0) until its
 * new parent reaps it, which took over 500 ms on a machine under load; an engine that was never
 * killed stays alive however long the bound.
 */
async function stillAlive(pid: number): Promise<boolean> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    if (Date.now() > deadline) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function runChild(t: TestContext, mode: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'mts-fatal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'relay.conf');
  // MTU 1283: the fake engine asks for 2001::1/128 once ready.
  writeFileSync(conf, 'RelayType cone\nInterfaceName teredo\nInterfaceMTU 1283\nBindPort 3545\n');
  const pidFile = join(dir, 'miredo.pid');
  // The fake engine never chroots; the jail only has to pass the bootstrap's ownership check.
  const child = spawn(process.execPath, [CHILD, '-f', '-c', conf, '-p', pidFile, '-u', 'nobody', '-t', '/'], {
    env: { ...process.env, [FATAL_ENV]: mode },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (text += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  const lines = text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code, lines, pidFile };
}

function enginePid(run: Run): number {
  const ready = run.lines.find((l) => /^Engine \d+ ready$/.test(String(l['msg'])));
  assert.ok(ready, 'the engine became ready');
  return Number(ready['child']);
}

function osCalls(run: Run): readonly string[] {
  const line = run.lines.find((l) => l['msg'] === 'harness: os calls');
  assert.ok(line, 'the kernel calls were reported');
  return line['calls'] as string[];
}

for (const [mode, message] of [
  ['uncaught', 'injected exception'],
  ['rejection', 'injected rejection'],
] as const) {
  test(`${mode}: logged, engine stopped, interface reverted, PID file removed, status 1`, async (t) => {
    const run = await runChild(t, mode);
    assert.equal(run.code, 1);
    const critical = run.lines.find(
      (l) => l['level'] === 60 && String(l['msg']).startsWith('Internal error'),
    );
    assert.ok(critical, 'logged at critical level');
    assert.match(String(critical['msg']), new RegExp(message));
    assert.equal(await stillAlive(enginePid(run)), false, 'the engine is gone');
    assert.equal(existsSync(run.pidFile), false, 'PID file removed');
    const calls = osCalls(run);
    const added = calls.indexOf('addAddress6 7 2001::1/128');
    assert.ok(added !== -1, calls.join('\n'));
    assert.ok(calls.indexOf('delAddress6 7 2001::1/128') > added, "the engine's address is removed");
    // closeResources: the relay's static route and address go, then every descriptor is closed.
    assert.ok(calls.includes('delRoute6 7 2001::/32 1024'), calls.join('\n'));
    assert.ok(
      calls.some((call) => call.startsWith('closeFd')),
      calls.join('\n'),
    );
    assert.ok(run.lines.some((l) => l['msg'] === 'Terminated with error(s).'));
  });
}

test('when the cleanup itself hangs, the last resort kills the engine and removes the PID file', async (t) => {
  const run = await runChild(t, 'stuck');
  assert.equal(run.code, 1);
  assert.ok(
    run.lines.some(
      (l) => l['level'] === 60 && /^Cleanup did not finish within 1000 ms/.test(String(l['msg'])),
    ),
  );
  assert.equal(await stillAlive(enginePid(run)), false, 'the engine is gone');
  assert.equal(existsSync(run.pidFile), false, 'PID file removed');
});
