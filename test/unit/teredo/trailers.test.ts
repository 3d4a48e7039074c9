/**
 * RFC 6081 trailers (src/teredo/trailers.ts): byte-exact builders against hand-written vectors
 * (tshark 4.0, Debian 12's, has no dissector fields for the trailers, so these bytes are written
 * from the formats in our notes and [MS-TERE] 2.2.2, not checked by a dissector), the parser's
 * bounds on hostile input, and properties: parse(build(x)) == x, and no bytes ever throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createTrailers,
  DISCOVERY_TYPE,
  parseTrailers,
  writeAlternateAddressTrailer,
  writeNeighborDiscoveryTrailer,
  writeNonceTrailer,
  writeRandomPortTrailer,
} from '../../../src/teredo/trailers.js';
import type { AlternateAddress, Trailers } from '../../../src/teredo/trailers.js';
import { bytesOf, hexOf } from './fixtures.js';

function built(write: (out: Uint8Array) => number): string {
  const out = new Uint8Array(64).fill(0xee);
  return hexOf(out.subarray(0, write(out)));
}

function parsed(hex: string): Trailers {
  const bytes = bytesOf(hex);
  const out = createTrailers();
  parseTrailers(bytes, 0, bytes.length, out);
  return out;
}

test('builders: byte-exact Nonce, Alternate Address, Neighbor Discovery and Random Port trailers', () => {
  assert.equal(
    built((out) => writeNonceTrailer(out, 0, 0xdeadbeef)),
    '0104deadbeef',
  );
  // 10.0.0.2:20001 and 192.168.1.7:3544: Length 2 + 6 * 2 = 14.
  assert.equal(
    built((out) =>
      writeAlternateAddressTrailer(out, 0, [
        { ipv4: 0x0a000002, port: 20001 },
        { ipv4: 0xc0a80107, port: 3544 },
      ]),
    ),
    '030e00000a0000024e21c0a801070dd8',
  );
  assert.equal(
    built((out) => writeAlternateAddressTrailer(out, 0, [{ ipv4: 0x0a000002, port: 1 }])),
    '030800000a0000020001',
  );
  assert.equal(
    built((out) => writeNeighborDiscoveryTrailer(out, 0, DISCOVERY_TYPE.solicitation)),
    '040400000000',
  );
  assert.equal(
    built((out) => writeNeighborDiscoveryTrailer(out, 0, DISCOVERY_TYPE.advertisement)),
    '040401000000',
  );
  assert.equal(
    built((out) => writeRandomPortTrailer(out, 0, 40001)),
    '05029c41',
  );
});

test('builders refuse what the formats forbid (programming errors)', () => {
  const out = new Uint8Array(64);
  assert.throws(() => writeAlternateAddressTrailer(out, 0, []), RangeError);
  const five = Array.from({ length: 5 }, () => ({ ipv4: 0x0a000001, port: 1 }));
  assert.throws(() => writeAlternateAddressTrailer(out, 0, five), RangeError);
  assert.throws(() => writeAlternateAddressTrailer(out, 0, [{ ipv4: 0xe00000fd, port: 1 }]), RangeError);
  assert.throws(() => writeAlternateAddressTrailer(out, 0, [{ ipv4: 0x0a000001, port: 0 }]), RangeError);
  assert.throws(() => writeRandomPortTrailer(out, 0, 0), RangeError);
  assert.throws(() => writeNeighborDiscoveryTrailer(out, 0, 2), RangeError);
  assert.throws(() => writeNonceTrailer(new Uint8Array(5), 0, 1), RangeError);
});

test('parser reads every known trailer, in any order', () => {
  const t = parsed('05029c41 0104deadbeef 040401000000 030e00000a0000024e21c0a801070dd8');
  assert.equal(t.hasNonce && t.nonce, 0xdeadbeef);
  assert.equal(t.hasRandomPort && t.randomPort, 40001);
  assert.equal(t.hasNeighborDiscovery && t.discoveryType, 1);
  assert.equal(t.hasAlternateAddress, true);
  assert.deepEqual([...t.alternateIPv4.subarray(0, t.alternateCount)], [0x0a000002, 0xc0a80107]);
  assert.deepEqual([...t.alternatePort.subarray(0, t.alternateCount)], [20001, 3544]);
  assert.equal(t.unknown + t.malformed + t.duplicate + t.refusedEntries, 0);
  assert.equal(t.truncated, false);
});

test('parser skips unknown types by their Length and goes on', () => {
  const t = parsed('0203aabbcc ff00 0104 00000001');
  assert.equal(t.unknown, 2);
  assert.equal(t.hasNonce && t.nonce, 1);
});

test('parser skips malformed known trailers and counts them', () => {
  // Nonce of 3 bytes; Alternate Address Length 9 and 32 (not 2 + 6n, n = 1..4); ND type 2;
  // Random Port 0; Random Port of 3 bytes.
  const t = parsed(
    '0103aabbcc 0309000001020304050607 0320' + '00'.repeat(32) + ' 040402000000 05020000 0503000001',
  );
  assert.equal(t.malformed, 6);
  assert.equal(t.hasNonce || t.hasAlternateAddress || t.hasNeighborDiscovery || t.hasRandomPort, false);
});

test('parser refuses bad Alternate Address entries one by one and keeps the good ones', () => {
  const t = parsed('03200000' + '0a0000020001'.repeat(5));
  assert.equal(t.malformed, 1, 'five entries: Length 32 is not allowed');
  // 0.0.0.1:1, 127.0.0.1:1, 224.0.0.253:3544, 10.0.0.2:0, then 10.0.0.3:20002 (good).
  const u = parsed('031a0000 00000001 0001 7f000001 0001 e00000fd 0dd8 0a000003 4e22');
  const v = parsed('03080000 0a000002 0000');
  assert.equal(v.refusedEntries, 1, 'port 0');
  assert.equal(v.alternateCount, 0);
  assert.equal(u.hasAlternateAddress, true);
  assert.equal(u.refusedEntries, 3);
  assert.equal(u.alternateCount, 1);
  assert.equal(u.alternateIPv4[0], 0x0a000003);
  assert.equal(u.alternatePort[0], 20002);
});

test('parser keeps the first trailer of a type and counts the duplicate', () => {
  const t = parsed('0104 00000001 0104 00000002');
  assert.equal(t.nonce, 1);
  assert.equal(t.duplicate, 1);
});

test('parser stops at a Length past the end, or a lone byte, and says so', () => {
  const long = parsed('0104deadbeef 0310 0000');
  assert.equal(long.hasNonce, true);
  assert.equal(long.truncated, true);
  assert.equal(parsed('01').truncated, true);
  assert.equal(parsed('').truncated, false);
});

test('parser stays inside [offset, offset + length) and the buffer', () => {
  const bytes = bytesOf('ee 0104deadbeef 05029c41');
  const out = createTrailers();
  assert.equal(parseTrailers(bytes, 1, 6, out), 1);
  assert.equal(out.hasRandomPort, false, 'the Random Port trailer lies beyond the length');
  assert.equal(parseTrailers(bytes, 1, 1000, out), 2, 'a length past the buffer is cut to it');
  assert.equal(parseTrailers(bytes, 99, 4, out), 0);
  assert.equal(parseTrailers(bytes, -1, 4, out), 0);
  assert.equal(parseTrailers(bytes, 1.5, 4, out), 0);
  assert.equal(parseTrailers(bytes, 1, Number.NaN, out), 0);
});

const unicast = fc.integer({ min: 0x01000000, max: 0xdfffffff }).filter((ipv4) => ipv4 >>> 24 !== 127);
const alternateEntry: fc.Arbitrary<AlternateAddress> = fc.record({
  ipv4: unicast,
  port: fc.integer({ min: 1, max: 0xffff }),
});
const trailerSet = fc.record(
  {
    nonce: fc.integer({ min: 0, max: 0xffffffff }),
    alternates: fc.array(alternateEntry, { minLength: 1, maxLength: 4 }),
    discovery: fc.constantFrom(0, 1),
    randomPort: fc.integer({ min: 1, max: 0xffff }),
    unknownType: fc.integer({ min: 6, max: 255 }),
  },
  { requiredKeys: [] },
);

test('property: parse(build(x)) == x, whatever the order and unknown trailers between', () => {
  fc.assert(
    fc.property(trailerSet, fc.array(fc.nat(), { minLength: 5, maxLength: 5 }), (set, order) => {
      const out = new Uint8Array(128);
      const writers: Array<(at: number) => number> = [];
      if (set.nonce !== undefined) writers.push((at) => writeNonceTrailer(out, at, set.nonce!));
      if (set.alternates !== undefined)
        writers.push((at) => writeAlternateAddressTrailer(out, at, set.alternates!));
      if (set.discovery !== undefined)
        writers.push((at) => writeNeighborDiscoveryTrailer(out, at, set.discovery!));
      if (set.randomPort !== undefined)
        writers.push((at) => writeRandomPortTrailer(out, at, set.randomPort!));
      if (set.unknownType !== undefined)
        writers.push((at) => {
          out.set([set.unknownType!, 3, 9, 9, 9], at);
          return 5;
        });
      writers.sort((a, b) => (order[writers.indexOf(a)] ?? 0) - (order[writers.indexOf(b)] ?? 0));
      let length = 0;
      for (const write of writers) length += write(length);
      const t = createTrailers();
      const accepted = parseTrailers(out, 0, length, t);
      assert.equal(accepted, writers.length - (set.unknownType === undefined ? 0 : 1));
      assert.equal(t.hasNonce, set.nonce !== undefined);
      if (set.nonce !== undefined) assert.equal(t.nonce, set.nonce);
      assert.equal(t.hasRandomPort, set.randomPort !== undefined);
      if (set.randomPort !== undefined) assert.equal(t.randomPort, set.randomPort);
      assert.equal(t.hasNeighborDiscovery, set.discovery !== undefined);
      if (set.discovery !== undefined) assert.equal(t.discoveryType, set.discovery);
      const entries = Array.from({ length: t.alternateCount }, (_, i) => ({
        ipv4: t.alternateIPv4[i]!,
        port: t.alternatePort[i]!,
      }));
      assert.deepEqual(
        entries,
        (set.alternates ?? []).map(({ ipv4, port }) => ({ ipv4, port })),
      );
      assert.equal(t.unknown, set.unknownType === undefined ? 0 : 1);
      assert.equal(t.malformed + t.duplicate + t.refusedEntries, 0);
      assert.equal(t.truncated, false);
    }),
    { numRuns: 500 },
  );
});

test('property: any bytes, offset and length: no throw, and counts that add up', () => {
  const out = createTrailers();
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: -4, max: 310 }),
      fc.integer({ min: -4, max: 400 }),
      (bytes, offset, length) => {
        const accepted = parseTrailers(bytes, offset, length, out);
        assert.ok(accepted >= 0 && accepted <= 4);
        assert.ok(out.alternateCount >= 0 && out.alternateCount <= 4);
        const seen = accepted + out.unknown + out.malformed + out.duplicate;
        assert.ok(
          seen * 2 <= Math.max(0, bytes.length - Math.max(0, offset)),
          'each trailer takes 2 bytes at least',
        );
      },
    ),
    { numRuns: 2000 },
  );
});
