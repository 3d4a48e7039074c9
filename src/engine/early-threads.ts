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
import { parseWorkersArgument } from '../ipc/engine-launch.js';
import type { DataplaneProgram, DataplaneThread } from './dataplane-program.js';

/** As many threads as the command line says (none without the argument). */
export function startEarlyThreads(program: DataplaneProgram, argv: readonly string[]): DataplaneThread[] {
  const size = parseWorkersArgument(argv) ?? 0;
  return Array.from({ length: size }, () => program.startThread());
}
