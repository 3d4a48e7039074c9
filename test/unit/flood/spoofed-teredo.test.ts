/**
 * The flooder's spoofed Teredo pool (scripts/flood/spoofed-teredo.ts), without root: every slot
 * is a well-formed IPv4/UDP packet whose source is the mapping its Teredo source embeds, a client
 * core takes each as a new peer, and a respawn gives every slot a source never used before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpoofedTeredoPool } from '../../../scripts/flood/spoofed-teredo.js';
import type { SpoofedPayload } from '../../../scripts/flood/spoofed-teredo.js';
import { IPV4_UDP_HEADER_BYTES, ipv4HeaderChecksum } from '../../../scripts/flood/ipv4-udp.js';
import { slotPacket } from '../../../src/os/packet-batch.js';
import { teredoClientAt, teredoMappingMatchesAt, teredoServerAt } from '../../../src/teredo/address.js';
import { readU16, readU32 } from '../../../src/teredo/bytes.js';
import { foldSum, onesComplementSum } from '../../../src/teredo/checksum.js';
import { verifyIcmpv6Checksum } from '../../../src/teredo/icmpv6-message.js';
import { bench, CLIENT_ADDRESS, MAPPED_IPV4, MAPPED_PORT } from '../teredo/relay-harness.js';

const SERVER = 0xc6336401; // 198.51.100.1
const TARGET = { ipv4: MAPPED_IPV4, port: MAPPED_PORT, address: CLIENT_ADDRESS, server: SERVER };

/** The UDP checksum over the IPv4 pseudo-header is right (it sums to 0xffff with the checksum in). */
function udpChecksumValid(packet: Uint8Array): boolean {
  const udpLength = readU16(packet, 24);
  let sum = onesComplementSum(packet, 12, 8) + 17 + udpLength;
  sum = onesComplementSum(packet, 20, udpLength, sum);
  return foldSum(sum) === 0xffff;
}

for (const payload of ['echo', 'bubble'] as const satisfies readonly SpoofedPayload[]) {
  test(`${payload}: self-consistent sources, valid checksums, a new source per slot and per respawn`, () => {
    const count = 300;
    const spoofed = buildSpoofedTeredoPool(count, TARGET, payload);
    const b = bench({ capacity: 4096 });
    const seen = new Set<string>();
    for (const generation of [0, 1, 7]) {
      if (generation > 0) spoofed.respawn(generation);
      for (let i = 0; i < count; i++) {
        const packet = slotPacket(spoofed.pool, i);
        const ipv6 = IPV4_UDP_HEADER_BYTES;
        const source = readU32(packet, 12);
        const sourcePort = readU16(packet, 20);
        assert.equal(readU32(packet, 16), MAPPED_IPV4);
        assert.equal(readU16(packet, 22), MAPPED_PORT);
        assert.deepEqual([spoofed.pool.addresses[i], spoofed.pool.ports[i]], [MAPPED_IPV4, MAPPED_PORT]);
        assert.equal(ipv4HeaderChecksum(packet, 0), readU16(packet, 10));
        assert.ok(udpChecksumValid(packet), `slot ${i}: UDP checksum`);
        assert.ok(teredoMappingMatchesAt(packet, ipv6 + 8, source, sourcePort), 'self-consistent');
        assert.equal(teredoServerAt(packet, ipv6 + 8), SERVER);
        assert.deepEqual(packet.subarray(ipv6 + 24, ipv6 + 40), CLIENT_ADDRESS);
        assert.equal(source >>> 8 === 0xcb0071 || source >>> 8 === 0xc00002, true, 'a documentation source');
        if (payload === 'echo') assert.ok(verifyIcmpv6Checksum(packet, ipv6), `slot ${i}: ICMPv6 checksum`);
        else assert.equal(packet.length, IPV4_UDP_HEADER_BYTES + 40);
        seen.add(`${teredoClientAt(packet, ipv6 + 8)}:${sourcePort}`);
        b.udp(packet.subarray(IPV4_UDP_HEADER_BYTES), source, sourcePort);
      }
    }
    assert.equal(seen.size, 3 * count, 'no source twice');
    assert.ok(spoofed.distinctSources > 30_000_000);
    assert.equal(b.counter('rx-mapping-learned'), 3 * count, 'each one a new peer for the client');
    assert.equal(b.counter(payload === 'echo' ? 'decapsulated' : 'rx-bubble'), 3 * count);
  });
}
