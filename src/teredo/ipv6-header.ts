/**
 * The fixed IPv6 header (RFC 8200) read and written in place, at an offset of a larger buffer.
 * Accessors allocate nothing and trust the caller to have checked the packet with
 * checkIPv6Packet() (past the end they read zeros, they never throw).
 */
import { assertRoom, isRegion, readU16, writeU16, writeU32 } from './bytes.js';
import { IPV6_HEADER_BYTES } from './constants.js';

/** Offsets of the address fields from the start of the header. */
export const IPV6_SOURCE_OFFSET = 8;
export const IPV6_DESTINATION_OFFSET = 24;

export type IPv6DropReason = 'ipv6-truncated' | 'not-ipv6' | 'ipv6-payload-truncated';
export const IPV6_DROP_REASONS: readonly IPv6DropReason[] = Object.freeze([
  'ipv6-truncated',
  'not-ipv6',
  'ipv6-payload-truncated',
]);

export function ipv6Version(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! >>> 4;
}

export function ipv6TrafficClass(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! & 0x0f) << 4) | (bytes[offset + 1]! >>> 4);
}

export function ipv6FlowLabel(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset + 1]! & 0x0f) << 16) | readU16(bytes, offset + 2);
}

export function ipv6PayloadLength(bytes: Uint8Array, offset: number): number {
  return readU16(bytes, offset + 4);
}

export function ipv6NextHeader(bytes: Uint8Array, offset: number): number {
  return bytes[offset + 6]! | 0;
}

export function ipv6HopLimit(bytes: Uint8Array, offset: number): number {
  return bytes[offset + 7]! | 0;
}

/** Header plus payload: the bytes of the packet that count (anything after them is a trailer). */
export function ipv6PacketLength(bytes: Uint8Array, offset: number): number {
  return IPV6_HEADER_BYTES + ipv6PayloadLength(bytes, offset);
}

/**
 * Whether `length` bytes from `offset` hold an IPv6 packet Miredo would accept: a whole header,
 * version 6, and the payload its length field announces (extra bytes are allowed and ignored).
 * A region outside `bytes` counts as truncated.
 */
export function checkIPv6Packet(bytes: Uint8Array, offset: number, length: number): 'ok' | IPv6DropReason {
  if (!isRegion(bytes, offset, length) || length < IPV6_HEADER_BYTES) return 'ipv6-truncated';
  if (ipv6Version(bytes, offset) !== 6) return 'not-ipv6';
  if (ipv6PacketLength(bytes, offset) > length) return 'ipv6-payload-truncated';
  return 'ok';
}

export interface IPv6HeaderFields {
  readonly payloadLength: number;
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly source: Uint8Array;
  /** Where the 16 source bytes start in `source` (default 0). */
  readonly sourceOffset?: number;
  readonly destination: Uint8Array;
  readonly destinationOffset?: number;
  readonly trafficClass?: number;
  readonly flowLabel?: number;
}

/**
 * Writes a 40-byte header at `offset` and returns 40. The addresses may not overlap the header
 * being written. Throws RangeError when the header or an address does not fit: a programming error.
 */
export function writeIPv6Header(out: Uint8Array, offset: number, fields: IPv6HeaderFields): number {
  const written = writeIPv6HeaderBetween(
    out,
    offset,
    fields.payloadLength,
    fields.nextHeader,
    fields.hopLimit,
    fields.source,
    fields.sourceOffset ?? 0,
    fields.destination,
    fields.destinationOffset ?? 0,
  );
  const trafficClass = fields.trafficClass ?? 0;
  const flowLabel = fields.flowLabel ?? 0;
  writeU32(out, offset, ((6 << 28) | ((trafficClass & 0xff) << 20) | (flowLabel & 0xfffff)) >>> 0);
  return written;
}

/**
 * writeIPv6Header's positional form, with traffic class and flow label 0: no fields object and
 * no subarray views, so the slow path's bubbles and replies allocate nothing.
 */
export function writeIPv6HeaderBetween(
  out: Uint8Array,
  offset: number,
  payloadLength: number,
  nextHeader: number,
  hopLimit: number,
  source: Uint8Array,
  sourceOffset: number,
  destination: Uint8Array,
  destinationOffset: number,
): number {
  assertRoom(out, offset, IPV6_HEADER_BYTES, 'IPv6 header');
  assertRoom(source, sourceOffset, 16, 'IPv6 source address');
  assertRoom(destination, destinationOffset, 16, 'IPv6 destination address');
  writeU32(out, offset, (6 << 28) >>> 0);
  writeU16(out, offset + 4, payloadLength);
  out[offset + 6] = nextHeader;
  out[offset + 7] = hopLimit;
  for (let i = 0; i < 16; i++) {
    out[offset + IPV6_SOURCE_OFFSET + i] = source[sourceOffset + i]!;
    out[offset + IPV6_DESTINATION_OFFSET + i] = destination[destinationOffset + i]!;
  }
  return IPV6_HEADER_BYTES;
}
