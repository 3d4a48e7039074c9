/**
 * Worker-thread side of readiness.test.ts. Does nothing unless started as a worker_thread by
 * that test (so `node --test` can import it harmlessly).
 *   mode 'receive-once': opens a UDP socket, posts its port, waits for readability with
 *     watchReadable, posts the datagram, stops the watcher and closes: the thread then exits
 *     by itself, which proves stop() released the loop.
 *   mode 'watch-forever': same, but never stops (the test terminates the thread).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { closeFd } from '../../../src/os/fd.js';
import { createPacketBatch, slotPacket } from '../../../src/os/packet-batch.js';
import { recvUdpBatch, watchReadable } from '../../../src/os/packet-io.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';

export type WatchWorkerMode = 'receive-once' | 'watch-forever';

export type WatchWorkerMessage =
  | { readonly kind: 'listening'; readonly port: number }
  | { readonly kind: 'received'; readonly status: number; readonly bytes: readonly number[] };

function start(mode: WatchWorkerMode, post: (message: WatchWorkerMessage) => void): void {
  const fd = openUdp4('127.0.0.1', 0, { reusePort: false });
  const batch = createPacketBatch(8, 256);
  const watch = watchReadable(fd, (status) => {
    const n = recvUdpBatch(fd, batch);
    post({ kind: 'received', status, bytes: n > 0 ? [...slotPacket(batch, 0)] : [] });
    if (mode === 'receive-once') {
      watch.stop();
      closeFd(fd);
    }
  });
  post({ kind: 'listening', port: localPort(fd) });
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const data = workerData as { readonly mode?: WatchWorkerMode } | undefined;
  if (data?.mode !== undefined) start(data.mode, (message) => port.postMessage(message));
}
