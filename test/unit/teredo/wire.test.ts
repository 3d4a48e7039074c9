import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authHeaderLength,
  checkIPv6Packet,
  createTeredoPayload,
  ipv6FlowLabel,
  ipv6HopLimit,
  ipv6NextHeader,
  ipv6PacketLength,
  ipv6PayloadLength,
  ipv6TrafficClass,
  ipv6Version,
  parseTeredoPayload,
  writeAuthHeader,
  writeIPv6Header,
  writeOriginIndication,
} from '../../../src/teredo/wire.js';
import { bytesOf, CLIENT_ADDRESS, hexOf, NATIVE_ADDRESS, NONCE } from './fixtures.js';

/** 40-byte header, plen 4, nh 58, then 4 payload bytes: 44 bytes. */
const SMALL_PACKET = bytesOf(`
  60000000 0004 3a 40
  20010000c6336401000063bf34ff8efa
  20010db8000000000000000000000001
  deadbeef`);

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

test('writeIPv6Header is byte exact and the accessors read it back', () => {
  const out = new Uint8Array(43).fill(0xee);
  const length = writeIPv6Header(out, 2, {
    payloadLength: 0x1234,
    nextHeader: 17,
    hopLimit: 200,
    source: CLIENT_ADDRESS,
    destination: NATIVE_ADDRESS,
    trafficClass: 0xab,
    flowLabel: 0x12345,
  });
  assert.equal(length, 40);
  assert.equal(
    hexOf(out),
    'eeee' + '6ab12345' + '1234' + '11' + 'c8' + hexOf(CLIENT_ADDRESS) + hexOf(NATIVE_ADDRESS) + 'ee',
  );
  assert.equal(ipv6Version(out, 2), 6);
  assert.equal(ipv6TrafficClass(out, 2), 0xab);
  assert.equal(ipv6FlowLabel(out, 2), 0x12345);
  assert.equal(ipv6PayloadLength(out, 2), 0x1234);
  assert.equal(ipv6NextHeader(out, 2), 17);
  assert.equal(ipv6HopLimit(out, 2), 200);
  assert.equal(ipv6PacketLength(out, 2), 40 + 0x1234);
});

test('writeIPv6Header takes addresses at offsets and refuses short buffers', () => {
  const both = concat(NATIVE_ADDRESS, CLIENT_ADDRESS);
  const out = new Uint8Array(40);
  writeIPv6Header(out, 0, {
    payloadLength: 0,
    nextHeader: 59,
    hopLimit: 0,
    source: both,
    sourceOffset: 16,
    destination: both,
    destinationOffset: 0,
  });
  assert.equal(hexOf(out.subarray(8, 24)), hexOf(CLIENT_ADDRESS));
  assert.equal(hexOf(out.subarray(24, 40)), hexOf(NATIVE_ADDRESS));
  const fields = { payloadLength: 0, nextHeader: 59, hopLimit: 0, source: both, destination: both };
  assert.throws(() => writeIPv6Header(new Uint8Array(39), 0, fields), RangeError);
  assert.throws(() => writeIPv6Header(new Uint8Array(40), 1, fields), RangeError);
  assert.throws(() => writeIPv6Header(out, 0, { ...fields, sourceOffset: 17 }), RangeError);
});

test('writeAuthHeader is byte exact, with and without client ID and auth value', () => {
  const out = new Uint8Array(30);
  assert.equal(writeAuthHeader(out, 0, { nonce: NONCE }), 13);
  assert.equal(hexOf(out.subarray(0, 13)), '00010000' + '0102030405060708' + '00');
  const fields = { nonce: NONCE, confirmation: 1, clientId: bytesOf('aabb'), authValue: bytesOf('ccddee') };
  assert.equal(authHeaderLength(fields), 18);
  assert.equal(writeAuthHeader(out, 1, fields), 18);
  assert.equal(hexOf(out.subarray(1, 19)), '00010203' + 'aabb' + 'ccddee' + '0102030405060708' + '01');
  assert.throws(() => writeAuthHeader(out, 0, { nonce: new Uint8Array(7) }), RangeError);
  assert.throws(() => writeAuthHeader(new Uint8Array(12), 0, { nonce: NONCE }), RangeError);
  assert.throws(
    () => writeAuthHeader(new Uint8Array(600), 0, { nonce: NONCE, clientId: new Uint8Array(256) }),
    RangeError,
  );
});

test('writeOriginIndication obfuscates port and address (reference example)', () => {
  const out = new Uint8Array(9);
  assert.equal(writeOriginIndication(out, 1, 40000, 0xcb007105), 8);
  assert.equal(hexOf(out), '00' + '0000' + '63bf' + '34ff8efa');
  assert.throws(() => writeOriginIndication(new Uint8Array(7), 0, 1, 1), RangeError);
});

test('a bare IPv6 packet parses with no headers and its trailer counted', () => {
  const payload = createTeredoPayload();
  const datagram = concat(SMALL_PACKET, bytesOf('0102'));
  assert.equal(parseTeredoPayload(datagram, datagram.length, payload), 'ok');
  assert.equal(payload.hasAuth, false);
  assert.equal(payload.hasOrigin, false);
  assert.equal(payload.nonceOffset, -1);
  assert.equal(payload.ipv6Offset, 0);
  assert.equal(payload.ipv6Length, 44);
  assert.equal(payload.trailerLength, 2);
});

test('authentication and origin indication are located and decoded', () => {
  const auth = new Uint8Array(18);
  writeAuthHeader(auth, 0, {
    nonce: NONCE,
    confirmation: 7,
    clientId: bytesOf('aabb'),
    authValue: bytesOf('ccddee'),
  });
  const origin = new Uint8Array(8);
  writeOriginIndication(origin, 0, 3544, 0xc6336401);
  const datagram = concat(auth, origin, SMALL_PACKET);
  const payload = createTeredoPayload();
  assert.equal(parseTeredoPayload(datagram, datagram.length, payload), 'ok');
  assert.deepEqual(payload, {
    hasAuth: true,
    authIdLength: 2,
    authIdOffset: 4,
    authValueLength: 3,
    authValueOffset: 6,
    nonceOffset: 9,
    confirmation: 7,
    hasOrigin: true,
    originPort: 3544,
    originIPv4: 0xc6336401,
    ipv6Offset: 26,
    ipv6Length: 44,
    trailerLength: 0,
  });
  assert.equal(hexOf(datagram.subarray(payload.nonceOffset, payload.nonceOffset + 8)), hexOf(NONCE));
});

test('parsing respects start and length inside a larger receive buffer, and reuses the record', () => {
  const origin = new Uint8Array(8);
  writeOriginIndication(origin, 0, 1234, 0xc0000201);
  const buffer = concat(bytesOf('ffffff'), origin, SMALL_PACKET, bytesOf('ffff'));
  const payload = createTeredoPayload();
  assert.equal(parseTeredoPayload(buffer, 52, payload, 3), 'ok');
  assert.equal(payload.hasOrigin, true);
  assert.equal(payload.originPort, 1234);
  assert.equal(payload.ipv6Offset, 11);
  assert.equal(payload.trailerLength, 0);
  assert.equal(parseTeredoPayload(buffer, 51, payload, 3), 'ipv6-payload-truncated');
  assert.equal(parseTeredoPayload(buffer, 1000, payload, 3), 'ok', 'length beyond the buffer is cut');
  assert.equal(payload.trailerLength, 2);
  assert.equal(parseTeredoPayload(SMALL_PACKET, SMALL_PACKET.length, payload), 'ok');
  assert.equal(payload.hasOrigin, false, 'fields of the previous datagram are cleared');
  assert.equal(payload.originPort, 0);
});

test('drop reasons for truncated and malformed datagrams', () => {
  const payload = createTeredoPayload();
  const auth = new Uint8Array(13);
  writeAuthHeader(auth, 0, { nonce: NONCE });
  const origin = new Uint8Array(8);
  writeOriginIndication(origin, 0, 1, 2);
  const notIPv6 = SMALL_PACKET.slice();
  notIPv6[0] = 0x45;
  const cases: ReadonlyArray<readonly [string, Uint8Array, string]> = [
    ['empty', new Uint8Array(0), 'too-short'],
    ['one byte', bytesOf('60'), 'too-short'],
    ['auth cut', auth.subarray(0, 12), 'auth-truncated'],
    [
      'auth ID longer than the datagram',
      concat(bytesOf('0001ff00'), NONCE, bytesOf('00'), SMALL_PACKET),
      'auth-truncated',
    ],
    ['origin cut', origin.subarray(0, 7), 'origin-truncated'],
    ['origin cut after auth', concat(auth, origin.subarray(0, 4)), 'origin-truncated'],
    ['auth only', auth, 'ipv6-truncated'],
    ['auth and one byte', concat(auth, bytesOf('60')), 'ipv6-truncated'],
    ['39-byte header', SMALL_PACKET.subarray(0, 39), 'ipv6-truncated'],
    ['IPv4 version', notIPv6, 'not-ipv6'],
    ['version 0 after an origin', concat(origin, origin, SMALL_PACKET), 'not-ipv6'],
    ['payload cut', SMALL_PACKET.subarray(0, 43), 'ipv6-payload-truncated'],
  ];
  for (const [name, datagram, reason] of cases) {
    assert.equal(parseTeredoPayload(datagram, datagram.length, payload), reason, name);
  }
  assert.equal(parseTeredoPayload(SMALL_PACKET, -5, payload), 'too-short');
  assert.equal(parseTeredoPayload(SMALL_PACKET, Number.NaN, payload), 'too-short');
  assert.equal(parseTeredoPayload(SMALL_PACKET, 44, payload, 45), 'too-short');
  assert.equal(parseTeredoPayload(SMALL_PACKET, 44, payload, -1), 'too-short');
});

test('checkIPv6Packet bounds the region to the buffer', () => {
  assert.equal(checkIPv6Packet(SMALL_PACKET, 0, 44), 'ok');
  assert.equal(checkIPv6Packet(SMALL_PACKET, 0, 45), 'ipv6-truncated');
  assert.equal(checkIPv6Packet(SMALL_PACKET, 1, 43), 'not-ipv6');
  assert.equal(checkIPv6Packet(SMALL_PACKET, -1, 44), 'ipv6-truncated');
  assert.equal(checkIPv6Packet(SMALL_PACKET, 0.5, 40), 'ipv6-truncated');
});
