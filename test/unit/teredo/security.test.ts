import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bubbleInterfaceId,
  createSecurityContext,
  flagBits,
  isOwnBubbleInterfaceId,
  nonce,
  pingHash,
  PING_VARIANTS,
  verifyPingHash,
} from '../../../src/teredo/security.js';
import { hex, ipv4Number, ipv6Bytes } from '../../support/inet.js';

// Reference section 4.5 vectors: key 00 01 .. 0f, pid16 0x1234, little-endian host.
const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const PID = 0x1234;
const CLIENT = ipv6Bytes('2001:0:c633:6401:0:63bf:34ff:8efa');
const NATIVE = ipv6Bytes('2001:db8::1');
const PING_TS = 0x12345678;

test('nonce reproduces the reference vectors', () => {
  const ctx = createSecurityContext(KEY, PID);
  assert.equal(hex(nonce(ctx, 1000, ipv4Number('198.51.100.1'), 3544)), 'e1cbdc943e3fd66e');
  assert.equal(hex(nonce(ctx, 0, ipv4Number('203.0.113.5'), 40000)), 'b82667494a1188de');
});

test('nonce depends on every input and on the key and pid', () => {
  const ctx = createSecurityContext(KEY, PID);
  const base = hex(nonce(ctx, 1000, ipv4Number('198.51.100.1'), 3544));
  assert.notEqual(hex(nonce(ctx, 1001, ipv4Number('198.51.100.1'), 3544)), base);
  assert.notEqual(hex(nonce(ctx, 1000, ipv4Number('198.51.100.2'), 3544)), base);
  assert.notEqual(hex(nonce(ctx, 1000, ipv4Number('198.51.100.1'), 3545)), base);
  assert.notEqual(
    hex(nonce(createSecurityContext(KEY, PID + 1), 1000, ipv4Number('198.51.100.1'), 3544)),
    base,
  );
  const otherKey = KEY.map((b) => b ^ 1);
  assert.notEqual(
    hex(nonce(createSecurityContext(otherKey, PID), 1000, ipv4Number('198.51.100.1'), 3544)),
    base,
  );
});

test('nonce writes into a caller buffer at an offset', () => {
  const ctx = createSecurityContext(KEY, PID);
  const out = new Uint8Array(12).fill(0xaa);
  assert.equal(nonce(ctx, 1000, ipv4Number('198.51.100.1'), 3544, out, 2), out);
  assert.equal(hex(out), 'aaaae1cbdc943e3fd66eaaaa');
});

test('flagBits reproduces the reference vector', () => {
  assert.equal(flagBits(createSecurityContext(KEY, PID), 1000), 0x0983);
});

test('bubbleInterfaceId is nonce(0, mapping) with the U/G bits of its first byte cleared', () => {
  const ctx = createSecurityContext(KEY, PID);
  // b8 has both low bits clear already; 8a (from nonce 8a9b636447160d37) loses bit 1.
  assert.equal(hex(bubbleInterfaceId(ctx, ipv4Number('203.0.113.5'), 40000)), 'b82667494a1188de');
  assert.equal(hex(bubbleInterfaceId(ctx, ipv4Number('203.0.113.77'), 3545)), '889b636447160d37');
  fc.assert(
    fc.property(fc.nat(0xffffffff), fc.nat(0xffff), (ipv4, port) => {
      const id = bubbleInterfaceId(ctx, ipv4, port);
      const full = nonce(ctx, 0, ipv4, port);
      assert.equal(id[0], full[0]! & 0xfc);
      assert.equal(hex(id.subarray(1)), hex(full.subarray(1)));
    }),
  );
});

test('isOwnBubbleInterfaceId accepts exactly our interface ID for that mapping', () => {
  const ctx = createSecurityContext(KEY, PID);
  const ipv4 = ipv4Number('203.0.113.77');
  const address = ipv6Bytes('2001:0:c633:6401:0:63bf:34ff:8efa');
  bubbleInterfaceId(ctx, ipv4, 3545, address, 8);
  assert.equal(isOwnBubbleInterfaceId(ctx, address, ipv4, 3545), true);
  assert.equal(isOwnBubbleInterfaceId(ctx, address, ipv4, 3546), false);
  assert.equal(isOwnBubbleInterfaceId(ctx, address, ipv4 + 1, 3545), false);
  assert.equal(isOwnBubbleInterfaceId(ctx, address.subarray(0, 15), ipv4, 3545), false);
  for (let i = 8; i < 16; i++) {
    const flipped = address.slice();
    flipped[i]! ^= 0x10;
    assert.equal(isOwnBubbleInterfaceId(ctx, flipped, ipv4, 3545), false, `byte ${i} flipped`);
  }
});

test('pingHash reproduces the reference vector and lays out id, sequence and data', () => {
  const hash = pingHash(createSecurityContext(KEY, PID), PING_TS, CLIENT, NATIVE);
  assert.equal(hex(hash), '123456781234dc679fad9877d2dbfc29e1d920873900');
  assert.equal(hash.length, 22);
});

test('a ping hash is valid for delays 0..29 s and expired at 30, 31 and -1', () => {
  const ctx = createSecurityContext(KEY, PID);
  const hash = pingHash(ctx, PING_TS, CLIENT, NATIVE);
  for (let delay = 0; delay < 30; delay++) {
    assert.equal(verifyPingHash(ctx, hash, CLIENT, NATIVE, PING_TS + delay), 'valid', `delay ${delay}`);
  }
  assert.equal(verifyPingHash(ctx, hash, CLIENT, NATIVE, PING_TS + 30), 'expired');
  assert.equal(verifyPingHash(ctx, hash, CLIENT, NATIVE, PING_TS + 31), 'expired');
  assert.equal(verifyPingHash(ctx, hash, CLIENT, NATIVE, PING_TS - 1), 'expired');
});

test('the validity window wraps around 2^32', () => {
  const ctx = createSecurityContext(KEY, PID);
  const hash = pingHash(ctx, 0xfffffff0, CLIENT, NATIVE);
  assert.equal(verifyPingHash(ctx, hash, CLIENT, NATIVE, 0xfffffff0), 'valid');
  assert.equal(verifyPingHash(ctx, hash, CLIENT, NATIVE, 5), 'valid');
  assert.equal(verifyPingHash(ctx, hash, CLIENT, NATIVE, 14), 'expired');
});

test('a ping hash fails with swapped addresses, another pid, another key or a wrong length', () => {
  const ctx = createSecurityContext(KEY, PID);
  const hash = pingHash(ctx, PING_TS, CLIENT, NATIVE);
  assert.equal(verifyPingHash(ctx, hash, NATIVE, CLIENT, PING_TS), 'bad-hmac');
  assert.equal(
    verifyPingHash(createSecurityContext(KEY, 0x4321), hash, CLIENT, NATIVE, PING_TS),
    'wrong-pid',
  );
  const otherKey = createSecurityContext(
    KEY.map((b) => b ^ 0x80),
    PID,
  );
  assert.equal(verifyPingHash(otherKey, hash, CLIENT, NATIVE, PING_TS), 'bad-hmac');
  assert.equal(verifyPingHash(ctx, hash.subarray(0, 21), CLIENT, NATIVE, PING_TS), 'wrong-length');
  assert.equal(verifyPingHash(ctx, hash, CLIENT.subarray(1), NATIVE, PING_TS), 'wrong-length');
});

test('flipping any bit of any of the 22 bytes makes verification fail', () => {
  const ctx = createSecurityContext(KEY, PID);
  const hash = pingHash(ctx, PING_TS, CLIENT, NATIVE);
  for (let bit = 0; bit < 22 * 8; bit++) {
    const tampered = hash.slice();
    tampered[bit >>> 3]! ^= 1 << (bit & 7);
    assert.notEqual(verifyPingHash(ctx, tampered, CLIENT, NATIVE, PING_TS), 'valid', `bit ${bit}`);
  }
  fc.assert(
    fc.property(fc.nat(21), fc.integer({ min: 1, max: 255 }), fc.nat(29), (index, mask, delay) => {
      const tampered = hash.slice();
      tampered[index]! ^= mask;
      const verdict = verifyPingHash(ctx, tampered, CLIENT, NATIVE, PING_TS + delay);
      assert.notEqual(verdict, 'valid');
      // The identifier may only differ from pid16 by a variant, which the HMAC covers.
      if (index < 2) assert.ok(verdict === 'wrong-pid' || verdict === 'bad-hmac', verdict);
      if (index >= 6) assert.equal(verdict, 'bad-hmac');
    }),
    { numRuns: 500 },
  );
});

test('every identifier variant verifies, is bound by the HMAC, and none beyond them', () => {
  const ctx = createSecurityContext(KEY, PID);
  const seen = new Set<number>();
  for (let variant = 0; variant < PING_VARIANTS; variant++) {
    const hash = pingHash(ctx, PING_TS, CLIENT, NATIVE, undefined, 0, variant);
    const identifier = (hash[0]! << 8) | hash[1]!;
    assert.equal(identifier, PID ^ variant);
    seen.add(identifier);
    assert.equal(verifyPingHash(ctx, hash, CLIENT, NATIVE, PING_TS), 'valid');
    // Another variant's identifier on this HMAC: refused.
    const moved = hash.slice();
    const other = PID ^ ((variant + 1) % PING_VARIANTS);
    moved[0] = other >>> 8;
    moved[1] = other & 0xff;
    assert.equal(verifyPingHash(ctx, moved, CLIENT, NATIVE, PING_TS), 'bad-hmac');
  }
  assert.equal(seen.size, PING_VARIANTS);
  assert.deepEqual(
    pingHash(ctx, PING_TS, CLIENT, NATIVE, undefined, 0, 0),
    pingHash(ctx, PING_TS, CLIENT, NATIVE),
  );
  const beyond = pingHash(ctx, PING_TS, CLIENT, NATIVE);
  beyond[0] = (PID ^ PING_VARIANTS) >>> 8;
  beyond[1] = (PID ^ PING_VARIANTS) & 0xff;
  assert.equal(verifyPingHash(ctx, beyond, CLIENT, NATIVE, PING_TS), 'wrong-pid');
  assert.throws(() => pingHash(ctx, PING_TS, CLIENT, NATIVE, undefined, 0, PING_VARIANTS), RangeError);
});

test('pingHash round-trips for any key, pid, time, addresses and delay under 30 s', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.nat(0xffff),
      fc.nat(0xffffffff),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.nat(29),
      (key, pid, ts, src, dst, delay) => {
        const ctx = createSecurityContext(key, pid);
        const out = new Uint8Array(30);
        pingHash(ctx, ts, src, dst, out, 4);
        const hash = out.subarray(4, 26);
        assert.equal(verifyPingHash(ctx, hash, src, dst, (ts + delay) >>> 0), 'valid');
        assert.equal(verifyPingHash(ctx, hash, src, dst, (ts + 30) >>> 0), 'expired');
      },
    ),
  );
});

test('createSecurityContext rejects a key that is not 16 bytes and a pid outside 16 bits', () => {
  assert.throws(() => createSecurityContext(new Uint8Array(15), PID), RangeError);
  assert.throws(() => createSecurityContext(new Uint8Array(17), PID), RangeError);
  assert.throws(() => createSecurityContext(KEY, 0x10000), RangeError);
  assert.throws(() => createSecurityContext(KEY, -1), RangeError);
  assert.throws(() => createSecurityContext(KEY, 1.5), RangeError);
});
