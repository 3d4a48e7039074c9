import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { formatDottedQuad, isHostName, parseDottedQuad } from '../../../src/config/ipv4-text.js';
import { parseIPv6 } from '../../../src/config/ipv6-text.js';

test('dotted quads: decimal octets without leading zeros', () => {
  assert.equal(parseDottedQuad('192.0.2.1'), 0xc0000201);
  assert.equal(parseDottedQuad('0.0.0.0'), 0);
  assert.equal(parseDottedQuad('255.255.255.255'), 0xffffffff);
  for (const text of [
    '192.0.2.010',
    '127.1',
    '0x7f000001',
    '256.1.1.1',
    '1.2.3.4.5',
    '1.2.3.',
    '',
    'a.b.c.d',
    '1.2.3.-4',
  ]) {
    assert.equal(parseDottedQuad(text), null, text);
  }
});

test('property: formatDottedQuad and parseDottedQuad are inverse', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      assert.equal(parseDottedQuad(formatDottedQuad(n)), n);
    }),
  );
});

test('host names: labels of letters, digits, - and _, 253 bytes at most', () => {
  for (const name of [
    'localhost',
    'teredo.example.com',
    'teredo.example.com.',
    'a',
    '127.1',
    'x_y.z',
    'a-b',
  ]) {
    assert.ok(isHostName(name), name);
  }
  const label = 'a'.repeat(63);
  assert.ok(isHostName(`${label}.${label}.${label}.${'a'.repeat(61)}`));
  for (const name of [
    '',
    '.',
    'a..b',
    '-a',
    'a-',
    '::1',
    'a b',
    'a/b',
    'a'.repeat(64),
    `${label}.${label}.${label}.${'a'.repeat(62)}`,
  ]) {
    assert.ok(!isHostName(name), name);
  }
});

function hex(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString('hex');
}

test('IPv6 text: the forms glibc inet_pton accepts (checked with Miredo)', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['2001::', '20010000000000000000000000000000'],
    ['2001:0db8::1', '20010db8000000000000000000000001'],
    ['FFFF::', 'ffff0000000000000000000000000000'],
    ['::', '00000000000000000000000000000000'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['::0:0:0:0:0:0:0', '00000000000000000000000000000000'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ];
  for (const [text, bytes] of cases) assert.equal(hex(parseIPv6(text)), bytes, text);
});

test('IPv6 text: the forms glibc inet_pton refuses', () => {
  for (const text of [
    '02001::',
    '::1.2.3.04',
    '::01.2.3.4',
    '1::2::3',
    ':1::',
    '1:',
    ':::',
    '0::0:0:0:0:0:0:0',
    '1:2:3:4:5:6:7:1.2.3.4',
    '1.2.3.4::',
    '::1.2.3',
    '::256.1.1.1',
    '[2001::]',
    '2001::/32',
    'fe80::%1',
    '1.2.3.4',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '',
    'g::',
  ]) {
    assert.equal(parseIPv6(text), null, text);
  }
});

test('property: parseIPv6 agrees with node:net on random addresses in compressed and full forms', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
      (groups) => {
        const full = groups.map((g) => g.toString(16)).join(':');
        const expected = groups.map((g) => g.toString(16).padStart(4, '0')).join('');
        assert.equal(hex(parseIPv6(full)), expected);
        const zeroRun = groups.findIndex((g, i) => g === 0 && groups[i + 1] === 0);
        if (zeroRun >= 0) {
          let end = zeroRun;
          while (groups[end] === 0) end++;
          const head = groups.slice(0, zeroRun).map((g) => g.toString(16));
          const tail = groups.slice(end).map((g) => g.toString(16));
          const compressed = `${head.join(':')}::${tail.join(':')}`;
          assert.ok(isIPv6(compressed));
          assert.equal(hex(parseIPv6(compressed)), expected, compressed);
        }
      },
    ),
  );
});

test('property: parseIPv6 accepts nothing node:net rejects', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9a-fA-F:.]{0,45}$/), (text) => {
      if (parseIPv6(text) !== null) assert.ok(isIPv6(text), text);
    }),
  );
});
