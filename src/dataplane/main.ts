/**
 * A data-plane worker thread (dataplane-program.ts starts it from memory; it lives as long as
 * the engine). Its protocol on the thread's port:
 * 1. the task (its descriptors, the shared table and counters, the jail's identity): it loads
 *    the role's loop, allocates its buffers and says `worker-ready`, reading nothing;
 * 2. `worker-start`, which the engine sends only once it is jailed and unprivileged: the worker
 *    checks that for itself (reading-check.ts) and only then starts its loop, which reads what
 *    the kernel queued meanwhile; or it refuses (`worker-refused`) and reads nothing;
 * 3. `worker-stop`: the loop stops and the thread ends.
 */
import { parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { watchWritable } from '../os/readiness.js';
import { setNoNewPrivs } from '../os/privileges.js';
import { SERVER_COUNTER_NAMES } from '../teredo/server-counters.js';
import { TUNNEL_COUNTER_NAMES } from '../teredo/tunnel-counters.js';
import { counterRow } from '../ipc/counters.js';
import type { DataplaneLoop } from './loop.js';
import { FAULT_INJECTION_ENV, injectedFault } from '../ipc/engine-launch.js';
import { parseDataplaneTask, parseEngineToWorker } from '../ipc/engine-worker-messages.js';
import type { DataplaneTask, WorkerToEngine } from '../ipc/engine-worker-messages.js';
import { identifyDirectory, threadIds } from '../os/identity.js';
import { readingRefusal } from './reading-check.js';
import { startHeartbeat } from './heartbeat.js';
import type { Heartbeat } from './heartbeat.js';
import { prepareServerDataplane } from './server-loop.js';
import { prepareTunnelDataplane } from './tunnel-loop.js';

/**
 * Test only (`worker-fault`): replaces the packet loop's watchers by one on the same UDP socket
 * whose callback throws, so the exception leaves through the native readiness callback exactly
 * as a bug in the packet loop would (an uncaught exception that ends this thread).
 */
function crashFromPacketLoop(task: DataplaneTask, loop: DataplaneLoop): void {
  if (injectedFault(process.env[FAULT_INJECTION_ENV]) === null) return;
  const fd = task.udpFds[0];
  if (fd === undefined) return;
  loop.stop();
  watchWritable(fd, () => {
    throw new Error(`fault injection: data-plane worker ${task.workerIndex} crashed on purpose`);
  });
}

function prepare(task: DataplaneTask, toEngine: (message: WorkerToEngine) => void): DataplaneLoop {
  const { workerIndex } = task;
  return task.config.role === 'server'
    ? prepareServerDataplane(task, counterRow(task.counters, SERVER_COUNTER_NAMES, workerIndex))
    : prepareTunnelDataplane(task, counterRow(task.counters, TUNNEL_COUNTER_NAMES, workerIndex), toEngine);
}

/** Test only (`worker-fault` wedge): this thread blocks for good, its loop and heartbeat stopped. */
function wedge(task: DataplaneTask): void {
  if (injectedFault(process.env[FAULT_INJECTION_ENV]) === null) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  throw new Error(`worker ${task.workerIndex} woke from its wedge`);
}

/** Starts the loop and the heartbeat if this thread may read; says which it did. */
function startReading(
  task: DataplaneTask,
  loop: DataplaneLoop,
  toEngine: (message: WorkerToEngine) => void,
): Heartbeat | null {
  const ids = threadIds();
  const refusal = readingRefusal(ids, identifyDirectory('/'), task.jail);
  if (refusal !== null) {
    toEngine({ type: 'worker-refused', workerIndex: task.workerIndex, reason: refusal.slice(0, 512) });
    return null;
  }
  toEngine({ type: 'worker-reading', workerIndex: task.workerIndex, uid: ids.uid, gid: ids.gid });
  loop.start();
  return startHeartbeat(task.heartbeat, task.workerIndex);
}

export function serveDataplane(port: MessagePort): void {
  // The engine's entry point set it before creating this thread; said again, per thread, here.
  setNoNewPrivs();
  const toEngine = (message: WorkerToEngine, transfer?: ArrayBuffer[]): void =>
    port.postMessage(message, transfer);
  let worker: {
    readonly task: DataplaneTask;
    readonly loop: DataplaneLoop;
    started: boolean;
    heartbeat: Heartbeat | null;
  } | null = null;
  port.on('message', (raw: unknown) => {
    if (worker === null) {
      const parsed = parseDataplaneTask(raw);
      // Thrown: the thread ends, and the engine sees a worker that failed before it was ready.
      if (!parsed.ok) throw new Error(`invalid data-plane task: ${parsed.error}`);
      const task = parsed.message;
      worker = { task, loop: prepare(task, toEngine), started: false, heartbeat: null };
      toEngine({ type: 'worker-ready', workerIndex: task.workerIndex });
      return;
    }
    const command = parseEngineToWorker(raw);
    if (!command.ok) return;
    switch (command.message.type) {
      case 'worker-start':
        if (worker.started) return;
        worker.started = true;
        worker.heartbeat = startReading(worker.task, worker.loop, toEngine);
        return;
      case 'worker-stop':
        worker.heartbeat?.stop();
        worker.loop.stop();
        port.close();
        return;
      case 'worker-fault':
        if (command.message.fault === 'wedge') wedge(worker.task);
        else crashFromPacketLoop(worker.task, worker.loop);
        return;
    }
  });
}

if (parentPort !== null) serveDataplane(parentPort);
