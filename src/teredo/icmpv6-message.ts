/**
 * What every ICMPv6 message in this core shares: the 4-byte type/code/checksum head directly
 * after a 40-byte IPv6 header (we neither send nor accept extension headers before it, like Miredo).
 */
import { fillUpperLayerChecksum, verifyUpperLayerChecksum } from './checksum.js';
import { NEXT_HEADER, WIRE_SIZE } from './constants.js';
import { checkIPv6Packet, ipv6NextHeader, ipv6PayloadLength } from './ipv6-header.js';
import { IPV6_HEADER_BYTES } from './constants.js';
import type { IPv6DropReason } from './ipv6-header.js';

export type Icmpv6DropReason = IPv6DropReason | 'not-icmpv6' | 'icmpv6-truncated';

/**
 * Whether bytes[offset, offset + length) is an IPv6 packet carrying an ICMPv6 message of at
 * least `minMessageLength` bytes.
 */
export function checkIcmpv6Packet(
  bytes: Uint8Array,
  offset: number,
  length: number,
  minMessageLength: number = WIRE_SIZE.icmpv6Header,
): 'ok' | Icmpv6DropReason {
  const verdict = checkIPv6Packet(bytes, offset, length);
  if (verdict !== 'ok') return verdict;
  if (ipv6NextHeader(bytes, offset) !== NEXT_HEADER.icmpv6) return 'not-icmpv6';
  if (ipv6PayloadLength(bytes, offset) < minMessageLength) return 'icmpv6-truncated';
  return 'ok';
}

export function icmpv6Type(bytes: Uint8Array, ipv6Offset: number): number {
  return bytes[ipv6Offset + IPV6_HEADER_BYTES]! | 0;
}

export function icmpv6Code(bytes: Uint8Array, ipv6Offset: number): number {
  return bytes[ipv6Offset + IPV6_HEADER_BYTES + 1]! | 0;
}

/** Computes and stores the checksum of the ICMPv6 message after the header at `ipv6Offset`. */
export function fillIcmpv6Checksum(packet: Uint8Array, ipv6Offset: number): void {
  fillUpperLayerChecksum(packet, ipv6Offset, 2);
}

/**
 * Whether the packet at `ipv6Offset` is ICMPv6 with a correct checksum. Miredo itself never
 * checks incoming checksums; this is for callers (and tests) that want to.
 */
export function verifyIcmpv6Checksum(packet: Uint8Array, ipv6Offset: number): boolean {
  return (
    ipv6NextHeader(packet, ipv6Offset) === NEXT_HEADER.icmpv6 && verifyUpperLayerChecksum(packet, ipv6Offset)
  );
}
