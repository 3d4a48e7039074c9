/**
 * MD5 (RFC 1321) in plain TypeScript, so that the protocol core needs no `node:crypto`.
 * MD5 is only used inside HMAC for tokens this node creates and checks itself (nonces, ping
 * authenticators, bubble interface IDs), which is what Miredo does; it is not a signature scheme.
 */

export const MD5_BLOCK_BYTES = 64;
export const MD5_DIGEST_BYTES = 16;

/** T[i] = floor(|sin(i + 1)| * 2^32), RFC 1321 section 3.4. */
// prettier-ignore
const T: Readonly<Uint32Array> = Uint32Array.of(
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
);

/** Left-rotation amounts, four per round. */
const SHIFTS: Readonly<Uint8Array> = Uint8Array.of(7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21);

const INITIAL_STATE: Readonly<Uint32Array> = Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);

/** Scratch for the 16 little-endian message words; safe because JavaScript runs one block at a time. */
const words = new Uint32Array(16);

function compress(state: Uint32Array, block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const at = offset + i * 4;
    words[i] = (block[at]! | (block[at + 1]! << 8) | (block[at + 2]! << 16) | (block[at + 3]! << 24)) >>> 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  for (let i = 0; i < 64; i++) {
    const round = i >>> 4;
    let f: number;
    let g: number;
    if (round === 0) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (round === 1) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (round === 2) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const sum = (a + f + T[i]! + words[g]!) | 0;
    const s = SHIFTS[(round << 2) | (i & 3)]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

/**
 * Incremental MD5. `copyFrom` lets HMAC resume from a state that has already absorbed the
 * key pad, so each MAC over a short message costs two compressions.
 */
export class Md5 {
  private readonly state = new Uint32Array(4);
  private readonly pending = new Uint8Array(MD5_BLOCK_BYTES);
  private pendingBytes = 0;
  private totalBytes = 0;

  constructor() {
    this.reset();
  }

  reset(): this {
    this.state.set(INITIAL_STATE);
    this.pendingBytes = 0;
    this.totalBytes = 0;
    return this;
  }

  copyFrom(other: Md5): this {
    this.state.set(other.state);
    this.pending.set(other.pending);
    this.pendingBytes = other.pendingBytes;
    this.totalBytes = other.totalBytes;
    return this;
  }

  update(data: Uint8Array): this {
    let offset = 0;
    this.totalBytes += data.length;
    if (this.pendingBytes > 0) {
      const take = Math.min(MD5_BLOCK_BYTES - this.pendingBytes, data.length);
      for (let i = 0; i < take; i++) this.pending[this.pendingBytes + i] = data[i]!;
      this.pendingBytes += take;
      offset = take;
      if (this.pendingBytes < MD5_BLOCK_BYTES) return this;
      compress(this.state, this.pending, 0);
      this.pendingBytes = 0;
    }
    while (data.length - offset >= MD5_BLOCK_BYTES) {
      compress(this.state, data, offset);
      offset += MD5_BLOCK_BYTES;
    }
    if (offset < data.length) {
      // Byte by byte rather than set(subarray): no view allocated per MAC (tokens on the slow path).
      for (let i = offset; i < data.length; i++) this.pending[i - offset] = data[i]!;
      this.pendingBytes = data.length - offset;
    }
    return this;
  }

  /** Writes the 16-byte digest at `out[outOffset]`. The object must be reset before further use. */
  digestInto(out: Uint8Array, outOffset = 0): void {
    const bitLength = this.totalBytes * 8;
    const pending = this.pending;
    let used = this.pendingBytes;
    pending[used++] = 0x80;
    if (used > MD5_BLOCK_BYTES - 8) {
      pending.fill(0, used);
      compress(this.state, pending, 0);
      used = 0;
    }
    pending.fill(0, used, MD5_BLOCK_BYTES - 8);
    const low = bitLength >>> 0;
    const high = Math.floor(bitLength / 0x1_0000_0000) >>> 0;
    for (let i = 0; i < 4; i++) {
      pending[MD5_BLOCK_BYTES - 8 + i] = (low >>> (8 * i)) & 0xff;
      pending[MD5_BLOCK_BYTES - 4 + i] = (high >>> (8 * i)) & 0xff;
    }
    compress(this.state, pending, 0);
    this.pendingBytes = 0;
    for (let i = 0; i < 16; i++) {
      out[outOffset + i] = (this.state[i >>> 2]! >>> (8 * (i & 3))) & 0xff;
    }
  }
}

/** One-shot MD5 digest of `message`. */
export function md5(message: Uint8Array): Uint8Array {
  const digest = new Uint8Array(MD5_DIGEST_BYTES);
  new Md5().update(message).digestInto(digest);
  return digest;
}
