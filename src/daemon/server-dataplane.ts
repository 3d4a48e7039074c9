/** The server's packet loop (placeholder until the server issue lands). */
import type { DataplaneLoop } from './dataplane-loop.js';
import type { DataplaneTask } from './ipc.js';

export function startServerDataplane(_task: DataplaneTask, _counters: Float64Array): DataplaneLoop {
  return { stop: () => undefined };
}
