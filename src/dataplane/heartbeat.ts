/**
 * A worker's heartbeat: while its event loop turns, the worker counts its slot of the shared
 * heartbeat array up every HEARTBEAT_INTERVAL_MS. A thread that is blocked or spinning (wedged)
 * stops counting, and so does a dead one; the engine's health monitor (engine/health-monitor.ts)
 * tells them apart from a busy one by the count alone.
 */
export const HEARTBEAT_INTERVAL_MS = 100;

export interface Heartbeat {
  stop(): void;
}

export function startHeartbeat(buffer: SharedArrayBuffer | undefined, workerIndex: number): Heartbeat {
  if (buffer === undefined) return { stop: () => undefined };
  const beats = new Int32Array(buffer);
  const beat = (): void => {
    Atomics.add(beats, workerIndex, 1);
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  return { stop: () => clearInterval(timer) };
}
