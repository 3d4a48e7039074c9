/**
 * Teredo addresses (RFC 4380 section 4, RFC 5991 flags):
 *
 *   bytes 0..3 prefix | 4..7 server IPv4 | 8..9 flags | 10..11 ~port | 12..15 ~client IPv4
 *
 * Port and client IPv4 travel obfuscated (bitwise NOT); every function here takes and returns
 * them in clear. IPv4 addresses are uint32 values (see ipv4.ts). The `...At` readers work on an
 * address inside a larger buffer (a packet) and allocate nothing: use them on the data path.
 */
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { TEREDO_CONSTANTS, TEREDO_LINK_LOCAL } from './constants.js';

export { formatIPv6, parseIPv6, parseIPv6Into } from './ipv6-text.js';

export interface TeredoAddressFields {
  readonly prefix: number;
  readonly server: number;
  readonly flags: number;
  /** Mapped UDP port, in clear. */
  readonly port: number;
  /** Mapped (client) IPv4, in clear. */
  readonly client: number;
}

/** A reusable record for readTeredoAddressInto(). */
export interface MutableTeredoAddressFields {
  prefix: number;
  server: number;
  flags: number;
  port: number;
  client: number;
}

export function createTeredoAddressFields(): MutableTeredoAddressFields {
  return { prefix: 0, server: 0, flags: 0, port: 0, client: 0 };
}

export function teredoPrefixAt(bytes: Uint8Array, offset: number): number {
  return readU32(bytes, offset);
}

export function teredoServerAt(bytes: Uint8Array, offset: number): number {
  return readU32(bytes, offset + 4);
}

export function teredoFlagsAt(bytes: Uint8Array, offset: number): number {
  return readU16(bytes, offset + 8);
}

export function teredoPortAt(bytes: Uint8Array, offset: number): number {
  return ~readU16(bytes, offset + 10) & 0xffff;
}

export function teredoClientAt(bytes: Uint8Array, offset: number): number {
  return ~readU32(bytes, offset + 12) >>> 0;
}

export function isConeAt(bytes: Uint8Array, offset: number): boolean {
  return (teredoFlagsAt(bytes, offset) & TEREDO_CONSTANTS.coneFlag) !== 0;
}

/** Whether the address at `offset` lies in `prefix`::/32. */
export function isTeredoAt(
  bytes: Uint8Array,
  offset: number,
  prefix: number = TEREDO_CONSTANTS.prefix,
): boolean {
  return offset >= 0 && offset + 16 <= bytes.length && readU32(bytes, offset) === prefix >>> 0;
}

/** Whether a 16-byte address is a Teredo address under `prefix`. */
export function isTeredo(address: Uint8Array, prefix: number = TEREDO_CONSTANTS.prefix): boolean {
  return address.length === 16 && isTeredoAt(address, 0, prefix);
}

/** Whether the mapping embedded at `offset` is (ipv4, port): the check a packet's outer source must pass. */
export function teredoMappingMatchesAt(
  bytes: Uint8Array,
  offset: number,
  ipv4: number,
  port: number,
): boolean {
  return teredoClientAt(bytes, offset) === ipv4 >>> 0 && teredoPortAt(bytes, offset) === port;
}

export function readTeredoAddressInto(
  bytes: Uint8Array,
  offset: number,
  out: MutableTeredoAddressFields,
): void {
  out.prefix = teredoPrefixAt(bytes, offset);
  out.server = teredoServerAt(bytes, offset);
  out.flags = teredoFlagsAt(bytes, offset);
  out.port = teredoPortAt(bytes, offset);
  out.client = teredoClientAt(bytes, offset);
}

/** The fields of a 16-byte Teredo address (prefix not checked: see isTeredo). */
export function decodeTeredoAddress(address: Uint8Array, offset = 0): TeredoAddressFields {
  const out = createTeredoAddressFields();
  readTeredoAddressInto(address, offset, out);
  return Object.freeze(out);
}

/** Writes the address for `fields` at `offset` of `out` (a new 16-byte array by default). */
export function encodeTeredoAddress(
  fields: TeredoAddressFields,
  out: Uint8Array = new Uint8Array(16),
  offset = 0,
): Uint8Array {
  if (offset < 0 || offset + 16 > out.length) throw new RangeError('Teredo address does not fit the buffer');
  writeU32(out, offset, fields.prefix);
  writeU32(out, offset + 4, fields.server);
  writeU16(out, offset + 8, fields.flags);
  writeU16(out, offset + 10, ~fields.port);
  writeU32(out, offset + 12, ~fields.client);
  return out;
}

/**
 * The flags field of a new address: the cone bit if asked, and the RFC 5991 random bits taken
 * from `randomBits` (U, G and R stay zero).
 */
export function makeTeredoFlags(cone: boolean, randomBits: number): number {
  return (cone ? TEREDO_CONSTANTS.coneFlag : 0) | (randomBits & TEREDO_CONSTANTS.randomFlagsMask);
}

/**
 * The link-local address a client uses as the source of its Router Solicitations and configures
 * on its interface: fe80::ffff:ffff:ffff (restricted) or fe80::8000:5445:5245:444f (cone).
 */
export function writeClientLinkLocal(cone: boolean, out: Uint8Array, offset = 0): void {
  if (offset < 0 || offset + 16 > out.length)
    throw new RangeError('link-local address does not fit the buffer');
  out.set(cone ? TEREDO_LINK_LOCAL.cone : TEREDO_LINK_LOCAL.restricted, offset);
}

export function clientLinkLocal(cone: boolean): Uint8Array {
  const out = new Uint8Array(16);
  writeClientLinkLocal(cone, out);
  return out;
}

export function isClientLinkLocalAt(bytes: Uint8Array, offset: number, cone: boolean): boolean {
  const expected = cone ? TEREDO_LINK_LOCAL.cone : TEREDO_LINK_LOCAL.restricted;
  if (offset < 0 || offset + 16 > bytes.length) return false;
  for (let i = 0; i < 16; i++) if (bytes[offset + i] !== expected[i]) return false;
  return true;
}

/**
 * A Teredo server's link-local address: fe80::8000:f227:<~server IPv4>, i.e. the cone flag,
 * the obfuscated port 3544 and the obfuscated primary IPv4 (198.51.100.1 -> fe80::8000:f227:39cc:9bfe).
 */
export function writeServerLinkLocal(serverIPv4: number, out: Uint8Array, offset = 0): void {
  if (offset < 0 || offset + 16 > out.length)
    throw new RangeError('link-local address does not fit the buffer');
  out.fill(0, offset, offset + 8);
  out[offset] = 0xfe;
  out[offset + 1] = 0x80;
  writeU16(out, offset + 8, TEREDO_CONSTANTS.coneFlag);
  writeU16(out, offset + 10, ~TEREDO_CONSTANTS.port);
  writeU32(out, offset + 12, ~serverIPv4);
}

export function serverLinkLocal(serverIPv4: number): Uint8Array {
  const out = new Uint8Array(16);
  writeServerLinkLocal(serverIPv4, out);
  return out;
}
