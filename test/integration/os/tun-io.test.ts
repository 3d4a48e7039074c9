/** The TUN half of src/os/packet-io.ts: packets between the kernel's IPv6 stack and TUN queues. */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { closeFd } from '../../../src/os/fd.js';
import { createPacketBatch, slotOffset, slotPacket } from '../../../src/os/packet-batch.js';
import type { PacketBatch } from '../../../src/os/packet-batch.js';
import { errnoName, readTunBatch, writeTunBatch } from '../../../src/os/packet-io.js';
import { addAddress6, addRoute6, openTun, setLinkUp, setMtu } from '../../../src/os/tun.js';
import type { TunDevice } from '../../../src/os/tun.js';
import { hex, ipv6Bytes } from '../../support/inet.js';
import { buildIpv6Udp, fullIpv6, parseIpv6Udp } from './ipv6-udp.js';
import { netnsScenarios } from './netns-harness.js';
import { nextReadable } from './os-tools-io.js';

const LOCAL = '2001:db8:2::1'; // on the tunnel interface
const REMOTE = '2001:db8:1::5'; // routed into the tunnel
const REMOTE_PORT = 9999;

function tunnel(name: string, queues: number): TunDevice {
  const tun = openTun(name, queues);
  setMtu(name, 1280);
  setLinkUp(name, true);
  addAddress6(tun.ifindex, ipv6Bytes(LOCAL), 64);
  addRoute6(tun.ifindex, ipv6Bytes('2001:db8:1::'), 64, 1024);
  return tun;
}

async function udp6(port = 0): Promise<Socket> {
  const socket = createSocket('udp6');
  socket.bind(port, LOCAL);
  await once(socket, 'listening');
  return socket;
}

function send(socket: Socket, payload: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(payload, REMOTE_PORT, REMOTE, (error) => (error ? reject(error) : resolve())),
  );
}

/** Reads `fd` until `wanted` UDP packets to REMOTE_PORT were seen (other traffic, e.g. MLD, is skipped). */
async function readUdpPackets(fd: number, batch: PacketBatch, wanted: number): Promise<Uint8Array[]> {
  const packets: Uint8Array[] = [];
  while (packets.length < wanted) {
    const n = readTunBatch(fd, batch);
    assert.ok(n >= 0, `readTunBatch: ${errnoName(n)}`);
    if (n === 0) {
      assert.equal(await nextReadable(fd), 0);
      continue;
    }
    for (let i = 0; i < n; i++) {
      const packet = slotPacket(batch, i).slice();
      if (parseIpv6Udp(packet)?.destinationPort === REMOTE_PORT) packets.push(packet);
    }
  }
  return packets;
}

function fill(batch: PacketBatch, index: number, packet: Uint8Array): void {
  batch.data.set(packet, slotOffset(batch, index));
  batch.lengths[index] = packet.length;
}

netnsScenarios(import.meta.url, {
  'packets the kernel routes into the TUN are read back in batches, byte for byte': async () => {
    const tun = tunnel('mts0', 1);
    const [fd] = tun.fds;
    assert.ok(fd !== undefined);
    const socket = await udp6();
    const payloads = Array.from({ length: 20 }, (_, i) =>
      Uint8Array.from({ length: 10 + i * 50 }, (_, j) => (i * 7 + j) & 0xff),
    );
    for (const payload of payloads) await send(socket, payload);
    const batch = createPacketBatch(8, 1280);
    const packets = await readUdpPackets(fd, batch, payloads.length);
    packets.forEach((packet, i) => {
      const parsed = parseIpv6Udp(packet);
      assert.ok(parsed !== undefined);
      assert.equal(parsed.source, fullIpv6(LOCAL));
      assert.equal(parsed.destination, fullIpv6(REMOTE));
      assert.equal(parsed.sourcePort, socket.address().port);
      assert.ok(parsed.checksumValid);
      assert.equal(hex(parsed.payload), hex(payloads[i] ?? new Uint8Array()));
    });
    assert.equal(readTunBatch(fd, batch), 0, 'drained: 0 at once, never blocks');
    socket.close();
    closeFd(fd);
  },

  'packets written to the TUN reach a local socket; a malformed one is a negative errno': async () => {
    const tun = tunnel('mts1', 1);
    const [fd] = tun.fds;
    assert.ok(fd !== undefined);
    const socket = await udp6();
    const received: { payload: string; address: string; port: number }[] = [];
    const payloads = Array.from({ length: 6 }, (_, i) =>
      Uint8Array.from({ length: 1 + i * 100 }, (_, j) => (j * 3 + i) & 0xff),
    );
    const allReceived = new Promise<void>((resolve) => {
      socket.on('message', (message, rinfo) => {
        received.push({ payload: hex(message), address: rinfo.address, port: rinfo.port });
        if (received.length === payloads.length) resolve();
      });
    });
    const batch = createPacketBatch(8, 1280);
    payloads.forEach((payload, i) =>
      fill(
        batch,
        i,
        buildIpv6Udp({
          source: REMOTE,
          destination: LOCAL,
          sourcePort: 7000 + i,
          destinationPort: socket.address().port,
          payload,
        }),
      ),
    );
    fill(batch, 6, Uint8Array.of(0x00, 1, 2, 3)); // IP version 0
    fill(
      batch,
      7,
      buildIpv6Udp({
        source: REMOTE,
        destination: LOCAL,
        sourcePort: 7100,
        destinationPort: 9,
        payload: new Uint8Array(8),
      }),
    );

    assert.equal(writeTunBatch(fd, batch, 0, 6), 6);
    await allReceived;
    received.sort((a, b) => a.port - b.port);
    received.forEach((entry, i) => {
      assert.deepEqual(entry, {
        payload: hex(payloads[i] ?? new Uint8Array()),
        address: REMOTE,
        port: 7000 + i,
      });
    });
    assert.equal(errnoName(writeTunBatch(fd, batch, 6, 2)), 'EINVAL');
    assert.equal(writeTunBatch(fd, batch, 7, 1), 1, 'the batch goes on after the bad slot');
    assert.throws(() => writeTunBatch(fd, batch, 7, 2), RangeError);
    socket.close();
    closeFd(fd);
  },

  'with two queues, flows spread over both and each queue can be read and written': async () => {
    const tun = tunnel('mts2', 2);
    const [q0, q1] = tun.fds;
    assert.ok(q0 !== undefined && q1 !== undefined);
    const sockets = await Promise.all(Array.from({ length: 32 }, () => udp6()));
    for (const socket of sockets) await send(socket, Uint8Array.of(1));
    const batch = createPacketBatch(64, 1280);
    const counts = [q0, q1].map((fd) => {
      let seen = 0;
      for (let n = readTunBatch(fd, batch); n > 0; n = readTunBatch(fd, batch)) {
        for (let i = 0; i < n; i++)
          if (parseIpv6Udp(slotPacket(batch, i))?.destinationPort === REMOTE_PORT) seen++;
      }
      return seen;
    });
    assert.equal((counts[0] ?? 0) + (counts[1] ?? 0), 32);
    assert.ok((counts[0] ?? 0) > 0 && (counts[1] ?? 0) > 0, `per queue: ${counts.join(', ')}`);

    const sink = await udp6();
    const got = once(sink, 'message');
    fill(
      batch,
      0,
      buildIpv6Udp({
        source: REMOTE,
        destination: LOCAL,
        sourcePort: 1,
        destinationPort: sink.address().port,
        payload: Uint8Array.of(42),
      }),
    );
    assert.equal(writeTunBatch(q1, batch, 0, 1), 1);
    const [message] = (await got) as [Buffer];
    assert.deepEqual([...message], [42]);
    for (const socket of [...sockets, sink]) socket.close();
    closeFd(q0);
    closeFd(q1);
  },

  'a packet longer than its slot is reported with length 0': async () => {
    const tun = tunnel('mts3', 1);
    const [fd] = tun.fds;
    assert.ok(fd !== undefined);
    const socket = await udp6();
    await send(socket, new Uint8Array(200));
    await send(socket, new Uint8Array(100 - 48)); // exactly fills a slot: not truncated
    await send(socket, new Uint8Array(4));
    assert.equal(await nextReadable(fd), 0);
    const small = createPacketBatch(4, 100);
    const lengths: number[] = [];
    for (let n = readTunBatch(fd, small); n > 0; n = readTunBatch(fd, small))
      lengths.push(...small.lengths.subarray(0, n));
    assert.ok(lengths.includes(0), `lengths ${lengths.join(',')}`);
    assert.ok(lengths.includes(100), `lengths ${lengths.join(',')}`);
    assert.ok(lengths.includes(40 + 8 + 4), `lengths ${lengths.join(',')}`);
    socket.close();
    closeFd(fd);
  },
});
