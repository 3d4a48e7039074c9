/** How the supervisor (supervisor.ts) paces restarts and stops. */
export interface SupervisorTiming {
  /** Back-off before restarting an engine that died. */
  readonly restartDelayMs: number;
  /** Between `stop` and SIGKILL. */
  readonly stopGraceMs: number;
  /** More than maxCrashes engine deaths within crashWindowMs: give up. */
  readonly crashWindowMs: number;
  readonly maxCrashes: number;
  readonly readyTimeoutMs: number;
}

export const DEFAULT_TIMING: SupervisorTiming = {
  restartDelayMs: 1000,
  stopGraceMs: 1000,
  crashWindowMs: 60_000,
  maxCrashes: 5,
  readyTimeoutMs: 10_000,
};
