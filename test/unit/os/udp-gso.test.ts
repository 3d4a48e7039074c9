/**
 * sendUdpBatch with UDP GSO (src/os/packet-io.ts over packet_io.cc), on loopback sockets, no
 * root needed: equal consecutive datagrams to one destination go as one GSO message, which the
 * receiving socket gets back as the same datagrams, in order; the result counts slots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { closeFd } from '../../../src/os/fd.js';
import { createPacketBatch, slotOffset, slotPacket } from '../../../src/os/packet-batch.js';
import type { PacketBatch } from '../../../src/os/packet-batch.js';
import {
  createUdpGso,
  errnoName,
  recvUdpBatch,
  refuseNextGsoForTest,
  sendUdpBatch,
  watchReadable,
} from '../../../src/os/packet-io.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';

const LOCALHOST = 0x7f000001;
const RECEIVE_BUFFER = 1 << 22;

/** A payload nobody else has: slot `tag`'s bytes, each depending on its position too. */
function payload(tag: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, j) => (tag * 31 + j) & 0xff);
}

/** A socket to send to and what arrives there. */
interface Receiver {
  readonly fd: number;
  readonly port: number;
}

function openReceiver(): Receiver {
  const fd = openUdp4('127.0.0.1', 0, { reusePort: false, receiveBufferBytes: RECEIVE_BUFFER });
  return { fd, port: localPort(fd) };
}

/** Fills slots from `start`: one per entry of `plan`, [receiver, length], tagged with the slot index. */
function fill(batch: PacketBatch, start: number, plan: readonly (readonly [Receiver, number])[]): void {
  plan.forEach(([receiver, length], k) => {
    const slot = start + k;
    batch.data.set(payload(slot, length), slotOffset(batch, slot));
    batch.lengths[slot] = length;
    batch.addresses[slot] = LOCALHOST;
    batch.ports[slot] = receiver.port;
  });
}

/** Resolves when fd is readable; rejects after 5 s (a datagram that never comes). */
function readable(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      watch.stop();
      reject(new Error('timed out waiting for datagrams'));
    }, 5_000);
    const watch = watchReadable(fd, () => {
      clearTimeout(timer);
      watch.stop();
      resolve();
    });
  });
}

/** Receives exactly `expected` datagrams (and checks nothing more is queued). */
async function receive(receiver: Receiver, expected: number): Promise<Uint8Array[]> {
  const inbox = createPacketBatch(64, 2048);
  const got: Uint8Array[] = [];
  while (got.length < expected) {
    const n = recvUdpBatch(receiver.fd, inbox, Math.min(64, expected - got.length));
    assert.ok(n >= 0, `recvUdpBatch: ${errnoName(n)}`);
    for (let i = 0; i < n; i++) got.push(slotPacket(inbox, i).slice());
    if (n === 0) await readable(receiver.fd);
  }
  assert.equal(recvUdpBatch(receiver.fd, inbox), 0, 'no datagram beyond the expected ones');
  return got;
}

/** The payloads of these slots, in slot order. */
function expectedFrom(batch: PacketBatch, slots: readonly number[]): Uint8Array[] {
  return slots.map((slot) => slotPacket(batch, slot).slice());
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

function setUp(t: { after(fn: () => void): void }): {
  sender: number;
  a: Receiver;
  b: Receiver;
} {
  const sender = openUdp4('127.0.0.1', 0, { reusePort: false });
  const a = openReceiver();
  const b = openReceiver();
  t.after(() => {
    for (const fd of [sender, a.fd, b.fd]) closeFd(fd);
  });
  return { sender, a, b };
}

test('a UDP socket can do GSO; runs of one destination and length go as one message each', async (t) => {
  const { sender, a, b } = setUp(t);
  const gso = createUdpGso(sender);
  assert.equal(gso.enabled, true);
  const batch = createPacketBatch(32, 256);
  // 10 × 100 B to A, 1 × 50 B to A, 5 × 100 B to B, 3 × 100 B to A, from slot 2 on.
  const plan = [
    ...Array.from({ length: 10 }, () => [a, 100] as const),
    [a, 50] as const,
    ...Array.from({ length: 5 }, () => [b, 100] as const),
    ...Array.from({ length: 3 }, () => [a, 100] as const),
  ];
  fill(batch, 2, plan);
  assert.equal(sendUdpBatch(sender, batch, 2, 19, gso), 19, 'slots, not messages');
  assert.deepEqual(
    [gso.messages, gso.segments, gso.refusals],
    [3, 18, 0],
    'three runs merged, the 50-byte datagram alone',
  );
  assert.deepEqual(await receive(a, 14), expectedFrom(batch, [...range(2, 13), ...range(18, 21)]));
  assert.deepEqual(await receive(b, 5), expectedFrom(batch, range(13, 18)));
});

test('more than 64 equal datagrams take two messages; odd lengths and zero lengths stay whole', async (t) => {
  const { sender, a, b } = setUp(t);
  const gso = createUdpGso(sender);
  const batch = createPacketBatch(128, 1500);
  fill(batch, 0, [
    ...Array.from({ length: 100 }, () => [a, 300] as const),
    [b, 0] as const,
    [b, 0] as const,
    ...Array.from({ length: 3 }, () => [b, 1333] as const),
  ]);
  assert.equal(sendUdpBatch(sender, batch, 0, 105, gso), 105);
  assert.deepEqual([gso.messages, gso.segments], [3, 103], '64 + 36 to A, 3 to B; the empty ones plain');
  assert.deepEqual(await receive(a, 100), expectedFrom(batch, range(0, 100)));
  const atB = await receive(b, 5);
  assert.deepEqual(
    atB.map((datagram) => datagram.length),
    [0, 0, 1333, 1333, 1333],
  );
  assert.deepEqual(atB, expectedFrom(batch, range(100, 105)));
});

test('a message too large for one datagram is split: 64 KB of 1400-byte datagrams', async (t) => {
  const { sender, a } = setUp(t);
  const gso = createUdpGso(sender);
  const batch = createPacketBatch(64, 1400);
  fill(
    batch,
    0,
    Array.from({ length: 64 }, () => [a, 1400] as const),
  );
  assert.equal(sendUdpBatch(sender, batch, 0, 64, gso), 64);
  // 65000 / 1400 = 46 segments per message at most.
  assert.deepEqual([gso.messages, gso.segments], [2, 64]);
  assert.deepEqual(await receive(a, 64), expectedFrom(batch, range(0, 64)));
});

test('without a GSO state, or for a socket that cannot do it, every datagram goes alone', async (t) => {
  const { sender, a } = setUp(t);
  const batch = createPacketBatch(8, 64);
  fill(
    batch,
    0,
    Array.from({ length: 8 }, () => [a, 64] as const),
  );
  assert.equal(sendUdpBatch(sender, batch, 0, 8), 8);
  assert.deepEqual(await receive(a, 8), expectedFrom(batch, range(0, 8)));
  // A pipe is no UDP socket (nor is a raw socket: it would send a merged message as one packet).
  const notUdp = createUdpGso(0);
  assert.equal(notUdp.enabled, false);
  assert.equal(sendUdpBatch(sender, batch, 0, 8, notUdp), 8);
  assert.equal(notUdp.messages, 0);
  assert.deepEqual(await receive(a, 8), expectedFrom(batch, range(0, 8)));
});

test('a refused GSO message goes again as plain datagrams, and GSO stays off for that state', async (t) => {
  const { sender, a, b } = setUp(t);
  const gso = createUdpGso(sender);
  const batch = createPacketBatch(32, 256);
  fill(batch, 0, [
    ...Array.from({ length: 10 }, () => [a, 100] as const),
    ...Array.from({ length: 5 }, () => [b, 100] as const),
  ]);
  refuseNextGsoForTest(gso, 1);
  assert.equal(sendUdpBatch(sender, batch, 0, 15, gso), 15, 'nothing lost');
  assert.deepEqual([gso.enabled, gso.messages, gso.refusals], [false, 0, 1]);
  assert.deepEqual(await receive(a, 10), expectedFrom(batch, range(0, 10)));
  assert.deepEqual(await receive(b, 5), expectedFrom(batch, range(10, 15)));
  assert.equal(sendUdpBatch(sender, batch, 0, 15, gso), 15);
  assert.deepEqual([gso.messages, gso.refusals], [0, 1], 'no further GSO attempt');
  assert.equal((await receive(a, 10)).length + (await receive(b, 5)).length, 15);
  // Another state for the same socket starts afresh.
  const fresh = createUdpGso(sender);
  assert.equal(sendUdpBatch(sender, batch, 0, 15, fresh), 15);
  assert.deepEqual([fresh.messages, fresh.segments], [2, 15]);
  assert.equal((await receive(a, 10)).length + (await receive(b, 5)).length, 15);
});

test('datagrams the kernel refuses anyway (port 0) fail slot by slot and leave GSO on', async (t) => {
  const { sender, a } = setUp(t);
  const gso = createUdpGso(sender);
  const batch = createPacketBatch(8, 128);
  fill(batch, 0, [
    ...Array.from({ length: 3 }, () => [a, 100] as const),
    ...Array.from({ length: 3 }, () => [a, 100] as const),
  ]);
  batch.ports.fill(0, 0, 3);
  const results: number[] = [];
  for (let first = 0; first < 6;) {
    const sent = sendUdpBatch(sender, batch, first, 6 - first, gso);
    results.push(sent);
    first += sent > 0 ? sent : 1;
  }
  assert.deepEqual(results.map(errnoName).slice(0, 3), ['EINVAL', 'EINVAL', 'EINVAL']);
  assert.deepEqual(results.slice(3), [3]);
  assert.equal(gso.enabled, true, 'a bad destination says nothing about GSO');
  assert.deepEqual([gso.messages, gso.segments, gso.refusals], [1, 3, 2]);
  assert.deepEqual(await receive(a, 3), expectedFrom(batch, range(3, 6)));
});

/**
 * The messages one call makes of these [port, length] slots: within each window of 64 slots,
 * runs of one port and a non-zero length, cut at 64 segments and 65000 bytes.
 */
function gsoModel(slots: readonly (readonly [number, number])[]): { messages: number; segments: number } {
  let messages = 0;
  let segments = 0;
  for (let window = 0; window < slots.length; window += 64) {
    const end = Math.min(window + 64, slots.length);
    for (let i = window; i < end;) {
      const [port, length] = slots[i]!;
      let run = 1;
      const most = length === 0 ? 1 : Math.min(64, Math.floor(65000 / length));
      while (i + run < end && run < most && slots[i + run]![0] === port && slots[i + run]![1] === length)
        run++;
      if (run > 1) {
        messages += 1;
        segments += run;
      }
      i += run;
    }
  }
  return { messages, segments };
}

test('property: any mix of destinations and lengths arrives complete and in order per destination', async (t) => {
  const { sender, a, b } = setUp(t);
  const c = openReceiver();
  t.after(() => closeFd(c.fd));
  const receivers = [a, b, c];
  const batch = createPacketBatch(100, 1000);
  // Runs of one destination and length, as a TCP flow's segments come; at most 100 KB in all.
  const run = fc.record({
    to: fc.integer({ min: 0, max: 2 }),
    length: fc.constantFrom(0, 1, 7, 100, 512, 1000),
    repeat: fc.integer({ min: 1, max: 70 }),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(run, { minLength: 1, maxLength: 12 }), fc.nat(99), async (runs, start) => {
      const plan = runs
        .flatMap(({ to, length, repeat }) =>
          Array.from({ length: repeat }, () => [receivers[to]!, length] as const),
        )
        .slice(0, 100 - (start % 50));
      const first = start % 50;
      fill(batch, first, plan);
      const gso = createUdpGso(sender);
      const sent = sendUdpBatch(sender, batch, first, plan.length, gso);
      assert.equal(sent, plan.length, `sendUdpBatch: ${errnoName(sent)}`);
      const model = gsoModel(plan.map(([to, length]) => [to.port, length] as const));
      assert.deepEqual([gso.messages, gso.segments, gso.refusals], [model.messages, model.segments, 0]);
      for (const receiver of receivers) {
        const slots = plan.flatMap(([to], k) => (to === receiver ? [first + k] : []));
        assert.deepEqual(await receive(receiver, slots.length), expectedFrom(batch, slots));
      }
    }),
    { numRuns: 60 },
  );
});
