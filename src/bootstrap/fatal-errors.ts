/**
 * The bootstrap's last line against its own bugs: an uncaught exception or an unhandled
 * rejection is logged, then the daemon stops the normal way (engine stopped, engine's changes
 * reverted, resources closed, PID file removed, exit status 1). Its state may be broken by then,
 * so if that has not finished within FATAL_CLEANUP_MS, `lastResort` (synchronous: kill the
 * engine, remove the PID file) runs and the process exits 1; the kernel then removes the tunnel
 * interface with the last descriptor of it.
 */
import type { Logger } from '../log/logger.js';

export const FATAL_CLEANUP_MS = 10_000;

export interface FatalErrorOptions {
  readonly log: Logger;
  /** The normal stop with status 1 (it ends in the process's exit). */
  readonly stop: () => void;
  readonly lastResort: () => void;
  readonly exit: (code: number) => void;
  readonly cleanupMs?: number;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Installs the handlers; returns their removal. */
export function handleFatalErrors(options: FatalErrorOptions): () => void {
  const { log } = options;
  let timer: NodeJS.Timeout | null = null;
  const onError = (error: unknown): void => {
    log.critical('Internal error: %s', describe(error));
    if (timer !== null) return;
    timer = setTimeout(() => {
      log.critical('Cleanup did not finish within %d ms; exiting', options.cleanupMs ?? FATAL_CLEANUP_MS);
      try {
        options.lastResort();
      } finally {
        options.exit(1);
      }
    }, options.cleanupMs ?? FATAL_CLEANUP_MS);
    try {
      options.stop();
    } catch (stopError) {
      log.critical('Cannot stop: %s', describe(stopError));
    }
  };
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return () => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
    if (timer !== null) clearTimeout(timer);
  };
}
