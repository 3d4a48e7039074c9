/**
 * MIREDO_TS_LAB_WORKERS=N gives our clients and relays `DataplaneWorkers N`, so the same lab
 * tests run with one worker or several (test/integration/lab/tunnel-one-worker.test.ts).
 */
import type { Implementation } from './daemon-config.js';

export const LAB_WORKERS_ENV = 'MIREDO_TS_LAB_WORKERS';

/** The daemon's extra configuration lines: the caller's, then DataplaneWorkers from the environment. */
export function tunnelExtra(
  impl: Implementation,
  extraConfig: readonly string[] | undefined,
): { readonly extra?: readonly string[] } {
  const workers = process.env[LAB_WORKERS_ENV];
  const extra = [
    ...(extraConfig ?? []),
    ...(impl === 'ours' && workers !== undefined && /^\d+$/.test(workers)
      ? [`DataplaneWorkers ${workers}`]
      : []),
  ];
  return extra.length === 0 ? {} : { extra };
}
