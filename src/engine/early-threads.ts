/**
 * The data-plane threads, started by the engine's entry point before it loads the rest of the
 * engine: the bootstrap puts the pool size on the engine's command line, so the threads boot
 * and load the data-plane program while the main thread is still evaluating its own modules and
 * waiting for `init`. That overlap is most of a client's start time (a thread and its program
 * take 100-150 ms here).
 *
 * The threads only get their tasks once `init` arrives (worker-pool.ts); an engine started
 * without the argument, or told another size by `init`, starts its threads then.
 */
import type { DataplaneProgram, DataplaneThread } from './dataplane-program.js';

export const WORKERS_ARGUMENT = '--workers=';
/** Far above DataplaneWorkers' range: anything else on the command line is not ours. */
const MAX_EARLY_WORKERS = 64;

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
  return size <= MAX_EARLY_WORKERS ? size : null;
}

/** As many threads as the command line says (none without the argument). */
export function startEarlyThreads(program: DataplaneProgram, argv: readonly string[]): DataplaneThread[] {
  const size = parseWorkersArgument(argv) ?? 0;
  return Array.from({ length: size }, () => program.startThread());
}
