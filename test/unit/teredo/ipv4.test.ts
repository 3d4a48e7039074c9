import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIPv4, isGlobalUnicastIPv4, parseIPv4 } from '../../../src/teredo/ipv4.js';

function ip(text: string): number {
  const value = parseIPv4(text);
  if (value === null) throw new Error(`bad literal ${text}`);
  return value;
}

test('libteredo-v4global vectors (reference section 6)', () => {
  for (const text of [
    '0.1.2.3',
    '10.1.2.3',
    '127.0.0.1',
    '169.254.1.2',
    '172.20.1.2',
    '192.168.1.2',
    '232.1.2.3',
  ]) {
    assert.equal(isGlobalUnicastIPv4(ip(text)), false, text);
  }
  assert.equal(isGlobalUnicastIPv4(ip('255.255.255.255')), false);
  for (const text of [
    '192.0.2.10',
    '9.8.7.6',
    '11.12.13.14',
    '126.127.128.129',
    '192.167.255.255',
    '223.255.255.254',
  ]) {
    assert.equal(isGlobalUnicastIPv4(ip(text)), true, text);
  }
});

test('ranges Miredo accepts although they are special-purpose (reference 4.11)', () => {
  for (const text of [
    '100.64.0.1',
    '192.0.2.1',
    '198.51.100.1',
    '203.0.113.1',
    '198.18.0.1',
    '198.19.255.255',
  ]) {
    assert.equal(isGlobalUnicastIPv4(ip(text)), true, text);
  }
  for (const text of ['240.0.0.0', '250.1.2.3', '255.255.255.254']) {
    assert.equal(isGlobalUnicastIPv4(ip(text)), true, text);
  }
});

test('each refused block is exact at both ends', () => {
  const edges: ReadonlyArray<readonly [string, string, string, string]> = [
    // just below, first, last, just above
    ['255.255.255.255', '0.0.0.0', '0.255.255.255', '1.0.0.0'],
    ['9.255.255.255', '10.0.0.0', '10.255.255.255', '11.0.0.0'],
    ['126.255.255.255', '127.0.0.0', '127.255.255.255', '128.0.0.0'],
    ['169.253.255.255', '169.254.0.0', '169.254.255.255', '169.255.0.0'],
    ['172.15.255.255', '172.16.0.0', '172.31.255.255', '172.32.0.0'],
    ['192.88.98.255', '192.88.99.0', '192.88.99.255', '192.88.100.0'],
    ['192.167.255.255', '192.168.0.0', '192.168.255.255', '192.169.0.0'],
    ['223.255.255.255', '224.0.0.0', '239.255.255.255', '240.0.0.0'],
  ];
  for (const [below, first, last, above] of edges) {
    if (below !== '255.255.255.255') assert.equal(isGlobalUnicastIPv4(ip(below)), true, below);
    assert.equal(isGlobalUnicastIPv4(ip(first)), false, first);
    assert.equal(isGlobalUnicastIPv4(ip(last)), false, last);
    assert.equal(isGlobalUnicastIPv4(ip(above)), true, above);
  }
});

test('isGlobalUnicastIPv4 treats signed and unsigned forms alike', () => {
  assert.equal(isGlobalUnicastIPv4(0xe0000001 | 0), false);
  assert.equal(isGlobalUnicastIPv4(0xc6336401 | 0), true);
});

test('parseIPv4 accepts strict dotted quads only', () => {
  assert.equal(parseIPv4('198.51.100.1'), 0xc6336401);
  assert.equal(parseIPv4('192.0.2.1'), 0xc0000201);
  assert.equal(parseIPv4('0.0.0.0'), 0);
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '256.1.1.1',
    ' 1.2.3.4',
    '1.2.3.4 ',
    'a.b.c.d',
    '1..2.3',
    '+1.2.3.4',
    '1e1.2.3.4',
    '0x1.2.3.4',
    '1.2.3.4.',
    '1000.1.1.1',
    // Forms inet_aton reads but a configuration literal must not: they go to the resolver.
    '192.0.2.010',
    '127.1',
    '0x7f000001',
    '1.2.3.',
    '1.2.3.-4',
  ]) {
    assert.equal(parseIPv4(bad), null, JSON.stringify(bad));
  }
});

test('formatIPv4 and parseIPv4 are inverse', () => {
  assert.equal(formatIPv4(0xc0000201), '192.0.2.1');
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
      assert.equal(parseIPv4(formatIPv4(value)), value);
    }),
  );
});
