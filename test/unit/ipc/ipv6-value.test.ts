import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isIPv6Value, parseIPv6Value, prefixToBytes } from '../../../src/ipc/ipv6-value.js';
import { formatIPv6 } from '../../../src/teredo/ipv6-text.js';

test('text and hex forms', () => {
  const expected = Uint8Array.from([
    0x20, 0x01, 0, 0, 0xc6, 0x33, 0x64, 0x01, 0x80, 0, 0xf2, 0x27, 0x3c, 0xcc, 0x9b, 0xfe,
  ]);
  assert.deepEqual(parseIPv6Value('2001:0:c633:6401:8000:f227:3ccc:9bfe'), expected);
  assert.deepEqual(parseIPv6Value('20010000C63364018000F2273CCC9BFE'), expected);
  assert.deepEqual(
    parseIPv6Value('::ffff:192.0.2.1'),
    Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]),
  );
  assert.deepEqual(parseIPv6Value('::'), new Uint8Array(16));
  for (const bad of ['', '1::2::3', 'fe80::1%lo', '192.0.2.1', '12345::', 'g::', '0'.repeat(31)]) {
    assert.equal(parseIPv6Value(bad), null, bad);
    assert.equal(isIPv6Value(bad), false, bad);
  }
  assert.equal(isIPv6Value('2001::1'), true);
});

test('RFC 5952 formatting', () => {
  assert.equal(formatIPv6(prefixToBytes(0x20010000)), '2001::');
  assert.equal(formatIPv6(prefixToBytes(0x3ffe831f)), '3ffe:831f::');
  assert.equal(
    formatIPv6(parseIPv6Value('fe80:0:0:0:0:ffff:ffff:ffff') ?? new Uint8Array(16)),
    'fe80::ffff:ffff:ffff',
  );
  assert.equal(
    formatIPv6(parseIPv6Value('2001:db8:0:1:1:1:1:1') ?? new Uint8Array(16)),
    '2001:db8:0:1:1:1:1:1',
  );
  assert.equal(formatIPv6(parseIPv6Value('2001:0:0:1:0:0:0:1') ?? new Uint8Array(16)), '2001:0:0:1::1');
});

test('property: format then parse is the identity', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      assert.deepEqual(parseIPv6Value(formatIPv6(bytes)), Uint8Array.from(bytes));
    }),
  );
});
