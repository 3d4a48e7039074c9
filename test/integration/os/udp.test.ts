/** src/os/udp.ts and the UDP half of src/os/packet-io.ts, in network namespaces. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import fc from 'fast-check';
import { closeFd } from '../../../src/os/fd.js';
import { createPacketBatch, slotOffset, slotPacket } from '../../../src/os/packet-batch.js';
import type { PacketBatch } from '../../../src/os/packet-batch.js';
import { createUdpGso, errnoName, recvUdpBatch, sendUdpBatch } from '../../../src/os/packet-io.js';
import { openRaw4 } from '../../../src/os/raw.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';
import { hex, ipv4Number } from '../../support/inet.js';
import { netnsScenarios } from './netns-harness.js';
import { expectErrno, fdFlags, O_CLOEXEC, O_NONBLOCK } from './os-tools.js';
import { nextReadable } from './os-tools-io.js';

const LOCALHOST = ipv4Number('127.0.0.1');

function fillSlot(
  batch: PacketBatch,
  index: number,
  payload: Uint8Array,
  address: number,
  port: number,
): void {
  batch.data.set(payload, slotOffset(batch, index));
  batch.lengths[index] = payload.length;
  batch.addresses[index] = address;
  batch.ports[index] = port;
}

/** Receives until `expected` datagrams are in `batch` (waiting for readiness in between). */
async function receiveAll(fd: number, batch: PacketBatch, expected: number): Promise<number> {
  const staging = createPacketBatch(batch.count, batch.slotSize);
  let received = 0;
  while (received < expected) {
    const n = recvUdpBatch(fd, staging, expected - received);
    assert.ok(n >= 0, `recvUdpBatch: ${errnoName(n)}`);
    for (let i = 0; i < n; i++) {
      const target = received + i;
      batch.data.set(slotPacket(staging, i), slotOffset(batch, target));
      batch.lengths[target] = staging.lengths[i] ?? 0;
      batch.addresses[target] = staging.addresses[i] ?? 0;
      batch.ports[target] = staging.ports[i] ?? 0;
      batch.localAddresses[target] = staging.localAddresses[i] ?? 0;
    }
    received += n;
    if (received < expected && n === 0) assert.equal(await nextReadable(fd), 0);
  }
  return received;
}

function dfCount(port: number): number {
  const listing = execFileSync('iptables', ['-nvxL', 'OUTPUT'], { encoding: 'utf8' });
  const line = listing.split('\n').find((l) => l.includes(`dpt:${port}`));
  assert.ok(line !== undefined, listing);
  return Number(line.trim().split(/\s+/)[0]);
}

netnsScenarios(import.meta.url, {
  'openUdp4 binds a non-blocking close-on-exec socket and reports its port': () => {
    const fd = openUdp4('127.0.0.1', 0, { reusePort: false });
    assert.equal(fdFlags(fd) & (O_NONBLOCK | O_CLOEXEC), O_NONBLOCK | O_CLOEXEC);
    const port = localPort(fd);
    assert.ok(port > 0 && port < 65536);
    const fixed = openUdp4('0.0.0.0', 3544, { reusePort: false, receiveBufferBytes: 1 << 22 });
    assert.equal(localPort(fixed), 3544);
    const memory = execFileSync('ss', ['-uamnH', 'sport = :3544'], { encoding: 'utf8' });
    assert.match(memory, /rb8388608\b/, 'SO_RCVBUFFORCE of 4 MiB (the kernel doubles it)');
    const batch = createPacketBatch(4, 2048);
    assert.equal(recvUdpBatch(fd, batch), 0, 'nothing queued: 0 at once, never blocks');
    closeFd(fd);
    closeFd(fixed);
  },

  'openUdp4 errors carry errno codes and hints': () => {
    const first = openUdp4('127.0.0.1', 4000, { reusePort: false });
    const taken = expectErrno(() => openUdp4('127.0.0.1', 4000, { reusePort: false }), 'EADDRINUSE');
    assert.equal(taken.syscall, 'bind');
    assert.match(taken.message, /another instance is running\?/);
    expectErrno(() => openUdp4('192.0.2.1', 4001, { reusePort: false }), 'EADDRNOTAVAIL');
    expectErrno(() => openUdp4('300.1.2.3', 4001, { reusePort: false }), 'EINVAL');
    assert.throws(() => openUdp4('127.0.0.1', 70000, { reusePort: false }), RangeError);
    closeFd(first);
  },

  'with reusePort two sockets share one port and both receive': () => {
    const a = openUdp4('127.0.0.1', 0, { reusePort: true });
    const port = localPort(a);
    const b = openUdp4('127.0.0.1', port, { reusePort: true });
    assert.equal(localPort(b), port);
    expectErrno(() => openUdp4('127.0.0.1', port, { reusePort: false }), 'EADDRINUSE');
    // SO_REUSEPORT spreads flows by hash: many source ports reach both sockets.
    const senders = Array.from({ length: 64 }, () => openUdp4('127.0.0.1', 0, { reusePort: false }));
    const batch = createPacketBatch(1, 64);
    fillSlot(batch, 0, Uint8Array.of(1, 2, 3), LOCALHOST, port);
    for (const fd of senders) assert.equal(sendUdpBatch(fd, batch, 0, 1), 1);
    const inbox = createPacketBatch(64, 64);
    const gotA = recvUdpBatch(a, inbox);
    const gotB = recvUdpBatch(b, inbox);
    assert.equal(gotA + gotB, 64);
    assert.ok(gotA > 0 && gotB > 0, `a got ${gotA}, b got ${gotB}`);
    for (const fd of [a, b, ...senders]) closeFd(fd);
  },

  'batches of datagrams round-trip byte for byte with source and destination addresses': async () => {
    const receiver = openUdp4('0.0.0.0', 0, { reusePort: false, receiveBufferBytes: 1 << 22 });
    const sender = openUdp4('127.0.0.1', 0, { reusePort: false });
    const receiverPort = localPort(receiver);
    const senderPort = localPort(sender);
    const destination = ipv4Number('127.0.0.2');
    const outbox = createPacketBatch(150, 1500, { shared: true });
    const inbox = createPacketBatch(150, 1500);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 1472 }), { minLength: 1, maxLength: 150 }),
        async (payloads) => {
          payloads.forEach((payload, i) => fillSlot(outbox, i, payload, destination, receiverPort));
          let sent = 0;
          while (sent < payloads.length) {
            const n = sendUdpBatch(sender, outbox, sent, payloads.length - sent);
            assert.ok(n > 0, `sendUdpBatch: ${errnoName(n)}`);
            sent += n;
          }
          assert.equal(await receiveAll(receiver, inbox, payloads.length), payloads.length);
          payloads.forEach((payload, i) => {
            assert.equal(hex(slotPacket(inbox, i)), hex(payload), `datagram ${i}`);
            assert.equal(inbox.addresses[i], LOCALHOST);
            assert.equal(inbox.ports[i], senderPort);
            assert.equal(inbox.localAddresses[i], destination, 'IP_PKTINFO destination');
          });
          assert.equal(recvUdpBatch(receiver, inbox), 0);
        },
      ),
      { numRuns: 25 },
    );
    closeFd(receiver);
    closeFd(sender);
  },

  'a datagram longer than its slot is reported with length 0': () => {
    const receiver = openUdp4('127.0.0.1', 0, { reusePort: false });
    const sender = openUdp4('127.0.0.1', 0, { reusePort: false });
    const outbox = createPacketBatch(2, 100);
    fillSlot(outbox, 0, new Uint8Array(100).fill(7), LOCALHOST, localPort(receiver));
    fillSlot(outbox, 1, Uint8Array.of(9, 8, 7), LOCALHOST, localPort(receiver));
    assert.equal(sendUdpBatch(sender, outbox, 0, 2), 2);
    const inbox = createPacketBatch(4, 64);
    assert.equal(recvUdpBatch(receiver, inbox), 2);
    assert.equal(inbox.lengths[0], 0);
    assert.deepEqual([...slotPacket(inbox, 1)], [9, 8, 7]);
    closeFd(receiver);
    closeFd(sender);
  },

  'send errors come back as a negative errno for the failing slot, after the slots before it': () => {
    const receiver = openUdp4('127.0.0.1', 0, { reusePort: false });
    const sender = openUdp4('0.0.0.0', 0, { reusePort: false });
    const port = localPort(receiver);
    const outbox = createPacketBatch(3, 16);
    fillSlot(outbox, 0, Uint8Array.of(0), LOCALHOST, port);
    fillSlot(outbox, 1, Uint8Array.of(1), ipv4Number('192.0.2.1'), port); // the namespace routes only loopback
    fillSlot(outbox, 2, Uint8Array.of(2), LOCALHOST, port);
    assert.equal(sendUdpBatch(sender, outbox, 0, 3), 1);
    const failed = sendUdpBatch(sender, outbox, 1, 2);
    assert.equal(errnoName(failed), 'ENETUNREACH');
    assert.ok(failed < 0);
    assert.equal(sendUdpBatch(sender, outbox, 2, 1), 1);
    const inbox = createPacketBatch(4, 16);
    assert.equal(recvUdpBatch(receiver, inbox), 2);
    assert.deepEqual([...slotPacket(inbox, 0), ...slotPacket(inbox, 1)], [0, 2]);

    closeFd(receiver);
    assert.equal(errnoName(recvUdpBatch(receiver, inbox)), 'EBADF');
    assert.equal(recvUdpBatch(receiver, inbox), -9);
    outbox.lengths[0] = 17;
    assert.throws(
      () => sendUdpBatch(sender, outbox, 0, 1),
      RangeError,
      'a length beyond the slot is a programmer error',
    );
    assert.throws(() => sendUdpBatch(sender, outbox, 2, 2), RangeError);
    assert.throws(() => recvUdpBatch(sender, inbox, 5), RangeError);
    closeFd(sender);
  },

  'a GSO message the kernel refuses (segments above the MTU) goes as plain, fragmented datagrams':
    async () => {
      execFileSync('ip', ['link', 'set', 'lo', 'mtu', '1200']);
      const receiver = openUdp4('127.0.0.1', 0, { reusePort: false, receiveBufferBytes: 1 << 22 });
      const sender = openUdp4('127.0.0.1', 0, { reusePort: false });
      const gso = createUdpGso(sender);
      const outbox = createPacketBatch(10, 1400);
      const inbox = createPacketBatch(10, 1400);
      const payloads = Array.from({ length: 10 }, (_, i) => new Uint8Array(i < 5 ? 1300 : 1000).fill(i));
      payloads.forEach((payload, i) => fillSlot(outbox, i, payload, LOCALHOST, localPort(receiver)));
      // 28 + 1300 bytes exceed the MTU: EMSGSIZE for GSO, while a plain send fragments (DF clear).
      assert.equal(sendUdpBatch(sender, outbox, 0, 10, gso), 10);
      assert.deepEqual(
        [gso.enabled, gso.refusals, gso.messages, gso.segments],
        [true, 1, 1, 5],
        'the 1300-byte run refused and sent plain, the 1000-byte run merged',
      );
      assert.equal(await receiveAll(receiver, inbox, 10), 10);
      payloads.forEach((payload, i) =>
        assert.equal(hex(slotPacket(inbox, i)), hex(payload), `datagram ${i}`),
      );
      closeFd(receiver);
      closeFd(sender);
    },

  'a raw socket never gets GSO: it would send a merged message as one packet': () => {
    const raw = openRaw4();
    assert.equal(createUdpGso(raw).enabled, false);
    closeFd(raw);
  },

  'datagrams leave with DF clear (IP_PMTUDISC_DONT), unlike a default socket': async () => {
    const sink = createSocket('udp4');
    sink.bind(0, '127.0.0.1');
    await once(sink, 'listening');
    const nativePort = 40001;
    const dgramPort = 40002;
    for (const port of [nativePort, dgramPort]) {
      execFileSync('iptables', [
        '-A',
        'OUTPUT',
        '-p',
        'udp',
        '--dport',
        String(port),
        '-m',
        'u32',
        '--u32',
        '4&0x4000=0x4000',
      ]);
    }
    const fd = openUdp4('127.0.0.1', 0, { reusePort: false });
    const outbox = createPacketBatch(4, 16);
    fillSlot(outbox, 0, Uint8Array.of(1), LOCALHOST, nativePort);
    assert.equal(sendUdpBatch(fd, outbox, 0, 1), 1);
    // A GSO message's datagrams get its header: DF clear too.
    for (let i = 1; i < 4; i++) fillSlot(outbox, i, Uint8Array.of(i), LOCALHOST, nativePort);
    const gso = createUdpGso(fd);
    assert.equal(sendUdpBatch(fd, outbox, 1, 3, gso), 3);
    assert.equal(gso.segments, 3);
    const plain = createSocket('udp4');
    await new Promise<void>((resolve, reject) =>
      plain.send(Uint8Array.of(1), dgramPort, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
    assert.equal(dfCount(dgramPort), 1, 'the rule counts DF datagrams (sanity check)');
    assert.equal(dfCount(nativePort), 0, 'our datagram had DF clear');
    plain.close();
    sink.close();
    closeFd(fd);
  },
});
