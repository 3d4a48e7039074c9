import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineConstants, UNREACHABLE_CODE } from '../../../src/teredo/constants.js';
import {
  buildDestinationUnreachable,
  buildEcho,
  createDestinationUnreachable,
  destinationUnreachableLength,
  parseDestinationUnreachable,
  unreachableRefusal,
  verifyIcmpv6Checksum,
} from '../../../src/teredo/icmpv6.js';
import type { UnreachableBuildResult } from '../../../src/teredo/icmpv6.js';
import { writeIPv6Header } from '../../../src/teredo/wire.js';
import { address, CLIENT_ADDRESS, hexOf, NATIVE_ADDRESS } from './fixtures.js';

const RELAY_ADDRESS = address('2001:0:c633:6401:8000:f227:3ccc:9bfe');

function udpPacket(payloadLength: number, source = NATIVE_ADDRESS, destination = CLIENT_ADDRESS): Uint8Array {
  const packet = new Uint8Array(40 + payloadLength);
  writeIPv6Header(packet, 0, { payloadLength, nextHeader: 17, hopLimit: 64, source, destination });
  for (let i = 40; i < packet.length; i++) packet[i] = i & 0xff;
  return packet;
}

function icmpPacket(type: number, messageLength = 8): Uint8Array {
  const packet = udpPacket(messageLength);
  packet[6] = 58;
  if (messageLength > 0) packet[40] = type;
  return packet;
}

function expectBuilt(result: UnreachableBuildResult): number {
  assert.equal(result.kind, 'built');
  return result.kind === 'built' ? result.length : -1;
}

test('an error quotes a small offending packet whole and goes back to its source', () => {
  const offending = udpPacket(26);
  const out = new Uint8Array(200).fill(0xee);
  const length = expectBuilt(
    buildDestinationUnreachable(out, 3, {
      code: UNREACHABLE_CODE.addressUnreachable,
      source: RELAY_ADDRESS,
      offending,
    }),
  );
  assert.equal(length, 40 + 8 + 66);
  assert.equal(destinationUnreachableLength(66), length);
  assert.equal(
    hexOf(out.subarray(3, 45)),
    '60000000' + '004a' + '3a' + '40' + hexOf(RELAY_ADDRESS) + hexOf(NATIVE_ADDRESS) + '01' + '03',
  );
  assert.equal(hexOf(out.subarray(47, 51)), '00000000');
  assert.equal(hexOf(out.subarray(51, 51 + 66)), hexOf(offending));
  assert.equal(out[2], 0xee);
  assert.equal(out[3 + length], 0xee);
  assert.equal(verifyIcmpv6Checksum(out, 3), true);

  const parsed = createDestinationUnreachable();
  assert.equal(parseDestinationUnreachable(out, 3, length, parsed), 'ok');
  assert.deepEqual(parsed, { code: 3, quotedOffset: 51, quotedLength: 66 });
});

test('a large offending packet is cut so the error is exactly 1280 bytes', () => {
  const out = new Uint8Array(2000);
  for (const [offendingLength, expected] of [
    [1231, 1279],
    [1232, 1280],
    [1233, 1280],
    [1500, 1280],
    [65535, 1280],
  ] as const) {
    const offending = udpPacket(offendingLength - 40);
    const length = expectBuilt(
      buildDestinationUnreachable(out, 0, { code: 0, source: RELAY_ADDRESS, offending }),
    );
    assert.equal(length, expected, String(offendingLength));
    assert.equal(hexOf(out.subarray(48, length)), hexOf(offending.subarray(0, length - 48)));
    assert.equal(verifyIcmpv6Checksum(out, 0), true);
  }
});

test('the offending packet may sit inside a larger buffer, and the quote limit can be overridden', () => {
  const inner = udpPacket(100);
  const buffer = new Uint8Array(inner.length + 10);
  buffer.set(inner, 4);
  const out = new Uint8Array(300);
  const constants = defineConstants({ icmpErrorQuoteLimit: 64 });
  const length = expectBuilt(
    buildDestinationUnreachable(
      out,
      0,
      {
        code: 1,
        source: RELAY_ADDRESS,
        offending: buffer,
        offendingOffset: 4,
        offendingLength: inner.length,
      },
      constants,
    ),
  );
  assert.equal(length, 40 + 8 + 64);
  assert.equal(hexOf(out.subarray(24, 40)), hexOf(NATIVE_ADDRESS));
  assert.equal(hexOf(out.subarray(48, length)), hexOf(inner.subarray(0, 64)));
});

test('no error about errors, multicast destinations, or unusable sources', () => {
  const refusals: ReadonlyArray<readonly [string, Uint8Array, string]> = [
    ['destination unreachable', icmpPacket(1), 'offending-is-icmpv6-error'],
    ['parameter problem', icmpPacket(4), 'offending-is-icmpv6-error'],
    ['type 127', icmpPacket(127), 'offending-is-icmpv6-error'],
    ['ICMPv6 without a type byte', icmpPacket(0, 0), 'offending-is-icmpv6-error'],
    ['multicast destination', udpPacket(8, NATIVE_ADDRESS, address('ff02::1')), 'multicast-destination'],
    ['unspecified source', udpPacket(8, address('::')), 'unusable-source'],
    ['multicast source', udpPacket(8, address('ff0e::1')), 'unusable-source'],
    ['39 bytes', udpPacket(8).subarray(0, 39), 'offending-not-ipv6'],
    ['IPv4', Uint8Array.from([0x45, ...udpPacket(8).subarray(1)]), 'offending-not-ipv6'],
  ];
  const out = new Uint8Array(200).fill(0xee);
  for (const [name, offending, reason] of refusals) {
    assert.deepEqual(
      buildDestinationUnreachable(out, 0, { code: 3, source: RELAY_ADDRESS, offending }),
      { kind: 'refused', reason },
      name,
    );
    assert.equal(unreachableRefusal(offending, 0, offending.length), reason, name);
  }
  assert.ok(
    out.every((byte) => byte === 0xee),
    'nothing written when refused',
  );
  assert.equal(unreachableRefusal(icmpPacket(128), 0, 48), null, 'informational messages get errors');
  assert.equal(unreachableRefusal(udpPacket(8), 0, 200), 'offending-not-ipv6', 'region outside the buffer');
});

test('parseDestinationUnreachable drop reasons', () => {
  const parsed = createDestinationUnreachable();
  assert.equal(parseDestinationUnreachable(icmpPacket(128), 0, 48, parsed), 'not-destination-unreachable');
  assert.equal(parseDestinationUnreachable(udpPacket(8), 0, 48, parsed), 'not-icmpv6');
  assert.equal(parseDestinationUnreachable(icmpPacket(1, 4), 0, 44, parsed), 'icmpv6-truncated');
  assert.equal(parseDestinationUnreachable(icmpPacket(1), 0, 47, parsed), 'ipv6-payload-truncated');
  assert.deepEqual(parsed, { code: 0, quotedOffset: -1, quotedLength: 0 });
  assert.equal(parseDestinationUnreachable(icmpPacket(1), 0, 48, parsed), 'ok');
  assert.equal(parsed.quotedLength, 0);
});

test('buildDestinationUnreachable throws only for a short output buffer', () => {
  const offending = udpPacket(26);
  assert.throws(
    () => buildDestinationUnreachable(new Uint8Array(113), 0, { code: 3, source: RELAY_ADDRESS, offending }),
    RangeError,
  );
  const echo = new Uint8Array(48);
  buildEcho(echo, 0, {
    kind: 'request',
    source: NATIVE_ADDRESS,
    destination: CLIENT_ADDRESS,
    hopLimit: 1,
    identifier: 1,
    sequence: 1,
  });
  assert.equal(
    expectBuilt(
      buildDestinationUnreachable(new Uint8Array(96), 0, { code: 3, source: RELAY_ADDRESS, offending: echo }),
    ),
    96,
  );
});
