/**
 * The client's and relay's packet loop (src/daemon/tunnel-dataplane.ts) run on this thread,
 * without root: loopback UDP sockets stand in for the TUN queue (one packet per datagram, like
 * a TUN descriptor) and the UDP socket, the relay's shared state is inactive, so every packet
 * is for the slow path. Its budget runs on a fake clock: packets over it are dropped and
 * counted, and never reach the control plane.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import type { DataplaneTask, WorkerToEngine } from '../../../src/daemon/ipc.js';
import { createSlowPathBudget } from '../../../src/daemon/slow-path-budget.js';
import type { SlowPathBudget } from '../../../src/daemon/slow-path-budget.js';
import { startTunnelDataplane } from '../../../src/daemon/tunnel-dataplane.js';
import { createTunnelShared } from '../../../src/daemon/tunnel-shared.js';
import { closeFd } from '../../../src/os/fd.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';
import { TUNNEL_COUNTER, TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import type { TunnelCounterName } from '../../../src/teredo/tunnel-counters.js';
import { sendTo, until } from '../../support/loopback.js';

/** Junk the fast path cannot take: `tag` in every byte, so each one can be told apart. */
const junk = (tag: number): Uint8Array => new Uint8Array(60).fill(tag);

test('the slow path within its budget: over it, packets are dropped and counted, not posted', async (t) => {
  const tunStandIn = openUdp4('127.0.0.1', 0, { reusePort: false });
  const udp = openUdp4('127.0.0.1', 0, { reusePort: false });
  const sender = createSocket('udp4');
  sender.bind(0, '127.0.0.1');
  await once(sender, 'listening');
  const { port1, port2 } = new MessageChannel();
  const shared = createTunnelShared(16);
  const task: DataplaneTask = {
    workerIndex: 3,
    config: {
      role: 'relay',
      relayType: 'cone',
      prefix: 0x20010000,
      interfaceMtu: 1280,
      bindAddress: '127.0.0.1',
      bindPort: localPort(udp),
    },
    tunFd: tunStandIn,
    udpFds: [udp],
    rawFd: null,
    counters: new SharedArrayBuffer(8 * TUNNEL_COUNTER_NAMES.length),
    shared: shared.buffer,
    port: port2,
  };
  const counters = new Float64Array(TUNNEL_COUNTER_NAMES.length);
  const counter = (name: TunnelCounterName): number => counters[TUNNEL_COUNTER[name]]!;
  const posted: WorkerToEngine[] = [];
  // One token a millisecond, bursts of 5, on a clock the test moves; the loop's own readings
  // (performance.now()) are kept to check it passes monotonic milliseconds.
  const inner = createSlowPathBudget(1000, 5);
  let fakeNowMs = 0;
  const readings: number[] = [];
  const budget: SlowPathBudget = {
    take(nowMs: number): boolean {
      readings.push(nowMs);
      return inner.take(fakeNowMs);
    },
    get tokens(): number {
      return inner.tokens;
    },
  };
  const startedAt = performance.now();
  const serverBudget = createSlowPathBudget(1000, 2);
  const server = createSocket('udp4');
  server.bind(TEREDO_CONSTANTS.port, '127.0.0.1');
  await once(server, 'listening');
  const loop = startTunnelDataplane(task, counters, (message) => posted.push(message), {
    peers: budget,
    server: { take: () => serverBudget.take(fakeNowMs), tokens: 0 },
  });
  t.after(() => {
    loop.stop();
    server.close();
    sender.close();
    port1.close();
    port2.close();
    closeFd(tunStandIn);
    closeFd(udp);
  });

  /** Sends tags one by one (in order) to `fd`'s port; waits until the loop has read them all. */
  const deliver = async (fd: number, tags: readonly number[]): Promise<void> => {
    const name = fd === udp ? 'udp-received' : 'tun-received';
    const target = counter(name) + tags.length;
    for (const tag of tags) await sendTo(sender, junk(tag), localPort(fd));
    await until(() => counter(name) >= target, `${target} ${name}`);
  };
  const postedTags = (): number[] =>
    posted.map((message) => {
      assert.equal(message.type, 'slow-path');
      return message.type === 'slow-path' ? message.packet[0]! : -1;
    });

  // A flood of 12 datagrams at one instant: the burst of 5 goes on, in order; 7 are dropped.
  await deliver(udp, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(postedTags(), [1, 2, 3, 4, 5]);
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [5, 7]);
  const first = posted[0];
  assert.ok(first?.type === 'slow-path');
  assert.deepEqual(
    [first.workerIndex, first.from, first.packet, first.address, first.port],
    [3, 'udp', junk(1), 0x7f000001, sender.address().port],
  );

  // 3 ms later: 3 tokens, shared with the TUN side.
  fakeNowMs += 3;
  await deliver(tunStandIn, [21, 22, 23, 24]);
  assert.deepEqual(postedTags().slice(5), [21, 22, 23]);
  assert.ok(posted.slice(5).every((message) => message.type === 'slow-path' && message.from === 'tun'));
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [8, 8]);

  // An hour of quiet refills the burst, no more.
  fakeNowMs += 3_600_000;
  await deliver(udp, [31, 32, 33, 34, 35, 36, 37, 38]);
  assert.deepEqual(postedTags().slice(8), [31, 32, 33, 34, 35]);
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [13, 11]);
  assert.deepEqual([counter('udp-received'), counter('tun-received')], [20, 4]);
  assert.equal(counter('slow-path') + counter('drop-slow-path-budget'), 24, 'every packet one or the other');

  // The loop asks once per slow-path packet, with monotonic milliseconds.
  assert.equal(readings.length, 24);
  const endedAt = performance.now();
  assert.ok(
    readings.every((ms, index) => ms >= startedAt && ms <= endedAt && ms >= (readings[index - 1] ?? 0)),
  );

  // The peers' budget is spent: a client's own server (address and port 3544) has its own.
  await deliver(udp, [41]);
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [13, 12]);
  shared.state.publish({
    active: false,
    prefix: 0,
    serverIPv4: 0x7f000001,
    mappedIPv4: 0,
    mappedPort: 0,
    mtu: 0,
  });
  for (const tag of [51, 52, 53]) await sendTo(server, junk(tag), localPort(udp));
  await until(() => counter('udp-received') >= 24, 'the server datagrams');
  assert.deepEqual(postedTags().slice(13), [51, 52], 'the server budget: a burst of 2');
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [15, 13]);
  // ...and the peers' budget stays spent for anyone else from that address.
  await deliver(udp, [61]);
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [15, 14]);
  assert.equal(readings.length, 26, 'the peers budget was not asked for the server datagrams');
});
