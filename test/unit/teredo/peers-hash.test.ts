import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { halfSipHash128, keyWordAt, slotOfHash } from '../../../src/teredo/peers-hash.js';

const BYTES_0_TO_15 = Uint8Array.from({ length: 16 }, (_, index) => index);

test('keyWordAt reads four bytes little-endian as a signed word, zero bits past the end', () => {
  assert.equal(keyWordAt(BYTES_0_TO_15, 0), 0x03020100);
  assert.equal(keyWordAt(BYTES_0_TO_15, 12), 0x0f0e0d0c);
  assert.equal(keyWordAt(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0), -1);
  assert.equal(keyWordAt(Uint8Array.of(0x01), 0), 1);
});

test('HalfSipHash-2-4 of bytes 00..0f under key 00..07 matches the reference vector (vectors_hsip32[16])', () => {
  const words = [0, 4, 8, 12].map((offset) => keyWordAt(BYTES_0_TO_15, offset)) as [
    number,
    number,
    number,
    number,
  ];
  const key0 = keyWordAt(BYTES_0_TO_15, 0);
  const key1 = keyWordAt(BYTES_0_TO_15, 4);
  // Reference output bytes d9 b5 ac 84, little-endian.
  assert.equal(halfSipHash128(key0, key1, ...words, 2, 4), 0x84acb5d9);
});

test('the 1-3 variant the table uses depends on every key bit and every message word', () => {
  const base = halfSipHash128(1, 2, 3, 4, 5, 6, 1, 3);
  const variants = [
    halfSipHash128(1 ^ 0x80000000, 2, 3, 4, 5, 6, 1, 3),
    halfSipHash128(1, 2 ^ 1, 3, 4, 5, 6, 1, 3),
    halfSipHash128(1, 2, 3 ^ 1, 4, 5, 6, 1, 3),
    halfSipHash128(1, 2, 3, 4 ^ 0x100, 5, 6, 1, 3),
    halfSipHash128(1, 2, 3, 4, 5 ^ 0x10000, 6, 1, 3),
    halfSipHash128(1, 2, 3, 4, 5, 6 ^ 0x1000000, 1, 3),
  ];
  for (const variant of variants) {
    assert.ok(variant >= 0 && variant <= 0xffffffff);
    assert.notEqual(variant, base);
  }
});

test('slotOfHash is floor(hash * slots / 2^32) exactly, even where the product exceeds 2^53', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.integer({ min: 1, max: 2 ** 26 }),
      (hash, slots) => {
        const exact = Number((BigInt(hash) * BigInt(slots)) >> 32n);
        assert.equal(slotOfHash(hash, slots), exact);
      },
    ),
    { numRuns: 2000 },
  );
  const slots = 19_173_962; // the largest table: 2^24 peers at 7/8
  assert.equal(slotOfHash(0xffffffff, slots), slots - 1, 'the top hash stays in range');
  assert.equal(slotOfHash(0, slots), 0);
  // Math.floor(hash * slots / 2 ** 32) rounds this product up to the next multiple of 2^32.
  assert.equal(Math.floor((4_294_965_717 * 19_040_387) / 2 ** 32), 19_040_380, 'naive: one too many');
  assert.equal(slotOfHash(4_294_965_717, 19_040_387), 19_040_379);
});
