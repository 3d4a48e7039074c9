import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  clientLinkLocal,
  createTeredoAddressFields,
  decodeTeredoAddress,
  encodeTeredoAddress,
  formatIPv6,
  isClientLinkLocalAt,
  isConeAt,
  isTeredo,
  isTeredoAt,
  makeTeredoFlags,
  readTeredoAddressInto,
  serverLinkLocal,
  teredoClientAt,
  teredoFlagsAt,
  teredoMappingMatchesAt,
  teredoPortAt,
  teredoPrefixAt,
  teredoServerAt,
  writeServerLinkLocal,
} from '../../../src/teredo/address.js';
import { address, hexOf } from './fixtures.js';

const VECTOR = '2001:0:c000:201:8000:cfc6:3fff:fd74';

test('decodes the libteredo addrcmp vector (reference 4.2)', () => {
  const fields = decodeTeredoAddress(address(VECTOR));
  assert.deepEqual(
    { ...fields },
    {
      prefix: 0x20010000,
      server: 0xc0000201, // 192.0.2.1
      flags: 0x8000,
      port: 12345,
      client: 0xc000028b, // 192.0.2.139
    },
  );
  assert.ok(Object.isFrozen(fields));
});

test('encodes the reference example: server 198.51.100.1, mapping 203.0.113.5:40000', () => {
  const bytes = encodeTeredoAddress({
    prefix: 0x20010000,
    server: 0xc6336401,
    flags: 0,
    port: 40000,
    client: 0xcb007105,
  });
  assert.equal(formatIPv6(bytes), '2001:0:c633:6401:0:63bf:34ff:8efa');
  assert.equal(hexOf(encodeTeredoAddress(decodeTeredoAddress(address(VECTOR)))), hexOf(address(VECTOR)));
});

test('field readers work inside a larger buffer without touching neighbours', () => {
  const buffer = new Uint8Array(40).fill(0x5a);
  encodeTeredoAddress(decodeTeredoAddress(address(VECTOR)), buffer, 17);
  assert.equal(buffer[16], 0x5a);
  assert.equal(buffer[33], 0x5a);
  assert.equal(teredoPrefixAt(buffer, 17), 0x20010000);
  assert.equal(teredoServerAt(buffer, 17), 0xc0000201);
  assert.equal(teredoFlagsAt(buffer, 17), 0x8000);
  assert.equal(teredoPortAt(buffer, 17), 12345);
  assert.equal(teredoClientAt(buffer, 17), 0xc000028b);
  assert.equal(isConeAt(buffer, 17), true);
  assert.equal(isTeredoAt(buffer, 17), true);
  assert.equal(teredoMappingMatchesAt(buffer, 17, 0xc000028b, 12345), true);
  assert.equal(teredoMappingMatchesAt(buffer, 17, 0xc000028b, 12346), false);
  assert.equal(teredoMappingMatchesAt(buffer, 17, 0xc000028c, 12345), false);
  const out = createTeredoAddressFields();
  readTeredoAddressInto(buffer, 17, out);
  assert.deepEqual(out, { ...decodeTeredoAddress(address(VECTOR)) });
});

test('isTeredo checks the 32-bit prefix only', () => {
  assert.equal(isTeredo(address(VECTOR)), true);
  assert.equal(isTeredo(address('2001:1::1')), false);
  assert.equal(isTeredo(address('2001:db8::1')), false);
  assert.equal(isTeredo(address('3ffe:831f::1')), false);
  assert.equal(isTeredo(address('3ffe:831f::1'), 0x3ffe831f), true);
  assert.equal(isTeredo(new Uint8Array(15)), false);
  assert.equal(isTeredoAt(address(VECTOR), 1), false, 'address would run past the end');
  assert.equal(isTeredoAt(address(VECTOR), -1), false);
});

test('makeTeredoFlags keeps only the RFC 5991 random bits and the cone flag', () => {
  assert.equal(makeTeredoFlags(false, 0xffff), 0x3cff);
  assert.equal(makeTeredoFlags(true, 0xffff), 0xbcff);
  assert.equal(makeTeredoFlags(true, 0), 0x8000);
  assert.equal(makeTeredoFlags(false, 0x0983), 0x0883);
});

test('client link-local addresses (restricted and cone)', () => {
  assert.equal(formatIPv6(clientLinkLocal(false)), 'fe80::ffff:ffff:ffff');
  assert.equal(formatIPv6(clientLinkLocal(true)), 'fe80::8000:5445:5245:444f');
  const buffer = new Uint8Array(20);
  buffer.set(clientLinkLocal(true), 4);
  assert.equal(isClientLinkLocalAt(buffer, 4, true), true);
  assert.equal(isClientLinkLocalAt(buffer, 4, false), false);
  assert.equal(isClientLinkLocalAt(buffer, 5, true), false);
  assert.equal(isConeAt(clientLinkLocal(true), 0), true);
  assert.equal(isConeAt(clientLinkLocal(false), 0), false);
});

test('server link-local address derives from its IPv4 (reference 4.2)', () => {
  assert.equal(formatIPv6(serverLinkLocal(0xc6336401)), 'fe80::8000:f227:39cc:9bfe');
  const buffer = new Uint8Array(18).fill(0xff);
  writeServerLinkLocal(0xc0000201, buffer, 1);
  assert.equal(formatIPv6(buffer, 1), 'fe80::8000:f227:3fff:fdfe');
  assert.equal(buffer[0], 0xff);
  assert.equal(buffer[17], 0xff);
});

test('writers refuse buffers that are too small', () => {
  const fields = decodeTeredoAddress(address(VECTOR));
  assert.throws(() => encodeTeredoAddress(fields, new Uint8Array(15)), RangeError);
  assert.throws(() => encodeTeredoAddress(fields, new Uint8Array(16), 1), RangeError);
  assert.throws(() => writeServerLinkLocal(1, new Uint8Array(16), 1), RangeError);
});

test('property: encode then decode returns the fields, at any offset', () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  fc.assert(
    fc.property(
      fc.record({ prefix: u32, server: u32, flags: u16, port: u16, client: u32 }),
      fc.integer({ min: 0, max: 16 }),
      (fields, offset) => {
        const buffer = new Uint8Array(offset + 16 + 3);
        encodeTeredoAddress(fields, buffer, offset);
        assert.deepEqual({ ...decodeTeredoAddress(buffer, offset) }, { ...fields });
        assert.equal(isTeredoAt(buffer, offset, fields.prefix), true);
        assert.equal(teredoMappingMatchesAt(buffer, offset, fields.client, fields.port), true);
      },
    ),
  );
});

test('property: obfuscation is bitwise NOT of port and client in the address bytes', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (port, client) => {
        const bytes = encodeTeredoAddress({ prefix: 0x20010000, server: 0, flags: 0, port, client });
        assert.equal(((bytes[10]! << 8) | bytes[11]!) ^ port, 0xffff);
        const stored = ((bytes[12]! << 24) | (bytes[13]! << 16) | (bytes[14]! << 8) | bytes[15]!) >>> 0;
        assert.equal((stored ^ client) >>> 0, 0xffffffff);
      },
    ),
  );
});
