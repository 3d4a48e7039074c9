/** The fleet tests' handle on a relay's engine process, to stop, resume or kill it alone. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { LabDaemon } from '../../../scripts/lab/index.js';

/** The engine: the bootstrap's only child. */
export function enginePid(relay: LabDaemon): number {
  const pid = Number(
    execFileSync('pgrep', ['-P', String(relay.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  );
  assert.ok(pid > 1, `the engine of ${relay.node}`);
  return pid;
}
