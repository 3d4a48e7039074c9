import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ipv6AddressesEqual,
  isAllRoutersMulticastAt,
  isForwardableIPv6At,
  isLinkLocalIPv6At,
  isLoopbackIPv6At,
  isMulticastIPv6At,
  isUnspecifiedIPv6At,
  writeAllRoutersMulticast,
} from '../../../src/teredo/ipv6-address.js';
import { address, hexOf } from './fixtures.js';

/** The address placed at offset 3 of a larger buffer, to exercise offsets. */
function at3(text: string): Uint8Array {
  const buffer = new Uint8Array(21).fill(0xaa);
  buffer.set(address(text), 3);
  return buffer;
}

test('address classes', () => {
  const table: ReadonlyArray<readonly [string, boolean, boolean, boolean, boolean, boolean]> = [
    // text, multicast, link-local, unspecified, loopback, forwardable
    ['::', false, false, true, false, false],
    ['::1', false, false, false, true, false],
    ['fe80::1', false, true, false, false, false],
    ['febf:ffff::1', false, true, false, false, false],
    ['fec0::1', false, false, false, false, true],
    ['fc00::1', false, false, false, false, true],
    ['ff02::2', true, false, false, false, false],
    ['ff0e::1', true, false, false, false, false],
    ['2001:db8::1', false, false, false, false, true],
    ['2001:0:c633:6401:0:63bf:34ff:8efa', false, false, false, false, true],
    ['::2', false, false, false, false, true],
  ];
  for (const [text, multicast, linkLocal, unspecified, loopback, forwardable] of table) {
    const bytes = at3(text);
    assert.equal(isMulticastIPv6At(bytes, 3), multicast, text);
    assert.equal(isLinkLocalIPv6At(bytes, 3), linkLocal, text);
    assert.equal(isUnspecifiedIPv6At(bytes, 3), unspecified, text);
    assert.equal(isLoopbackIPv6At(bytes, 3), loopback, text);
    assert.equal(isForwardableIPv6At(bytes, 3), forwardable, text);
  }
});

test('ff02::2 and nothing else is the all-routers group', () => {
  assert.equal(isAllRoutersMulticastAt(at3('ff02::2'), 3), true);
  for (const other of ['ff02::1', 'ff05::2', 'ff02::1:2', 'fe02::2']) {
    assert.equal(isAllRoutersMulticastAt(at3(other), 3), false, other);
  }
  const out = new Uint8Array(18).fill(0xaa);
  writeAllRoutersMulticast(out, 1);
  assert.equal(hexOf(out), 'aa' + 'ff020000000000000000000000000002' + 'aa');
});

test('equality compares 16 bytes at offsets and is false past the end', () => {
  const a = at3('2001:db8::1');
  const b = address('2001:db8::1');
  assert.equal(ipv6AddressesEqual(a, 3, b, 0), true);
  assert.equal(ipv6AddressesEqual(a, 2, b, 0), false);
  assert.equal(ipv6AddressesEqual(a, 6, a, 6), false, 'would read past the end');
});
