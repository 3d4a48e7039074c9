/**
 * `miredo-ctl drain`: the graceful stop of a relay, asked for and waited for. It sends SIGTERM to
 * the daemon whose PID file is given (so only root, or whoever may signal the daemon, can) and
 * waits until the process is gone. A relay with an AnnounceTable withdraws its announcement at
 * once, forwards for its DrainTime while routers converge, then stops; any other daemon just
 * stops. The control socket stays read-only: nothing it carries can stop the daemon.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CTL_EXIT } from './ctl-client.js';

/** The longest DrainTime (an hour) and the stop after it. */
const MAX_WAIT_MS = 3_660_000;
const POLL_MS = 100;

export interface DrainOutcome {
  readonly status: number;
  readonly message: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readPid(pidFile: string): number | string {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch (error) {
    return `${pidFile}: the daemon is not running (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : `${pidFile}: not a PID file`;
}

export async function drainDaemon(pidFile: string, write: (line: string) => void): Promise<DrainOutcome> {
  const pid = readPid(pidFile);
  if (typeof pid === 'string') return { status: CTL_EXIT.notRunning, message: pid };
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM')
      return { status: CTL_EXIT.permissionDenied, message: `pid ${pid}: permission denied (root only)` };
    return { status: CTL_EXIT.notRunning, message: `pid ${pid}: the daemon is not running (${code ?? '?'})` };
  }
  const start = Date.now();
  write(`Draining pid ${pid}: withdrawn at once, stopping after its DrainTime\n`);
  while (alive(pid)) {
    if (Date.now() - start > MAX_WAIT_MS)
      return { status: CTL_EXIT.failed, message: `pid ${pid} is still running` };
    await sleep(POLL_MS);
  }
  write(`Stopped after ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  return { status: CTL_EXIT.ok, message: '' };
}
