/** The client's and relay's packet loop (placeholder until the tunnel issue lands). */
import type { DataplaneLoop } from './dataplane-loop.js';
import type { DataplaneTask, WorkerToEngine } from './ipc.js';

export function startTunnelDataplane(
  _task: DataplaneTask,
  _counters: Float64Array,
  _toEngine: (message: WorkerToEngine, transfer?: ArrayBuffer[]) => void,
): DataplaneLoop {
  return { stop: () => undefined };
}
