/**
 * SIGUSR1: the bootstrap's state in one line, then the engine's own summary (or why there is none).
 */
import type { Logger } from '../log/logger.js';
import type { EngineProcess } from './engine-process.js';

/** How long the engine has to answer the summary request. */
export const SUMMARY_TIMEOUT_MS = 1000;

export async function logStateSummary(
  log: Logger,
  state: Record<string, unknown>,
  engine: EngineProcess | null,
): Promise<void> {
  log.notice(state, 'State summary');
  if (engine === null) {
    log.notice('Engine not running');
    return;
  }
  const summary = await engine.requestSummary(SUMMARY_TIMEOUT_MS);
  if (summary === null) log.warning('The engine did not answer the summary request');
  else log.notice({ ...summary }, 'Engine summary');
}
