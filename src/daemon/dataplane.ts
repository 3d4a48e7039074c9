/**
 * The data-plane worker task (one per piscina worker, for the engine's whole life). It starts
 * the role's packet loop on its own descriptors, says it is ready, and runs until `worker-stop`
 * on its private MessagePort. Everything it imports is loaded before `worker-ready`, so before
 * the engine's chroot; a replacement worker started after the chroot loads the same files from
 * the jail's read-only copy (jail-program.ts).
 */
import { watchWritable } from '../os/readiness.js';
import { setNoNewPrivs } from '../os/privileges.js';
import { SERVER_COUNTER_NAMES } from '../teredo/server-counters.js';
import { TUNNEL_COUNTER_NAMES } from '../teredo/tunnel-counters.js';
import { counterRow } from './counters.js';
import type { DataplaneLoop } from './dataplane-loop.js';
import { FAULT_INJECTION_ENV, parseDataplaneTask, parseEngineToWorker } from './ipc.js';
import type { DataplaneResult, DataplaneTask, WorkerToEngine } from './ipc.js';
import { startServerDataplane } from './server-dataplane.js';
import { startTunnelDataplane } from './tunnel-dataplane.js';

/**
 * Test only (`worker-fault`): replaces the packet loop's watchers by one on the same UDP socket
 * whose callback throws, so the exception leaves through the native readiness callback exactly
 * as a bug in the packet loop would (an uncaught exception that ends this thread).
 */
function crashFromPacketLoop(task: DataplaneTask, loop: DataplaneLoop): void {
  if (process.env[FAULT_INJECTION_ENV] !== '1') return;
  const fd = task.udpFds[0];
  if (fd === undefined) return;
  loop.stop();
  watchWritable(fd, () => {
    throw new Error(`fault injection: data-plane worker ${task.workerIndex} crashed on purpose`);
  });
}

export default function dataplane(raw: unknown): Promise<DataplaneResult> {
  const parsed = parseDataplaneTask(raw);
  if (!parsed.ok) return Promise.reject(new Error(`invalid data-plane task: ${parsed.error}`));
  const task = parsed.message;
  const { port, workerIndex } = task;
  // Per thread: make sure this worker has it even if its thread predates the engine's call.
  setNoNewPrivs();
  const toEngine = (message: WorkerToEngine, transfer?: ArrayBuffer[]): void =>
    port.postMessage(message, transfer);
  const loop =
    task.config.role === 'server'
      ? startServerDataplane(task, counterRow(task.counters, SERVER_COUNTER_NAMES, workerIndex))
      : startTunnelDataplane(task, counterRow(task.counters, TUNNEL_COUNTER_NAMES, workerIndex), toEngine);
  return new Promise((resolve) => {
    port.on('message', (message: unknown) => {
      const command = parseEngineToWorker(message);
      if (!command.ok) return;
      switch (command.message.type) {
        case 'worker-stop':
          loop.stop();
          port.close();
          resolve({ type: 'worker-stopped', workerIndex });
          return;
        case 'worker-fault':
          crashFromPacketLoop(task, loop);
          return;
      }
    });
    const ready: WorkerToEngine = { type: 'worker-ready', workerIndex };
    port.postMessage(ready);
  });
}
