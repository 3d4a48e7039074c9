/**
 * The client's and relay's packet loop (src/dataplane/tunnel-loop.ts) run on this thread,
 * without root: loopback UDP sockets stand in for the TUN queue (one packet per datagram, like
 * a TUN descriptor) and the UDP socket. Its slow-path budgets run on a fake clock: packets over
 * them are dropped and counted, and never reach the control plane; so are datagrams from anyone
 * while the control plane has not taken the worker's last messages (the backlog).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import type { DataplaneTask, WorkerToEngine } from '../../../src/ipc/engine-worker-messages.js';
import { BACKLOG_LIMIT } from '../../../src/dataplane/slow-path.js';
import { createSlowPathBudget } from '../../../src/dataplane/slow-path-budget.js';
import type { SlowPathBudget } from '../../../src/dataplane/slow-path-budget.js';
import {
  BATCH_SLOTS,
  PARTIAL_BATCH_PAUSE_MIN_PACKETS,
  pausesAfterRead,
  prepareTunnelDataplane,
} from '../../../src/dataplane/tunnel-loop.js';
import { createTunnelShared } from '../../../src/ipc/tunnel-shared.js';
import type { TunnelShared } from '../../../src/ipc/tunnel-shared.js';
import { closeFd } from '../../../src/os/fd.js';
import { createPacketBatch, slotOffset, slotPacket } from '../../../src/os/packet-batch.js';
import { recvUdpBatch, sendUdpBatch } from '../../../src/os/packet-io.js';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { PEER_SOLICITED, PEER_TRUSTED, PEER_UNPROVEN } from '../../../src/teredo/peers.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';
import { TUNNEL_COUNTER, TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import type { TunnelCounterName } from '../../../src/teredo/tunnel-counters.js';
import { sendTo, until } from '../../support/loopback.js';
import { ipv6Packet, NATIVE_HOST, PEER_ADDRESS, PREFIX } from '../../support/tunnel-harness.js';

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
      peerTableCapacity: 1024,
    },
    tunFd: parts.tunFd,
    udpFds: [parts.udp],
    rawFd: null,
    counters: new SharedArrayBuffer(8 * TUNNEL_COUNTER_NAMES.length),
    shared: parts.shared.buffer,
    jail: { dev: 0n, ino: 0n },
  };
}

/** A budget of `perSecond` and `burst` on a clock the test moves; it records the loop's own readings. */
function fakeBudget(
  perSecond: number,
  burst: number,
  clock: { nowMs: number },
  readings: number[],
): SlowPathBudget {
  const inner = createSlowPathBudget(perSecond, burst);
  return {
    take(nowMs: number): boolean {
      readings.push(nowMs);
      return inner.take(clock.nowMs);
    },
    get tokens(): number {
      return inner.tokens;
    },
  };
}

test('the slow path within its budgets: over them, packets are dropped and counted, not posted', async (t) => {
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
  // One token a millisecond, bursts of 5 (datagrams) and of 3 (TUN), on a clock the test moves;
  // the loop's own readings (performance.now()) are kept to check it passes monotonic milliseconds.
  const clock = { nowMs: 0 };
  const readings: number[] = [];
  const startedAt = performance.now();
  const server = createSocket('udp4');
  server.bind(TEREDO_CONSTANTS.port, '127.0.0.1');
  await once(server, 'listening');
  const loop = prepareTunnelDataplane(task, counters, (message) => posted.push(message), {
    udp: fakeBudget(1000, 5, clock, readings),
    tun: fakeBudget(1000, 3, clock, readings),
    solicited: fakeBudget(1000, 1, clock, readings),
    server: fakeBudget(1000, 2, clock, readings),
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

  // A flood of 12 datagrams at one instant: the burst of 5 goes on, in order; 7 are dropped
  // (junk is nobody's answer: the solicited budget is not touched).
  await deliver(udp, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(postedTags(), [1, 2, 3, 4, 5]);
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [5, 7]);
  const first = posted[0];
  assert.ok(first?.type === 'slow-path');
  assert.deepEqual(
    [first.workerIndex, first.from, first.packet, first.address, first.port],
    [3, 'udp', junk(1), 0x7f000001, sender.address().port],
  );

  // The datagrams' budget is spent, the TUN side's is not: its burst of 3 goes on.
  await deliver(tunStandIn, [21, 22, 23, 24]);
  assert.deepEqual(postedTags().slice(5), [21, 22, 23]);
  assert.ok(posted.slice(5).every((message) => message.type === 'slow-path' && message.from === 'tun'));
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [8, 8]);

  // 2 ms later: 2 tokens for datagrams.
  clock.nowMs += 2;
  await deliver(udp, [25, 26, 27]);
  assert.deepEqual(postedTags().slice(8), [25, 26]);
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [10, 9]);

  // An hour of quiet refills the burst, no more.
  clock.nowMs += 3_600_000;
  await deliver(udp, [31, 32, 33, 34, 35, 36, 37, 38]);
  assert.deepEqual(postedTags().slice(10), [31, 32, 33, 34, 35]);
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [15, 12]);
  assert.deepEqual([counter('udp-received'), counter('tun-received')], [23, 4]);
  assert.equal(counter('slow-path') + counter('drop-slow-path-budget'), 27, 'every packet one or the other');
  assert.equal(counter('slow-path-solicited'), 0);

  // The loop reads the clock once per slow-path packet, with monotonic milliseconds: one
  // reading per budget asked (a datagram over the budget for anyone that is nobody's answer asks one).
  assert.equal(readings.length, 27);
  const endedAt = performance.now();
  assert.ok(
    readings.every((ms, index) => ms >= startedAt && ms <= endedAt && ms >= (readings[index - 1] ?? 0)),
  );

  // The datagrams' budget is spent: a client's own server (address and port 3544) has its own.
  await deliver(udp, [41]);
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [15, 13]);
  shared.state.publish({
    active: false,
    prefix: 0,
    serverIPv4: 0x7f000001,
    mappedIPv4: 0,
    mappedPort: 0,
    mtu: 0,
  });
  for (const tag of [51, 52, 53]) await sendTo(server, junk(tag), localPort(udp));
  await until(() => counter('udp-received') >= 27, 'the server datagrams');
  assert.deepEqual(postedTags().slice(15), [51, 52], 'the server budget: a burst of 2');
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [17, 14]);
  // ...and the datagrams' budget stays spent for anyone else from that address.
  await deliver(udp, [61]);
  assert.deepEqual([counter('slow-path'), counter('drop-slow-path-budget')], [17, 15]);
  assert.equal(
    readings.length,
    32,
    'one reading per packet: the server datagrams asked only their own budget',
  );
});

test('answers from a peer the local side is soliciting get their own budget while a flood spends the common one', async (t) => {
  const LOCALHOST = 0x7f000001;
  const tunStandIn = openUdp4('127.0.0.1', 0, { reusePort: false });
  const udp = openUdp4('127.0.0.1', 0, { reusePort: false });
  const sender = createSocket('udp4');
  sender.bind(0, '127.0.0.1');
  await once(sender, 'listening');
  const senderPort = sender.address().port;
  const shared = createTunnelShared(16, 1);
  shared.state.publish({
    active: true,
    prefix: PREFIX,
    serverIPv4: 0,
    mappedIPv4: 0,
    mappedPort: 0,
    mtu: 1280,
  });
  const peerAt = (port: number): Uint8Array =>
    encodeTeredoAddress({ prefix: PREFIX, server: 0xc0000201, flags: 0, port, client: LOCALHOST });
  // Pending peers the local side asked for: a Teredo client mapped at the sender's address and
  // port, and a native host. Another Teredo peer was created by a packet nobody asked for.
  const solicitedTeredo = peerAt(senderPort);
  const unsolicitedTeredo = peerAt(senderPort ^ 1);
  shared.table.insert(solicitedTeredo, 0, 1, undefined, PEER_SOLICITED);
  shared.table.insert(NATIVE_HOST, 0, 1, undefined, PEER_SOLICITED);
  shared.table.insert(unsolicitedTeredo, 0, 1, undefined, PEER_UNPROVEN);
  // The solicited Teredo peer, but at a mapping its address does not embed.
  const elsewhere = peerAt(senderPort ^ 2);
  shared.table.insert(elsewhere, 0, 1, undefined, PEER_SOLICITED);
  const counters = new Float64Array(TUNNEL_COUNTER_NAMES.length);
  const counter = (name: TunnelCounterName): number => counters[TUNNEL_COUNTER[name]]!;
  const posted: WorkerToEngine[] = [];
  const clock = { nowMs: 0 };
  const readings: number[] = [];
  const loop = prepareTunnelDataplane(
    relayTask({ workerIndex: 0, prefix: PREFIX, tunFd: tunStandIn, udp, shared }),
    counters,
    (message) => posted.push(message),
    {
      udp: fakeBudget(1000, 2, clock, readings),
      tun: fakeBudget(1000, 2, clock, readings),
      solicited: fakeBudget(1000, 3, clock, readings),
      server: fakeBudget(1000, 2, clock, readings),
    },
  );
  loop.start();
  t.after(() => {
    loop.stop();
    sender.close();
    closeFd(tunStandIn);
    closeFd(udp);
  });
  const send = async (packets: readonly Uint8Array[]): Promise<void> => {
    const target = counter('udp-received') + packets.length;
    for (const packet of packets) await sendTo(sender, packet, localPort(udp));
    await until(() => counter('udp-received') >= target, `${target} datagrams`);
  };
  const from = (source: Uint8Array, tag: number): Uint8Array =>
    ipv6Packet({ source, destination: NATIVE_HOST, payload: new Uint8Array(8).fill(tag) });
  const postedTags = (): number[] =>
    posted.map((message) => (message.type === 'slow-path' ? message.packet[47]! : -1));

  // The flood spends the budget for everybody (2); then only answers of solicited peers pass.
  await send([1, 2, 3].map((tag) => from(unsolicitedTeredo, tag)));
  await send([
    from(solicitedTeredo, 4),
    from(unsolicitedTeredo, 5),
    from(elsewhere, 6),
    from(NATIVE_HOST, 7),
  ]);
  assert.deepEqual(postedTags(), [1, 2, 4, 7]);
  assert.deepEqual(
    [counter('slow-path'), counter('slow-path-solicited'), counter('drop-slow-path-budget')],
    [4, 2, 3],
  );
  // Their budget is a bucket too: a burst of 3.
  await send([8, 9].map((tag) => from(solicitedTeredo, tag)));
  assert.deepEqual(postedTags().slice(4), [8]);
  assert.deepEqual([counter('slow-path-solicited'), counter('drop-slow-path-budget')], [3, 4]);
  // Once trusted, a peer is no longer waited for: its slow-path datagrams share the common budget.
  shared.table.setFlags(shared.table.find(NATIVE_HOST, 0), PEER_SOLICITED | PEER_TRUSTED);
  clock.nowMs += 1;
  await send([10, 11].map((tag) => from(NATIVE_HOST, tag)));
  assert.deepEqual(postedTags().slice(5), [10], 'one token for everybody, none of its own');
  assert.equal(counter('slow-path-solicited'), 3);
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

test('while the control plane is behind, datagrams from anyone are dropped; the TUN side and solicited answers still go', async (t) => {
  const tunStandIn = openUdp4('127.0.0.1', 0, { reusePort: false });
  const udp = openUdp4('127.0.0.1', 0, { reusePort: false });
  const sender = createSocket('udp4');
  sender.bind(0, '127.0.0.1');
  await once(sender, 'listening');
  const shared = createTunnelShared(16, 1);
  shared.state.publish({
    active: true,
    prefix: PREFIX,
    serverIPv4: 0,
    mappedIPv4: 0,
    mappedPort: 0,
    mtu: 1280,
  });
  shared.table.insert(NATIVE_HOST, 0, 1, undefined, PEER_SOLICITED);
  const counters = new Float64Array(TUNNEL_COUNTER_NAMES.length);
  const counter = (name: TunnelCounterName): number => counters[TUNNEL_COUNTER[name]]!;
  const posted: WorkerToEngine[] = [];
  const loop = prepareTunnelDataplane(
    relayTask({ workerIndex: 5, prefix: PREFIX, tunFd: tunStandIn, udp, shared }),
    counters,
    (message) => posted.push(message),
  );
  loop.start();
  t.after(() => {
    loop.stop();
    sender.close();
    closeFd(tunStandIn);
    closeFd(udp);
  });
  const deliver = async (fd: number, packets: readonly Uint8Array[]): Promise<void> => {
    const name = fd === udp ? 'udp-received' : 'tun-received';
    const target = counter(name) + packets.length;
    for (const packet of packets) await sendTo(sender, packet, localPort(fd));
    await until(() => counter(name) >= target, `${target} ${name}`);
  };

  // The control plane has not taken the worker's last BACKLOG_LIMIT - 1 messages.
  for (let k = 1; k < BACKLOG_LIMIT; k++) shared.backlog.posted(5);
  await deliver(udp, [junk(1), junk(2), junk(3)]);
  assert.equal(posted.length, 1, 'one more datagram, then the limit');
  assert.deepEqual([counter('drop-slow-path-backlog'), counter('drop-slow-path-budget')], [2, 0]);
  assert.equal(shared.backlog.waiting(5), BACKLOG_LIMIT);

  const answer = ipv6Packet({ source: NATIVE_HOST, destination: PEER_ADDRESS });
  await deliver(udp, [answer]);
  await deliver(tunStandIn, [junk(4)]);
  assert.equal(posted.length, 3, 'a solicited answer and a TUN packet still go');
  assert.equal(counter('slow-path-solicited'), 1);
  assert.equal(shared.backlog.waiting(5), BACKLOG_LIMIT + 2);

  // It catches up: datagrams from anyone go again.
  for (let k = 0; k < 3; k++) shared.backlog.taken(5);
  await deliver(udp, [junk(5), junk(6)]);
  assert.equal(posted.length, 4);
  assert.equal(counter('drop-slow-path-backlog'), 3);
});
