/**
 * SIGUSR1: the bootstrap's state in one line, then the engine's own summary (or why there is none).
 */
import type { Logger } from '../log/logger.js';
import type { EngineProcess } from './engine-process.js';
import type { HelperStats } from './helper.js';
import type { KernelResources } from './resources.js';

/** How long the engine has to answer the summary request. */
export const SUMMARY_TIMEOUT_MS = 1000;

export interface SummaryFacts {
  readonly role: string;
  readonly resources: KernelResources;
  readonly startedAt: number;
  readonly restarts: number;
  readonly helper: HelperStats;
}

export async function logStateSummary(
  log: Logger,
  facts: SummaryFacts,
  engine: EngineProcess | null,
): Promise<void> {
  const { resources, helper } = facts;
  log.notice(
    {
      role: facts.role,
      engine: engine?.pid ?? null,
      interface: resources.tunnel?.name ?? null,
      ifindex: resources.tunnel?.index ?? null,
      boundPort: resources.boundPort,
      uptimeSeconds: Math.round((Date.now() - facts.startedAt) / 1000),
      restarts: facts.restarts,
      helperAccepted: helper.accepted,
      helperRefused: helper.refused,
      helperFailed: helper.failed,
    },
    'State summary',
  );
  if (engine === null) {
    log.notice('Engine not running');
    return;
  }
  const summary = await engine.requestSummary(SUMMARY_TIMEOUT_MS);
  if (summary === null) log.warning('The engine did not answer the summary request');
  else log.notice({ ...summary }, 'Engine summary');
}
