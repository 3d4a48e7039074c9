/** Polling for a condition, optionally giving up early when a daemon it depends on has exited. */
import { setTimeout as sleep } from 'node:timers/promises';
import { formatExit } from './daemon.js';
import type { LabDaemon } from './daemon.js';

export const POLL_INTERVAL_MS = 25;

/** Calls `probe` until it returns something other than undefined; rejects at the deadline. */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  daemon?: LabDaemon,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    const status = daemon?.status ?? null;
    if (daemon !== undefined && status !== null) {
      throw new Error(
        `${daemon.node}: exited (${formatExit(status)}) while waiting for ${what}\n${daemon.transcript()}`,
      );
    }
    if (Date.now() >= deadline) {
      const log = daemon === undefined ? '' : `\n${daemon.transcript()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${log}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}
