/** src/os/raw.ts: openRaw4 (spoofed IPv4/UDP through sendUdpBatch) and sendRaw6, in namespaces. */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { closeFd } from '../../../src/os/fd.js';
import { createPacketBatch, slotOffset, slotPacket } from '../../../src/os/packet-batch.js';
import { errnoName, recvUdpBatch, sendUdpBatch } from '../../../src/os/packet-io.js';
import { openRaw4, openRaw6, sendRaw6 } from '../../../src/os/raw.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';
import { hex, ipv4Number } from '../../support/inet.js';
import { buildIPv4Udp } from '../../support/pcap.js';
import { buildIpv6Udp } from '../os/ipv6-udp.js';
import { netnsScenarios } from '../os/netns-harness.js';
import { fdFlags, ip, O_CLOEXEC, O_NONBLOCK } from '../os/os-tools.js';
import { nextReadable } from '../os/os-tools-io.js';

const SPOOFED = [
  { srcIPv4: '203.0.113.9', srcPort: 4000, slotPort: 0 },
  { srcIPv4: '192.0.2.77', srcPort: 65535, slotPort: 1234 },
  { srcIPv4: '198.51.100.200', srcPort: 1, slotPort: 3544 },
] as const;

netnsScenarios(import.meta.url, {
  'openRaw4 + sendUdpBatch deliver IPv4/UDP packets with the sources written in their headers': async () => {
    ip('addr', 'add', '198.51.100.1/32', 'dev', 'lo');
    const receiver = openUdp4('198.51.100.1', 0, { reusePort: false });
    const port = localPort(receiver);
    const raw = openRaw4();
    assert.equal(fdFlags(raw) & (O_NONBLOCK | O_CLOEXEC), O_NONBLOCK | O_CLOEXEC);
    assert.equal(readFileSync('/proc/net/raw', 'utf8').trim().split('\n').length - 1, 1);

    const out = createPacketBatch(SPOOFED.length, 256);
    SPOOFED.forEach((spoof, i) => {
      const packet = buildIPv4Udp({
        srcIPv4: spoof.srcIPv4,
        srcPort: spoof.srcPort,
        dstIPv4: '198.51.100.1',
        dstPort: port,
        payload: Uint8Array.of(0xa0, i, 0x55),
      });
      out.data.set(packet, slotOffset(out, i));
      out.lengths[i] = packet.length;
      out.addresses[i] = ipv4Number('198.51.100.1');
      // The raw socket ignores the port: the UDP header says where the datagram goes.
      out.ports[i] = spoof.slotPort;
    });
    assert.equal(sendUdpBatch(raw, out, 0, SPOOFED.length), SPOOFED.length);

    const got = createPacketBatch(8, 2048);
    let received = 0;
    const seen: string[] = [];
    while (received < SPOOFED.length) {
      const n = recvUdpBatch(receiver, got);
      assert.ok(n >= 0, errnoName(n));
      for (let i = 0; i < n; i++) {
        const address = got.addresses[i] ?? 0;
        const quad = [24, 16, 8, 0].map((s) => (address >>> s) & 0xff).join('.');
        seen.push(`${quad}:${got.ports[i]} ${hex(slotPacket(got, i))}`);
      }
      received += n;
      if (n === 0) assert.equal(await nextReadable(receiver), 0);
    }
    assert.deepEqual(
      seen,
      SPOOFED.map((spoof, i) => `${spoof.srcIPv4}:${spoof.srcPort} a00${i}55`),
    );
    closeFd(raw);
    closeFd(receiver);
  },

  'sendRaw6 sends one IPv6 packet from any offset to its own destination; errors are negative errno':
    async () => {
      const receiver = createSocket('udp6');
      receiver.bind(0, '::1');
      await once(receiver, 'listening');
      const port = receiver.address().port;
      const raw = openRaw6();
      const packet = buildIpv6Udp({
        source: '::1',
        destination: '::1',
        sourcePort: 3544,
        destinationPort: port,
        payload: Uint8Array.of(1, 2, 3, 4, 5),
      });
      const buffer = new Uint8Array(300).fill(0xee);
      buffer.set(packet, 100);
      const message = once(receiver, 'message') as Promise<[Buffer, { address: string; port: number }]>;
      assert.equal(sendRaw6(raw, buffer, 100, packet.length), packet.length);
      const [payload, from] = await message;
      assert.equal(hex(payload), '0102030405');
      assert.equal(from.port, 3544);
      receiver.close();

      assert.equal(sendRaw6(raw, buffer, 100, 39), -constants.errno.EINVAL, 'shorter than an IPv6 header');
      const unroutable = buildIpv6Udp({
        source: '::1',
        destination: '2001:db8:99::1',
        sourcePort: 1,
        destinationPort: 2,
        payload: new Uint8Array(0),
      });
      assert.equal(errnoName(sendRaw6(raw, unroutable, 0, unroutable.length)), 'ENETUNREACH');
      assert.throws(() => sendRaw6(raw, buffer, 290, 40), RangeError, 'beyond the buffer');
      closeFd(raw);
    },
});
