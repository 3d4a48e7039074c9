/**
 * Polling for a condition, optionally giving up early when a daemon it depends on has exited;
 * waiting for a group of steps that must all end before a failure is reported.
 */
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

/** Waits for every promise, then throws the first failure: nothing is left half-started behind our back. */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
