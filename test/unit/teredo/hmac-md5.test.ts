import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { createHmacMd5 } from '../../../src/teredo/hmac-md5.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const repeat = (byte: number, length: number): Uint8Array => new Uint8Array(length).fill(byte);

test('HMAC-MD5 reproduces the RFC 2202 test cases', () => {
  const cases: ReadonlyArray<readonly [Uint8Array, Uint8Array, string]> = [
    [repeat(0x0b, 16), ascii('Hi There'), '9294727a3638bb1c13f48ef8158bfc9d'],
    [ascii('Jefe'), ascii('what do ya want for nothing?'), '750c783e6ab0b503eaa86e310a5db738'],
    [repeat(0xaa, 16), repeat(0xdd, 50), '56be34521d144c88dbb8c733f0e8b3f6'],
    [Uint8Array.from({ length: 25 }, (_, i) => i + 1), repeat(0xcd, 50), '697eaf0aca3a3aea3a75164746ffaa79'],
    [repeat(0x0c, 16), ascii('Test With Truncation'), '56461ef2342edc00f9bab995690efd4c'],
    [
      repeat(0xaa, 80),
      ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
      '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd',
    ],
    [
      repeat(0xaa, 80),
      ascii('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'),
      '6f630fad67cda0ee1fb1f562db3aa53e',
    ],
  ];
  for (const [index, [key, data, expected]] of cases.entries()) {
    assert.equal(hex(createHmacMd5(key).mac(data)), expected, `RFC 2202 case ${index + 1}`);
  }
});

test('HMAC-MD5 agrees with node:crypto for any key and message, and repeated use gives the same MAC', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 200 }), (key, message) => {
      const expected = createHmac('md5', key).update(message).digest('hex');
      const hmac = createHmacMd5(key);
      assert.equal(hex(hmac.mac(message)), expected);
      assert.equal(hex(hmac.mac(message)), expected);
    }),
  );
});

test('macInto writes at the requested offset and leaves the rest of the buffer alone', () => {
  const out = new Uint8Array(20).fill(0xee);
  const returned = createHmacMd5(repeat(0x0b, 16)).macInto(ascii('Hi There'), out, 2);
  assert.equal(returned, out);
  assert.equal(hex(out.subarray(2, 18)), '9294727a3638bb1c13f48ef8158bfc9d');
  assert.deepEqual([...out.subarray(0, 2), ...out.subarray(18)], [0xee, 0xee, 0xee, 0xee]);
});
