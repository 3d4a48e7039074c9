import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { formatIPv6, parseIPv6, parseIPv6Into } from '../../../src/teredo/ipv6-text.js';
import { bytesOf, hexOf } from './fixtures.js';

// With the glibc inet_pton cases Miredo's numeric getaddrinfo was checked against.
test('parseIPv6 reads every RFC 4291 text form', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001::', '20010000000000000000000000000000'],
    ['FFFF::', 'ffff0000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:0db8::1', '20010db8000000000000000000000001'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
    ['fe80::ffff:ffff:ffff', 'fe800000000000000000ffffffffffff'],
    ['::0:0:0:0:0:0:0', '00000000000000000000000000000000'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['1:2:3:4:5:6:192.0.2.1', '000100020003000400050006c0000201'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['2001:0:c000:201:8000:cfc6:3fff:fd74', '20010000c00002018000cfc63ffffd74'],
  ];
  for (const [text, hex] of cases) {
    const bytes = parseIPv6(text);
    assert.ok(bytes !== null, text);
    assert.equal(hexOf(bytes), hex.padStart(32, '0'), text);
  }
});

test('parseIPv6 refuses malformed text', () => {
  for (const bad of [
    '',
    ':',
    ':::',
    '1:',
    '1.2.3.4',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1::',
    '1::2:',
    '02001::',
    '12345::',
    'g::',
    '::1%eth0',
    'fe80::%1',
    '[::1]',
    '[2001::]',
    '2001::/32',
    ' ::1',
    '1:2:3:4:5:6:7:8::',
    '0::0:0:0:0:0:0:0',
    '::1.2.3.4:5',
    '1.2.3.4::',
    '::1.2.3',
    '::256.1.1.1',
    '::01.2.3.4',
    '::1.2.3.04',
    '1:2:3:4:5:6:7:1.2.3.4',
    '0000:0000:0000:0000:0000:0000:0000:0000:0',
  ]) {
    assert.equal(parseIPv6(bad), null, JSON.stringify(bad));
  }
});

test('property: parseIPv6 agrees with node:net on random addresses in compressed and full forms', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
      (groups) => {
        const full = groups.map((g) => g.toString(16)).join(':');
        const expected = groups.map((g) => g.toString(16).padStart(4, '0')).join('');
        assert.equal(hexOf(parseIPv6(full) ?? new Uint8Array()), expected);
        const zeroRun = groups.findIndex((g, i) => g === 0 && groups[i + 1] === 0);
        if (zeroRun >= 0) {
          let end = zeroRun;
          while (groups[end] === 0) end++;
          const head = groups.slice(0, zeroRun).map((g) => g.toString(16));
          const tail = groups.slice(end).map((g) => g.toString(16));
          const compressed = `${head.join(':')}::${tail.join(':')}`;
          assert.ok(isIPv6(compressed));
          assert.equal(hexOf(parseIPv6(compressed) ?? new Uint8Array()), expected, compressed);
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

test('parseIPv6Into writes at an offset and leaves the buffer alone on failure', () => {
  const out = new Uint8Array(20).fill(0xee);
  assert.equal(parseIPv6Into('::1', out, 2), true);
  assert.equal(hexOf(out), 'eeee' + '00'.repeat(15) + '01' + 'eeee');
  assert.equal(parseIPv6Into('nope', out, 2), false);
  assert.equal(parseIPv6Into('::2', out, 5), false, 'does not fit');
  assert.equal(hexOf(out), 'eeee' + '00'.repeat(15) + '01' + 'eeee');
});

test('formatIPv6 follows RFC 5952', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00010000000000000000000000000000', '1::'],
    ['20010000000000010000000000000001', '2001:0:0:1::1'],
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
    ['fe800000000000008000f22739cc9bfe', 'fe80::8000:f227:39cc:9bfe'],
    ['20010000c00002018000cfc63ffffd74', '2001:0:c000:201:8000:cfc6:3fff:fd74'],
    ['abcd00000000abcd00000000abcd0000', 'abcd::abcd:0:0:abcd:0'],
  ];
  for (const [hex, text] of cases) assert.equal(formatIPv6(bytesOf(hex)), text, hex);
});

test('formatIPv6 reads at an offset', () => {
  const buffer = bytesOf('ffff' + '20010db8000000000000000000000001');
  assert.equal(formatIPv6(buffer, 2), '2001:db8::1');
});

test('formatIPv6 agrees with the WHATWG URL serializer and parseIPv6 inverts it', () => {
  // Zero-heavy addresses exercise the compression rules.
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const bytes = new Uint8Array(16);
      groups.forEach((g, i) => {
        bytes[2 * i] = g >>> 8;
        bytes[2 * i + 1] = g & 0xff;
      });
      const text = formatIPv6(bytes);
      assert.deepEqual(parseIPv6(text), bytes);
      if (!text.startsWith('::ffff:') || !text.includes('.')) {
        assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname);
      }
    }),
    { numRuns: 2000 },
  );
});
