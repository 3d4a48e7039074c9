/**
 * The data-plane worker task (one per piscina worker, for the engine's whole life). For now a
 * placeholder: it owns its descriptors, says it is ready, and waits for `worker-stop` on its
 * private MessagePort. The packet loop comes with the data-plane issue.
 * Everything it imports is loaded before `worker-ready`, so before the engine's chroot.
 */
import { setNoNewPrivs } from '../os/privileges.js';
import { parseDataplaneTask, parseEngineToWorker } from './ipc.js';
import type { DataplaneResult, WorkerToEngine } from './ipc.js';

export default function dataplane(raw: unknown): Promise<DataplaneResult> {
  const parsed = parseDataplaneTask(raw);
  if (!parsed.ok) return Promise.reject(new Error(`invalid data-plane task: ${parsed.error}`));
  const { port, workerIndex } = parsed.message;
  // Per thread: make sure this worker has it even if its thread predates the engine's call.
  setNoNewPrivs();
  return new Promise((resolve) => {
    port.on('message', (message: unknown) => {
      const command = parseEngineToWorker(message);
      if (!command.ok) return;
      if (command.message.type === 'worker-stop') {
        port.close();
        resolve({ type: 'worker-stopped', workerIndex });
      }
    });
    const ready: WorkerToEngine = { type: 'worker-ready', workerIndex };
    port.postMessage(ready);
  });
}
