/** src/os/readiness.ts: uv_poll watchers on the main thread and in worker threads. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { closeFd } from '../../../src/os/fd.js';
import { createPacketBatch, slotOffset } from '../../../src/os/packet-batch.js';
import { recvUdpBatch, sendUdpBatch } from '../../../src/os/packet-io.js';
import { READABLE, WRITABLE, watchFd, watchReadable, watchWritable } from '../../../src/os/readiness.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';
import { ipv4Number } from '../../support/inet.js';
import { netnsScenarios } from './netns-harness.js';
import { expectErrno } from './os-tools.js';
import { loopTurns } from './os-tools-io.js';
import type { WatchWorkerMessage, WatchWorkerMode } from './watch-worker.js';

const LOCALHOST = ipv4Number('127.0.0.1');

function sendOne(fd: number, port: number, bytes: readonly number[]): void {
  const batch = createPacketBatch(1, 64);
  batch.data.set(bytes, slotOffset(batch, 0));
  batch.lengths[0] = bytes.length;
  batch.addresses[0] = LOCALHOST;
  batch.ports[0] = port;
  assert.equal(sendUdpBatch(fd, batch, 0, 1), 1);
}

function startWorker(mode: WatchWorkerMode): { worker: Worker; messages: AsyncIterator<WatchWorkerMessage> } {
  const worker = new Worker(new URL('./watch-worker.js', import.meta.url), { workerData: { mode } });
  const queue: WatchWorkerMessage[] = [];
  const waiting: ((message: WatchWorkerMessage) => void)[] = [];
  worker.on('message', (message: WatchWorkerMessage) => {
    const next = waiting.shift();
    if (next === undefined) queue.push(message);
    else next(message);
  });
  const messages: AsyncIterator<WatchWorkerMessage> = {
    next: () =>
      new Promise((resolve) => {
        const queued = queue.shift();
        if (queued !== undefined) resolve({ value: queued, done: false });
        else waiting.push((value) => resolve({ value, done: false }));
      }),
  };
  return { worker, messages };
}

netnsScenarios(import.meta.url, {
  'watchReadable fires while data is queued and never after stop()': async () => {
    const fd = openUdp4('127.0.0.1', 0, { reusePort: false });
    const sender = openUdp4('127.0.0.1', 0, { reusePort: false });
    const inbox = createPacketBatch(4, 64);
    let calls = 0;
    let notify: (() => void) | undefined;
    const watch = watchReadable(fd, (status) => {
      assert.equal(status, 0);
      calls++;
      notify?.();
    });
    await loopTurns(3);
    assert.equal(calls, 0, 'nothing to read, no callback');

    const fired = new Promise<void>((resolve) => (notify = resolve));
    sendOne(sender, localPort(fd), [1, 2, 3]);
    await fired;
    assert.equal(calls, 1);
    await loopTurns(2);
    assert.ok(calls >= 2, 'level-triggered: fires again while the datagram is still queued');
    assert.equal(recvUdpBatch(fd, inbox), 1);

    watch.stop();
    watch.stop();
    const before = calls;
    sendOne(sender, localPort(fd), [4]);
    await loopTurns(3);
    assert.equal(calls, before, 'a stopped watcher stays quiet');
    assert.equal(recvUdpBatch(fd, inbox), 1, 'the datagram was there to be seen');
    closeFd(fd);
    closeFd(sender);
  },

  'one watcher per descriptor; setEvents switches direction; a stopped descriptor can be watched again':
    async () => {
      const fd = openUdp4('127.0.0.1', 0, { reusePort: false });
      const first = watchReadable(fd, () => undefined);
      expectErrno(() => watchWritable(fd, () => undefined), 'EEXIST');
      first.stop();

      const seen: number[] = [];
      let notify: (() => void) | undefined;
      const watcher = watchFd(fd, READABLE, (status, events) => {
        assert.equal(status, 0);
        seen.push(events);
        notify?.();
      });
      await loopTurns(2);
      assert.deepEqual(seen, [], 'an idle socket is not readable');
      const writable = new Promise<void>((resolve) => (notify = resolve));
      watcher.setEvents(READABLE | WRITABLE);
      await writable;
      assert.equal(seen[0], WRITABLE, 'an idle UDP socket is writable at once');
      watcher.stop();
      assert.throws(() => watcher.setEvents(READABLE), /already stopped/);
      assert.throws(() => watchFd(fd, 4, () => undefined), RangeError);
      closeFd(fd);
    },

  'a watcher works in a worker thread, and stop() lets the thread end by itself': async () => {
    const sender = openUdp4('127.0.0.1', 0, { reusePort: false });
    const { worker, messages } = startWorker('receive-once');
    const exited = once(worker, 'exit');
    const listening = (await messages.next()).value as WatchWorkerMessage;
    assert.equal(listening.kind, 'listening');
    if (listening.kind !== 'listening') return;
    sendOne(sender, listening.port, [0xca, 0xfe]);
    const received = (await messages.next()).value as WatchWorkerMessage;
    assert.deepEqual(received, { kind: 'received', status: 0, bytes: [0xca, 0xfe] });
    assert.deepEqual(await exited, [0], 'the worker exits on its own once its watcher is stopped');
    closeFd(sender);
  },

  'terminating a worker with an active watcher releases it without harm': async () => {
    for (let round = 0; round < 3; round++) {
      const { worker, messages } = startWorker('watch-forever');
      const listening = (await messages.next()).value as WatchWorkerMessage;
      assert.equal(listening.kind, 'listening');
      assert.equal(await worker.terminate(), 1);
    }
    // The main thread's own watchers still work afterwards.
    const fd = openUdp4('127.0.0.1', 0, { reusePort: false });
    const sender = openUdp4('127.0.0.1', 0, { reusePort: false });
    const fired = new Promise<number>((resolve) => {
      const watch = watchReadable(fd, (status) => {
        watch.stop();
        resolve(status);
      });
    });
    sendOne(sender, localPort(fd), [7]);
    assert.equal(await fired, 0);
    closeFd(fd);
    closeFd(sender);
  },

  'an exception in a callback is an uncaught exception of that thread': async () => {
    const fd = openUdp4('127.0.0.1', 0, { reusePort: false });
    const sender = openUdp4('127.0.0.1', 0, { reusePort: false });
    const uncaught = once(process, 'uncaughtException');
    const watch = watchReadable(fd, () => {
      watch.stop();
      throw new Error('from the callback');
    });
    sendOne(sender, localPort(fd), [1]);
    const [error] = (await uncaught) as [Error];
    assert.equal(error.message, 'from the callback');
    closeFd(fd);
    closeFd(sender);
  },
});
