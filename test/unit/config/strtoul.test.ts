import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseInt16, strtoulWhole } from '../../../src/config/strtoul.js';

// Verdicts checked against Debian's miredo-checkconf (BindPort).
const ACCEPTED: ReadonlyArray<readonly [string, number]> = [
  ['0', 0],
  ['3545', 3545],
  ['65535', 65535],
  ['+5', 5],
  ['-0', 0],
  ['-0x0', 0],
  ['0X1F', 31],
  ['0xFFFF', 65535],
  ['0x0000ffff', 65535],
  ['010', 8],
  ['000', 0],
  ['00000177777', 65535],
  ['+0x10', 16],
  ['-18446744073709551615', 1], // negation modulo 2^64
  ['-18446744073709486081', 65535],
  ['0'.repeat(1023), 0],
];

const REFUSED: ReadonlyArray<readonly [string, 'syntax' | 'range']> = [
  ['', 'syntax'],
  ['http', 'syntax'],
  ['0x', 'syntax'],
  ['08', 'syntax'],
  ['0x+1', 'syntax'],
  ['-+1', 'syntax'],
  ['0x0x1', 'syntax'],
  ['00x1', 'syntax'],
  ['0b1', 'syntax'],
  ['1e3', 'syntax'],
  ['5abc', 'syntax'],
  ['#', 'syntax'],
  [' 5', 'syntax'],
  ['+', 'syntax'],
  ['65536', 'range'],
  ['-1', 'range'],
  ['-65535', 'range'],
  ['99999999999999999999', 'range'],
  ['-18446744073709551616', 'range'],
  ['-18446744073709486080', 'range'],
];

test('int16 values accepted by Miredo parse to the same number', () => {
  for (const [text, value] of ACCEPTED) assert.deepEqual(parseInt16(text), { ok: true, value }, text);
});

test('int16 values refused by Miredo are refused, with the reason', () => {
  for (const [text, reason] of REFUSED) assert.deepEqual(parseInt16(text), { ok: false, reason }, text);
});

test('strtoulWhole reports overflow beyond ULONG_MAX and wraps negatives', () => {
  assert.deepEqual(strtoulWhole('18446744073709551615'), { ok: true, value: 18446744073709551615n });
  assert.deepEqual(strtoulWhole('18446744073709551616'), { ok: false, reason: 'overflow' });
  assert.deepEqual(strtoulWhole('-1'), { ok: true, value: 18446744073709551615n });
  assert.deepEqual(strtoulWhole('0xffffffffffffffff'), { ok: true, value: 18446744073709551615n });
  assert.deepEqual(strtoulWhole('0x10000000000000000'), { ok: false, reason: 'overflow' });
});

test('property: every 16-bit number parses back from its decimal, hex and octal forms', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.nat({ max: 3 }), (n, zeros) => {
      const pad = '0'.repeat(zeros);
      for (const text of [
        String(n),
        `+${n}`,
        `0x${pad}${n.toString(16)}`,
        `0X${n.toString(16).toUpperCase()}`,
        `0${pad}${n.toString(8)}`,
      ]) {
        assert.deepEqual(parseInt16(text), { ok: true, value: n }, text);
      }
    }),
  );
});

test('property: every number above 65535 is out of range in every base', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0x10000n, max: (1n << 64n) - 1n }), (n) => {
      for (const text of [n.toString(), `0x${n.toString(16)}`, `0${n.toString(8)}`]) {
        assert.deepEqual(parseInt16(text), { ok: false, reason: 'range' }, text);
      }
    }),
  );
});
