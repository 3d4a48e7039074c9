/**
 * The peer table's keyed hash: HalfSipHash (Aumasson and Bernstein's 32-bit SipHash variant, the
 * one Linux uses for its hash tables as `hsiphash`) over the 16 bytes of an IPv6 address, with
 * 32-bit output. Peer keys come from the network, so a plain hash would let anyone who can send
 * us packets pick addresses that all land in one probe chain; with a secret 64-bit key they
 * cannot predict where an address lands.
 *
 * Message words are read little-endian, as the reference implementation does, so the published
 * test vectors apply (with 2 compression and 4 finalisation rounds); the table uses 1 and 3.
 */

/** The 16 key bytes at `offset` as four little-endian words; reads past the end yield zero bits. */
export function keyWordAt(bytes: Uint8Array, offset: number): number {
  return (
    bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24) | 0
  );
}

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/**
 * HalfSipHash-c-d of a 16-byte message given as four little-endian words, keyed by (k0, k1), the
 * key's two little-endian words. Returns the 32-bit tag as an unsigned number.
 */
export function halfSipHash128(
  k0: number,
  k1: number,
  m0: number,
  m1: number,
  m2: number,
  m3: number,
  compressionRounds: number,
  finalisationRounds: number,
): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  for (let index = 0; index < 5; index++) {
    // The final block of a 16-byte message is the length in its top byte and no tail bytes.
    const block = index === 0 ? m0 : index === 1 ? m1 : index === 2 ? m2 : index === 3 ? m3 : 16 << 24;
    v3 ^= block;
    for (let round = 0; round < compressionRounds; round++) {
      v0 = (v0 + v1) | 0;
      v1 = rotl(v1, 5) ^ v0;
      v0 = rotl(v0, 16);
      v2 = (v2 + v3) | 0;
      v3 = rotl(v3, 8) ^ v2;
      v0 = (v0 + v3) | 0;
      v3 = rotl(v3, 7) ^ v0;
      v2 = (v2 + v1) | 0;
      v1 = rotl(v1, 13) ^ v2;
      v2 = rotl(v2, 16);
    }
    v0 ^= block;
  }
  v2 ^= 0xff;
  for (let round = 0; round < finalisationRounds; round++) {
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  }
  return (v1 ^ v3) >>> 0;
}

/**
 * floor(hash * slots / 2^32) for a 32-bit hash and slots ≤ 2^26: the hash's position scaled to
 * 0..slots-1 (multiply-high range reduction, uniform for any slot count). The product can exceed
 * 2^53, so it is taken in two 16-bit halves; every intermediate value is exact in a double.
 */
export function slotOfHash(hash: number, slots: number): number {
  const high = (hash >>> 16) * slots;
  const low = Math.floor(((hash & 0xffff) * slots) / 65536);
  return Math.floor((high + low) / 65536);
}
