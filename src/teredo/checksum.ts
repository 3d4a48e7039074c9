/**
 * Internet checksum (RFC 1071) of upper-layer messages in IPv6 packets, over the RFC 8200
 * section 8.1 pseudo-header (source, destination, upper-layer length, next header). Nothing
 * here allocates: the sums are plain numbers, exact up to 2^53, folded at the end.
 */
import { isRegion, writeU16 } from './bytes.js';
import { IPV6_HEADER_BYTES } from './constants.js';

/** Adds the big-endian 16-bit words of `length` bytes from `offset` to `sum` (odd tail padded with zero). */
export function onesComplementSum(bytes: Uint8Array, offset: number, length: number, sum = 0): number {
  const end = offset + length;
  let i = offset;
  for (; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  return sum;
}

/** Folds a sum to 16 bits with end-around carry. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** Sum of the pseudo-header of the IPv6 packet at `ipv6Offset` (addresses read from its header). */
export function ipv6PseudoHeaderSum(
  packet: Uint8Array,
  ipv6Offset: number,
  upperLength: number,
  nextHeader: number,
): number {
  let sum = onesComplementSum(packet, ipv6Offset + 8, 32);
  sum += Math.floor(upperLength / 0x10000) + (upperLength % 0x10000);
  return sum + nextHeader;
}

/**
 * The checksum to store in the upper-layer message that directly follows the IPv6 header at
 * `ipv6Offset` (no extension headers) and spans the header's payload length. The checksum field
 * must hold zero when this is called.
 */
export function computeUpperLayerChecksum(packet: Uint8Array, ipv6Offset: number): number {
  const upperLength = (packet[ipv6Offset + 4]! << 8) | packet[ipv6Offset + 5]!;
  const nextHeader = packet[ipv6Offset + 6]!;
  let sum = ipv6PseudoHeaderSum(packet, ipv6Offset, upperLength, nextHeader);
  sum = onesComplementSum(packet, ipv6Offset + IPV6_HEADER_BYTES, upperLength, sum);
  return ~foldSum(sum) & 0xffff;
}

/**
 * Zeroes the 16-bit checksum field `checksumOffset` bytes into the upper-layer message, computes
 * the checksum and stores it (ICMPv6: offset 2).
 */
export function fillUpperLayerChecksum(packet: Uint8Array, ipv6Offset: number, checksumOffset: number): void {
  const field = ipv6Offset + IPV6_HEADER_BYTES + checksumOffset;
  writeU16(packet, field, 0);
  writeU16(packet, field, computeUpperLayerChecksum(packet, ipv6Offset));
}

/**
 * Whether the upper-layer message after the IPv6 header at `ipv6Offset` carries a correct
 * checksum. False, never an exception, when the header or payload lies outside `packet`.
 */
export function verifyUpperLayerChecksum(packet: Uint8Array, ipv6Offset: number): boolean {
  if (!isRegion(packet, ipv6Offset, IPV6_HEADER_BYTES)) return false;
  const upperLength = (packet[ipv6Offset + 4]! << 8) | packet[ipv6Offset + 5]!;
  if (!isRegion(packet, ipv6Offset + IPV6_HEADER_BYTES, upperLength)) return false;
  const nextHeader = packet[ipv6Offset + 6]!;
  let sum = ipv6PseudoHeaderSum(packet, ipv6Offset, upperLength, nextHeader);
  sum = onesComplementSum(packet, ipv6Offset + IPV6_HEADER_BYTES, upperLength, sum);
  return foldSum(sum) === 0xffff;
}
