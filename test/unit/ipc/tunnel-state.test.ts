/** The shared tunnel state (src/ipc/tunnel-state.ts and tunnel-shared.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { attachTunnelShared, createTunnelShared, PEER_TABLE_OFFSET } from '../../../src/ipc/tunnel-shared.js';
import { createTunnelSnapshot, TUNNEL_STATE_BYTES, tunnelStateOver } from '../../../src/ipc/tunnel-state.js';
import { SLOW_PATH_BACKLOG_BYTES } from '../../../src/ipc/slow-path-backlog.js';
import { CLIENT_ADDRESS } from '../../support/tunnel-harness.js';

test('publish and read: the fields, a generation per publish, and the clock on its own', () => {
  const shared = createTunnelShared(16);
  const snapshot = createTunnelSnapshot();
  shared.state.read(snapshot);
  assert.equal(snapshot.active, false);
  assert.equal(snapshot.generation, 0);
  shared.state.publish({
    active: true,
    prefix: 0x20010000,
    serverIPv4: 0xc6336401,
    mappedIPv4: 0xcb007105,
    mappedPort: 40000,
    mtu: 1400,
  });
  shared.state.setClock(123);
  const other = attachTunnelShared(shared.buffer);
  other.state.read(snapshot);
  assert.deepEqual(snapshot, {
    active: true,
    prefix: 0x20010000,
    serverIPv4: 0xc6336401,
    mappedIPv4: 0xcb007105,
    mappedPort: 40000,
    mtu: 1400,
    generation: 1,
  });
  assert.equal(other.state.clock(), 123);
});

test('the state and the peer table share one buffer without overlapping', () => {
  const shared = createTunnelShared(16, 1);
  assert.equal(PEER_TABLE_OFFSET, TUNNEL_STATE_BYTES + SLOW_PATH_BACKLOG_BYTES);
  assert.equal(PEER_TABLE_OFFSET % 64, 0, 'records stay on cache lines');
  shared.state.publish({
    active: true,
    prefix: -1 >>> 0,
    serverIPv4: -1 >>> 0,
    mappedIPv4: -1 >>> 0,
    mappedPort: 65535,
    mtu: 65535,
  });
  shared.state.setClock(-1 >>> 0);
  const slot = shared.table.insert(CLIENT_ADDRESS, 0, 5);
  const worker = attachTunnelShared(shared.buffer);
  for (let index = 0; index < 64; index++) for (let k = 0; k < 3; k++) worker.backlog.posted(index);
  assert.equal(worker.table.find(CLIENT_ADDRESS, 0), slot);
  assert.equal(worker.table.size(), 1);
  const snapshot = createTunnelSnapshot();
  worker.state.read(snapshot);
  assert.equal(snapshot.prefix, 0xffffffff);
  assert.equal(worker.state.clock(), 0xffffffff);
  assert.deepEqual([shared.backlog.waiting(0), shared.backlog.waiting(63)], [3, 3]);
});

test('a buffer that is not ours is refused', () => {
  assert.throws(() => attachTunnelShared(new SharedArrayBuffer(4096)), TypeError);
  assert.throws(() => tunnelStateOver(new SharedArrayBuffer(32), 0), RangeError);
  assert.throws(() => tunnelStateOver(new SharedArrayBuffer(128), 2), RangeError);
});

test('a reader in another thread never sees a half-published state', async () => {
  const shared = createTunnelShared(16);
  const moduleUrl = new URL('../../../src/ipc/tunnel-state.js', import.meta.url).href;
  // Every publish writes k into all words; a torn read would mix two values of k.
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.moduleUrl).then(({ tunnelStateOver, createTunnelSnapshot }) => {
      const state = tunnelStateOver(workerData.buffer, 0);
      const s = createTunnelSnapshot();
      // Until it has seen enough publications happen under it (however loaded the machine is),
      // with a generous cap: a count, not a time, so a busy machine makes it slower, not weaker.
      let reads = 0, torn = 0, last = 0, changes = 0;
      const cap = Date.now() + 20000;
      while ((reads < 50000 || changes < 200) && Date.now() < cap) {
        state.read(s);
        reads++;
        const k = s.prefix;
        if (s.serverIPv4 !== k || s.mappedIPv4 !== k || s.mappedPort !== (k & 0xffff) || s.mtu !== k) torn++;
        if (s.generation < last) torn++;
        if (s.generation !== last) changes++;
        last = s.generation;
      }
      parentPort.postMessage({ reads, torn, changes });
    });`,
    { eval: true, workerData: { buffer: shared.buffer, moduleUrl } },
  );
  let k = 1;
  let running = true;
  const result = once(worker, 'message');
  void result.then(() => {
    running = false;
  });
  while (running) {
    for (let i = 0; i < 10_000; i++, k++) {
      shared.state.publish({
        active: true,
        prefix: k,
        serverIPv4: k,
        mappedIPv4: k,
        mappedPort: k & 0xffff,
        mtu: k,
      });
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const [{ reads, torn, changes }] = (await result) as [{ reads: number; torn: number; changes: number }];
  await worker.terminate();
  assert.ok(reads >= 50_000 && changes >= 200, `only ${reads} reads across ${changes} publications`);
  assert.equal(torn, 0);
});
