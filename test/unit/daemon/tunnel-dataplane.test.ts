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
import type { DataplaneTask, WorkerToEngine } from '../../../src/daemon/ipc.js';
import { createSlowPathBudget } from '../../../src/daemon/slow-path-budget.js';
import type { SlowPathBudget } from '../../../src/daemon/slow-path-budget.js';
import {
  BATCH_SLOTS,
  PARTIAL_BATCH_PAUSE_MIN_PACKETS,
  pausesAfterRead,
  prepareTunnelDataplane,
} from '../../../src/daemon/tunnel-dataplane.js';
import { createTunnelShared } from '../../../src/daemon/tunnel-shared.js';
import type { TunnelShared } from '../../../src/daemon/tunnel-shared.js';
import { closeFd } from '../../../src/os/fd.js';
import { createPacketBatch, slotOffset, slotPacket } from '../../../src/os/packet-batch.js';
import { recvUdpBatch, sendUdpBatch } from '../../../src/os/packet-io.js';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { PEER_TRUSTED } from '../../../src/teredo/peers.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';
import { TUNNEL_COUNTER, TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import type { TunnelCounterName } from '../../../src/teredo/tunnel-counters.js';
import { sendTo, until } from '../../support/loopback.js';
import { ipv6Packet, NATIVE_HOST, PEER_ADDRESS, PREFIX } from './tunnel-harness.js';

/** Junk the fast path cannot take: `tag` in every byte, so each one can be told apart. */
const junk = (tag: number): Uint8Array => new Uint8Array(60).fill(tag);

/** A relay worker's task on loopback stand-ins: `tunFd` for its TUN queue, `udp` for its socket. */
function relayTask(parts: {
  readonly workerIndex: number;
  readonly prefix: number;
  readonly tunFd: number;
  readonly udp: number;
  readonly shared: TunnelShared;
}): DataplaneTask {
  return {
    workerIndex: parts.workerIndex,
    config: {
      role: 'relay',
      relayType: 'cone',
      prefix: parts.prefix,
      interfaceMtu: 1280,
      bindAddress: '127.0.0.1',
      bindPort: localPort(parts.udp),
    },
    tunFd: parts.tunFd,
    udpFds: [parts.udp],
    rawFd: null,
    counters: new SharedArrayBuffer(8 * TUNNEL_COUNTER_NAMES.length),
    shared: parts.shared.buffer,
    jail: { dev: 0n, ino: 0n },
  };
}

test('the slow path within its budget: over it, packets are dropped and counted, not posted', async (t) => {
  const tunStandIn = openUdp4('127.0.0.1', 0, { reusePort: false });
  const udp = openUdp4('127.0.0.1', 0, { reusePort: false });
  const sender = createSocket('udp4');
  sender.bind(0, '127.0.0.1');
  await once(sender, 'listening');
  const shared = createTunnelShared(16);
  const task = relayTask({ workerIndex: 3, prefix: 0x20010000, tunFd: tunStandIn, udp, shared });
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
  const loop = prepareTunnelDataplane(task, counters, (message) => posted.push(message), {
    peers: budget,
    server: { take: () => serverBudget.take(fakeNowMs), tokens: 0 },
  });
  loop.start();
  t.after(() => {
    loop.stop();
    server.close();
    sender.close();
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

test('a prepared loop reads nothing until start(); then it reads what the kernel queued', async (t) => {
  const tunStandIn = openUdp4('127.0.0.1', 0, { reusePort: false });
  const udp = openUdp4('127.0.0.1', 0, { reusePort: false });
  const sender = createSocket('udp4');
  sender.bind(0, '127.0.0.1');
  await once(sender, 'listening');
  const counters = new Float64Array(TUNNEL_COUNTER_NAMES.length);
  const counter = (name: TunnelCounterName): number => counters[TUNNEL_COUNTER[name]]!;
  const posted: WorkerToEngine[] = [];
  const shared = createTunnelShared(16);
  const loop = prepareTunnelDataplane(
    relayTask({ workerIndex: 0, prefix: 0x20010000, tunFd: tunStandIn, udp, shared }),
    counters,
    (message) => posted.push(message),
  );
  t.after(() => {
    loop.stop();
    sender.close();
    closeFd(tunStandIn);
    closeFd(udp);
  });
  for (const tag of [1, 2, 3]) await sendTo(sender, junk(tag), localPort(udp));
  await sendTo(sender, junk(4), localPort(tunStandIn));
  // A watcher would fire on the first loop turns after the datagrams arrived (readiness is
  // level-triggered): let several pass.
  for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual([counter('udp-received'), counter('tun-received'), posted.length], [0, 0, 0]);

  loop.start();
  await until(
    () => counter('udp-received') === 3 && counter('tun-received') === 1,
    'the queued packets read',
  );
  assert.equal(posted.length, 4, 'all four went to the slow path');
});

test('drain pauses before its next read only after a partial batch of 4 or more packets', () => {
  assert.equal(PARTIAL_BATCH_PAUSE_MIN_PACKETS, 4);
  const pausing = Array.from({ length: BATCH_SLOTS + 3 }, (_, k) => k - 2).filter(pausesAfterRead);
  assert.deepEqual(
    pausing,
    Array.from({ length: BATCH_SLOTS - 4 }, (_, k) => k + 4),
    'not after errors, 0-3 packets (low rates keep their latency) or a full batch (read again at once)',
  );
});

test('the relay fast path sends each peer its packets in order, in one burst of many', async (t) => {
  const LOCALHOST = 0x7f000001;
  const NOW = 1000;
  const tunStandIn = openUdp4('127.0.0.1', 0, { reusePort: false });
  const udp = openUdp4('127.0.0.1', 0, { reusePort: false });
  const injector = openUdp4('127.0.0.1', 0, { reusePort: false });
  const peerA = openUdp4('127.0.0.1', 0, { reusePort: false, receiveBufferBytes: 1 << 22 });
  const peerB = openUdp4('127.0.0.1', 0, { reusePort: false, receiveBufferBytes: 1 << 22 });
  const shared = createTunnelShared(16, 1);
  shared.state.publish({
    active: true,
    prefix: PREFIX,
    serverIPv4: 0,
    mappedIPv4: 0,
    mappedPort: 0,
    mtu: 1280,
  });
  shared.state.setClock(NOW);
  const addressB = encodeTeredoAddress({
    prefix: PREFIX,
    server: 0xc0000201,
    flags: 0,
    port: 50001,
    client: 0xcb00714e,
  });
  for (const [key, fd] of [
    [PEER_ADDRESS, peerA],
    [addressB, peerB],
  ] as const) {
    const slot = shared.table.insert(key, 0, NOW);
    shared.table.setFlags(slot, PEER_TRUSTED);
    shared.table.setMapping(slot, LOCALHOST, localPort(fd));
    shared.table.touchRx(slot, NOW);
  }
  const counters = new Float64Array(TUNNEL_COUNTER_NAMES.length);
  const posted: WorkerToEngine[] = [];
  const loop = prepareTunnelDataplane(
    relayTask({ workerIndex: 0, prefix: PREFIX, tunFd: tunStandIn, udp, shared }),
    counters,
    (message) => posted.push(message),
  );
  loop.start();
  t.after(() => {
    loop.stop();
    for (const fd of [tunStandIn, udp, injector, peerA, peerB]) closeFd(fd);
  });

  // 10 full-size packets to A, a short one to A, 5 to B, 3 to A: written to the "TUN queue" at
  // once, so that the loop reads them as one batch.
  const plan = [
    ...Array.from({ length: 10 }, () => ['A', 1232] as const),
    ['A', 60] as const,
    ...Array.from({ length: 5 }, () => ['B', 1232] as const),
    ...Array.from({ length: 3 }, () => ['A', 1232] as const),
  ];
  const packets = plan.map(([peer, payloadBytes], k) =>
    ipv6Packet({
      source: NATIVE_HOST,
      destination: peer === 'A' ? PEER_ADDRESS : addressB,
      payload: new Uint8Array(payloadBytes).fill(k),
    }),
  );
  const outbox = createPacketBatch(plan.length, 1280);
  packets.forEach((packet, k) => {
    outbox.data.set(packet, slotOffset(outbox, k));
    outbox.lengths[k] = packet.length;
    outbox.addresses[k] = LOCALHOST;
    outbox.ports[k] = localPort(tunStandIn);
  });
  assert.equal(sendUdpBatch(injector, outbox, 0, plan.length), plan.length);
  const encapsulated = (): number => counters[TUNNEL_COUNTER['encapsulated']]!;
  await until(() => encapsulated() >= plan.length, 'the packets relayed');
  assert.equal(counters[TUNNEL_COUNTER['send-failed']], 0);
  assert.deepEqual(posted, [], 'nothing for the slow path');
  // Runs to one peer left as GSO messages (how many depends on how the reads split the burst).
  assert.ok(counters[TUNNEL_COUNTER['udp-gso-messages']]! >= 1);
  assert.equal(counters[TUNNEL_COUNTER['udp-gso-refused']], 0);

  const inbox = createPacketBatch(plan.length, 1280);
  const received = (fd: number): Uint8Array[] => {
    const n = recvUdpBatch(fd, inbox);
    return Array.from({ length: Math.max(n, 0) }, (_, k) => slotPacket(inbox, k).slice());
  };
  const to = (peer: 'A' | 'B'): Uint8Array[] => packets.filter((_, k) => plan[k]?.[0] === peer);
  assert.deepEqual(received(peerA), to('A'));
  assert.deepEqual(received(peerB), to('B'));
});
