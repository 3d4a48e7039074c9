/**
 * How the bootstrap starts the engine: where the engine finds its channel and descriptors, its
 * one command-line argument, and the one environment variable the bootstrap may pass on.
 */
import { MAX_DATAPLANE_WORKERS } from '../teredo/constants.js';

/** stdin, stdout and stderr, then the channel to the bootstrap (a socket: channel.ts). */
export const CHANNEL_FD = 3;
/** The descriptors of `init` (TUN queues, UDP sockets, raw socket, discovery socket) start here, in that order. */
export const FIRST_PASSED_FD = 4;

/**
 * Set in the root bootstrap's environment, it enables `worker-fault` (tests only): "1" makes
 * SIGUSR2 to the engine crash a worker, "wedge" makes it block the worker's thread for good.
 */
export const FAULT_INJECTION_ENV = 'MIREDO_TS_FAULT_INJECTION';

export type InjectedFault = 'crash' | 'wedge';

/** The fault SIGUSR2 injects under this environment value, or null when injection is off. */
export function injectedFault(value: string | undefined): InjectedFault | null {
  if (value === '1') return 'crash';
  if (value === 'wedge') return 'wedge';
  return null;
}

/**
 * The pool size, on the engine's command line so that the engine can start its data-plane
 * threads before `init` arrives (src/engine/early-threads.ts).
 */
export const WORKERS_ARGUMENT = '--workers=';

export function workersArgument(size: number): string {
  return `${WORKERS_ARGUMENT}${size}`;
}

/** The pool size on the engine's command line, or null when absent or malformed. */
export function parseWorkersArgument(argv: readonly string[]): number | null {
  const argument = argv.find((value) => value.startsWith(WORKERS_ARGUMENT));
  if (argument === undefined) return null;
  const text = argument.slice(WORKERS_ARGUMENT.length);
  if (!/^[1-9]\d{0,2}$/.test(text)) return null;
  const size = Number(text);
  return size <= MAX_DATAPLANE_WORKERS ? size : null;
}
