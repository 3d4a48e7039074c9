import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildRouterSolicitation,
  createRouterSolicitation,
  parseRouterSolicitation,
  ROUTER_SOLICITATION_DATAGRAM_BYTES,
  verifyIcmpv6Checksum,
} from '../../../src/teredo/icmpv6.js';
import { createTeredoPayload, parseTeredoPayload } from '../../../src/teredo/wire.js';
import { bytesOf, hexOf, NONCE } from './fixtures.js';

// Reference 4.4: auth (13) + IPv6 (plen 8, nh 58, hop limit 255, LL -> ff02::2) + 85 00 <cksum> 00000000.
const RS_RESTRICTED = bytesOf(`
  0001 00 00 0102030405060708 00
  60000000 0008 3a ff
  fe800000000000000000ffffffffffff
  ff020000000000000000000000000002
  85 00 7d37 00000000`);
const RS_CONE = bytesOf(`
  0001 00 00 0102030405060708 00
  60000000 0008 3a ff
  fe8000000000000080005445 5245444f
  ff020000000000000000000000000002
  85 00 125d 00000000`);

function build(cone: boolean, offset = 0): Uint8Array {
  const out = new Uint8Array(offset + 61 + 2).fill(0xee);
  assert.equal(buildRouterSolicitation(out, offset, { nonce: NONCE, cone }), 61);
  assert.equal(out[offset - 1] ?? 0xee, 0xee);
  assert.equal(out[offset + 61], 0xee);
  return out.subarray(offset, offset + 61);
}

test('Router Solicitation is byte exact with checksum 0x7d37 from the restricted link-local address', () => {
  assert.equal(ROUTER_SOLICITATION_DATAGRAM_BYTES, 61);
  assert.equal(hexOf(build(false)), hexOf(RS_RESTRICTED));
  assert.equal(hexOf(build(false, 5)), hexOf(RS_RESTRICTED));
});

test('Router Solicitation from the cone link-local address has checksum 0x125d', () => {
  assert.equal(hexOf(build(true)), hexOf(RS_CONE));
});

test('a built RS parses back on the server side', () => {
  for (const [bytes, cone] of [
    [RS_RESTRICTED, false],
    [RS_CONE, true],
  ] as const) {
    const payload = createTeredoPayload();
    assert.equal(parseTeredoPayload(bytes, bytes.length, payload), 'ok');
    assert.equal(payload.hasAuth, true);
    assert.equal(hexOf(bytes.subarray(payload.nonceOffset, payload.nonceOffset + 8)), hexOf(NONCE));
    assert.equal(verifyIcmpv6Checksum(bytes, payload.ipv6Offset), true);
    const rs = createRouterSolicitation();
    assert.equal(parseRouterSolicitation(bytes, payload.ipv6Offset, payload.ipv6Length, rs), 'ok');
    assert.equal(rs.cone, cone);
  }
});

test('an RS without authentication is accepted by the server', () => {
  const bare = RS_RESTRICTED.subarray(13);
  const rs = createRouterSolicitation();
  assert.equal(parseRouterSolicitation(bare, 0, bare.length, rs), 'ok');
});

test('RS drop reasons', () => {
  const base = RS_RESTRICTED.slice(13);
  const mutate = (change: (packet: Uint8Array) => void): Uint8Array => {
    const packet = base.slice();
    change(packet);
    return packet;
  };
  const cases: ReadonlyArray<readonly [string, Uint8Array, string]> = [
    ['not ICMPv6', mutate((p) => (p[6] = 17)), 'not-icmpv6'],
    ['message of 4 bytes', mutate((p) => (p[5] = 4)).subarray(0, 44), 'icmpv6-truncated'],
    ['type 134', mutate((p) => (p[40] = 134)), 'not-router-solicitation'],
    ['code 1', mutate((p) => (p[41] = 1)), 'not-router-solicitation'],
    ['global source', mutate((p) => (p[8] = 0x20)), 'source-not-link-local'],
    ['fec0 source', mutate((p) => (p[9] = 0xc0)), 'source-not-link-local'],
    ['ff02::1 destination', mutate((p) => (p[39] = 1)), 'destination-not-all-routers'],
    ['ff05::2 destination', mutate((p) => (p[25] = 5)), 'destination-not-all-routers'],
    ['payload cut', base.subarray(0, 47), 'ipv6-payload-truncated'],
    ['header cut', base.subarray(0, 30), 'ipv6-truncated'],
  ];
  const rs = createRouterSolicitation();
  for (const [name, packet, reason] of cases) {
    assert.equal(parseRouterSolicitation(packet, 0, packet.length, rs), reason, name);
    assert.equal(rs.cone, false);
  }
});

test('buildRouterSolicitation refuses a bad nonce or a short buffer', () => {
  assert.throws(
    () => buildRouterSolicitation(new Uint8Array(61), 0, { nonce: new Uint8Array(9) }),
    RangeError,
  );
  assert.throws(() => buildRouterSolicitation(new Uint8Array(60), 0, { nonce: NONCE }), RangeError);
  assert.throws(() => buildRouterSolicitation(new Uint8Array(61), 1, { nonce: NONCE }), RangeError);
});
