import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Md5, md5 } from '../../../src/teredo/md5.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

test('MD5 reproduces the RFC 1321 test suite', () => {
  const suite: ReadonlyArray<readonly [string, string]> = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      '57edf4a22be3c955ac49da2e2107b67a',
    ],
  ];
  for (const [message, digest] of suite) {
    assert.equal(hex(md5(ascii(message))), digest, `MD5("${message}")`);
  }
});

test('MD5 padding is right at every length around the block and length-field boundaries', () => {
  for (let length = 0; length <= 200; length++) {
    const message = Uint8Array.from({ length }, (_, i) => (i * 7 + length) & 0xff);
    assert.equal(hex(md5(message)), createHash('md5').update(message).digest('hex'), `length ${length}`);
  }
});

test('incremental MD5 equals one-shot MD5 however the input is split', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 6 }), (data, cuts) => {
      const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
      const hasher = new Md5();
      let from = 0;
      for (const point of [...points, data.length]) {
        hasher.update(data.subarray(from, point));
        from = point;
      }
      const digest = new Uint8Array(16);
      hasher.digestInto(digest);
      assert.equal(hex(digest), createHash('md5').update(data).digest('hex'));
    }),
  );
});

test('copyFrom resumes from a saved state and reset starts over', () => {
  const prefix = ascii('a'.repeat(70));
  const saved = new Md5().update(prefix);
  const resumed = new Md5().copyFrom(saved).update(ascii('bc'));
  const out = new Uint8Array(20);
  resumed.digestInto(out, 4);
  assert.equal(hex(out.subarray(4)), hex(md5(ascii(`${'a'.repeat(70)}bc`))));
  assert.deepEqual([...out.subarray(0, 4)], [0, 0, 0, 0]);
  const again = new Uint8Array(16);
  resumed.reset().update(ascii('abc')).digestInto(again);
  assert.equal(hex(again), '900150983cd24fb0d6963f7d28e17f72');
});
