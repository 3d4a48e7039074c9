import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  computeUpperLayerChecksum,
  fillUpperLayerChecksum,
  foldSum,
  onesComplementSum,
  verifyUpperLayerChecksum,
} from '../../../src/teredo/checksum.js';
import { writeIPv6Header } from '../../../src/teredo/ipv6-header.js';
import { bytesOf, CLIENT_ADDRESS, NATIVE_ADDRESS } from './fixtures.js';

/** Textbook checksum, folding after every word: the oracle. */
function naiveChecksum(packet: Uint8Array, ipv6Offset: number): number {
  const plen = (packet[ipv6Offset + 4]! << 8) | packet[ipv6Offset + 5]!;
  const words: number[] = [];
  for (let i = 0; i < 32; i += 2)
    words.push((packet[ipv6Offset + 8 + i]! << 8) | packet[ipv6Offset + 9 + i]!);
  words.push(0, plen, 0, packet[ipv6Offset + 6]!);
  const upper = ipv6Offset + 40;
  for (let i = 0; i < plen; i += 2)
    words.push((packet[upper + i]! << 8) | (i + 1 < plen ? packet[upper + i + 1]! : 0));
  let sum = 0;
  for (const word of words) {
    sum += word;
    if (sum > 0xffff) sum = (sum & 0xffff) + 1;
  }
  return ~sum & 0xffff;
}

function packetWithPayload(payload: Uint8Array, nextHeader = 58, offset = 0): Uint8Array {
  const packet = new Uint8Array(offset + 40 + payload.length);
  writeIPv6Header(packet, offset, {
    payloadLength: payload.length,
    nextHeader,
    hopLimit: 64,
    source: CLIENT_ADDRESS,
    destination: NATIVE_ADDRESS,
  });
  packet.set(payload, offset + 40);
  return packet;
}

test('RFC 1071 section 3 example sums to ddf2', () => {
  const bytes = bytesOf('0001 f203 f4f5 f6f7');
  assert.equal(onesComplementSum(bytes, 0, bytes.length), 0x2ddf0);
  assert.equal(foldSum(0x2ddf0), 0xddf2);
});

test('odd lengths pad the last byte with zero; folding carries end-around', () => {
  assert.equal(onesComplementSum(bytesOf('01'), 0, 1), 0x0100);
  assert.equal(onesComplementSum(bytesOf('ff0102'), 1, 2), 0x0102);
  assert.equal(foldSum(0x1ffff), 0x0001);
  assert.equal(foldSum(0xffff), 0xffff);
  assert.equal(foldSum(0x1_0000_0000_0000), 0x0001);
});

test('the Router Solicitation checksum is 0x7d37 (reference 4.4)', () => {
  const rs = bytesOf(`
    6000000000083aff fe800000000000000000ffffffffffff ff020000000000000000000000000002
    8500000000000000`);
  assert.equal(computeUpperLayerChecksum(rs, 0), 0x7d37);
  fillUpperLayerChecksum(rs, 0, 2);
  assert.equal(rs[42], 0x7d);
  assert.equal(rs[43], 0x37);
  assert.equal(verifyUpperLayerChecksum(rs, 0), true);
});

test('hop limit, traffic class and flow label are outside the pseudo-header', () => {
  const packet = packetWithPayload(bytesOf('8000000012345678abcdef'));
  fillUpperLayerChecksum(packet, 0, 2);
  packet[7] = 1;
  packet[1] = 0xff;
  packet[3] = 0x42;
  assert.equal(verifyUpperLayerChecksum(packet, 0), true);
  packet[6] = 17;
  assert.equal(verifyUpperLayerChecksum(packet, 0), false, 'next header is in the pseudo-header');
});

test('verify is false, not an exception, for packets outside the buffer', () => {
  const packet = packetWithPayload(bytesOf('8000000000000000'));
  fillUpperLayerChecksum(packet, 0, 2);
  assert.equal(verifyUpperLayerChecksum(packet.subarray(0, 47), 0), false);
  assert.equal(verifyUpperLayerChecksum(packet, 10), false);
  assert.equal(verifyUpperLayerChecksum(packet, -1), false);
  assert.equal(verifyUpperLayerChecksum(new Uint8Array(0), 0), false);
});

test('property: fill then verify, equal to the textbook algorithm, any single flip detected', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 4, maxLength: 300 }),
      fc.integer({ min: 0, max: 9 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (payload, offset, where, delta) => {
        const packet = packetWithPayload(payload, 58, offset);
        fillUpperLayerChecksum(packet, offset, 2);
        packet[offset + 42] = 0;
        packet[offset + 43] = 0;
        const expected = naiveChecksum(packet, offset);
        fillUpperLayerChecksum(packet, offset, 2);
        assert.equal((packet[offset + 42]! << 8) | packet[offset + 43]!, expected);
        assert.equal(verifyUpperLayerChecksum(packet, offset), true);

        // One changed byte alters a word by less than 0xffff, which one's complement always detects.
        const covered = [...Array(32).keys()].map((i) => offset + 8 + i);
        for (let i = 0; i < payload.length; i++) covered.push(offset + 40 + i);
        const index = covered[where % covered.length]!;
        packet[index] = (packet[index]! + delta) & 0xff;
        assert.equal(verifyUpperLayerChecksum(packet, offset), false);
      },
    ),
    { numRuns: 500 },
  );
});

test('a maximal payload keeps full precision', () => {
  const payload = new Uint8Array(65535).fill(0xff);
  payload[0] = 0x80;
  const packet = packetWithPayload(payload);
  fillUpperLayerChecksum(packet, 0, 2);
  packet[42] = 0;
  packet[43] = 0;
  const expected = naiveChecksum(packet, 0);
  fillUpperLayerChecksum(packet, 0, 2);
  assert.equal((packet[42]! << 8) | packet[43]!, expected);
  assert.equal(verifyUpperLayerChecksum(packet, 0), true);
});
