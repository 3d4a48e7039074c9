/**
 * Big-endian field access on byte arrays, shared by the wire-format modules. Reads past the end
 * yield 0 bits instead of throwing (undefined in a bitwise expression is 0); callers bound-check
 * before trusting a value. Writers assume the caller checked the room.
 */

export function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** Whether `length` bytes of `a` from `aOffset` equal those of `b` from `bOffset` (false if either is short). */
export function bytesEqual(
  a: Uint8Array,
  aOffset: number,
  b: Uint8Array,
  bOffset: number,
  length: number,
): boolean {
  if (aOffset < 0 || bOffset < 0 || aOffset + length > a.length || bOffset + length > b.length) return false;
  for (let i = 0; i < length; i++) {
    if (a[aOffset + i] !== b[bOffset + i]) return false;
  }
  return true;
}

/** Throws when `[offset, offset + length)` does not fit in `bytes`: for builders, a programming error. */
export function assertRoom(bytes: Uint8Array, offset: number, length: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + length > bytes.length) {
    throw new RangeError(`${what}: needs ${length} bytes at offset ${offset}, buffer has ${bytes.length}`);
  }
}

/** Whether `[offset, offset + length)` is a valid, integral region of `bytes`. */
export function isRegion(bytes: Uint8Array, offset: number, length: number): boolean {
  return (
    Number.isInteger(offset) &&
    Number.isInteger(length) &&
    offset >= 0 &&
    length >= 0 &&
    offset + length <= bytes.length
  );
}
