/**
 * ICMPv6 Destination Unreachable (RFC 4443 section 3.1) for packets the tunnel cannot deliver:
 * type 1, a code, 4 unused zero bytes, then as much of the offending packet as keeps the whole
 * error within the minimum MTU (1232 quoted bytes). Following RFC 4443 section 2.4 (e) and Miredo,
 * no error is built about an ICMPv6 error, a multicast destination, or an unspecified or multicast source.
 */
import { assertRoom, isRegion, writeU32 } from './bytes.js';
import { ICMPV6_TYPE, NEXT_HEADER, TEREDO_CONSTANTS } from './constants.js';
import type { TeredoConstants } from './constants.js';
import { checkIcmpv6Packet, fillIcmpv6Checksum, icmpv6Code, icmpv6Type } from './icmpv6-message.js';
import type { Icmpv6DropReason } from './icmpv6-message.js';
import { isMulticastIPv6At, isUnspecifiedIPv6At } from './ipv6-address.js';
import {
  IPV6_DESTINATION_OFFSET,
  IPV6_SOURCE_OFFSET,
  ipv6NextHeader,
  ipv6PayloadLength,
  ipv6Version,
  writeIPv6Header,
} from './ipv6-header.js';
import { IPV6_HEADER_BYTES } from './constants.js';

const UNREACHABLE_HEADER_BYTES = 8;

export interface DestinationUnreachableFields {
  readonly code: number;
  /** Our address, the error's source. */
  readonly source: Uint8Array;
  readonly sourceOffset?: number;
  /** The packet we could not deliver; the error goes to its source. */
  readonly offending: Uint8Array;
  readonly offendingOffset?: number;
  /** Default: everything from offendingOffset to the end of `offending`. */
  readonly offendingLength?: number;
}

export type UnreachableRefusal =
  'offending-not-ipv6' | 'offending-is-icmpv6-error' | 'multicast-destination' | 'unusable-source';
export const UNREACHABLE_REFUSALS: readonly UnreachableRefusal[] = Object.freeze([
  'offending-not-ipv6',
  'offending-is-icmpv6-error',
  'multicast-destination',
  'unusable-source',
]);

export type UnreachableBuildResult =
  | { readonly kind: 'built'; readonly length: number }
  | { readonly kind: 'refused'; readonly reason: UnreachableRefusal };

/** The length an error about an offending packet of `offendingLength` bytes will have. */
export function destinationUnreachableLength(
  offendingLength: number,
  constants: TeredoConstants = TEREDO_CONSTANTS,
): number {
  return (
    IPV6_HEADER_BYTES + UNREACHABLE_HEADER_BYTES + Math.min(offendingLength, constants.icmpErrorQuoteLimit)
  );
}

/** Why no error may be sent about the offending packet, or null when one may. Never throws. */
export function unreachableRefusal(
  packet: Uint8Array,
  offset: number,
  length: number,
): UnreachableRefusal | null {
  if (!isRegion(packet, offset, length) || length < IPV6_HEADER_BYTES || ipv6Version(packet, offset) !== 6) {
    return 'offending-not-ipv6';
  }
  if (ipv6NextHeader(packet, offset) === NEXT_HEADER.icmpv6) {
    // Without its type byte we cannot tell an error from an informational message: stay silent.
    if (length <= IPV6_HEADER_BYTES || icmpv6Type(packet, offset) < 128) return 'offending-is-icmpv6-error';
  }
  if (isMulticastIPv6At(packet, offset + IPV6_DESTINATION_OFFSET)) return 'multicast-destination';
  const source = offset + IPV6_SOURCE_OFFSET;
  if (isUnspecifiedIPv6At(packet, source) || isMulticastIPv6At(packet, source)) return 'unusable-source';
  return null;
}

/**
 * Writes the complete IPv6 packet of the error at `offset` (to the offending packet's source,
 * hop limit `icmpErrorHopLimit`, checksum filled). `out` must not overlap the offending packet.
 * Throws RangeError only when `out` is too small.
 */
export function buildDestinationUnreachable(
  out: Uint8Array,
  offset: number,
  fields: DestinationUnreachableFields,
  constants: TeredoConstants = TEREDO_CONSTANTS,
): UnreachableBuildResult {
  const offending = fields.offending;
  const offendingOffset = fields.offendingOffset ?? 0;
  const offendingLength = fields.offendingLength ?? offending.length - offendingOffset;
  const refusal = unreachableRefusal(offending, offendingOffset, offendingLength);
  if (refusal !== null) return { kind: 'refused', reason: refusal };

  const quoted = Math.min(offendingLength, constants.icmpErrorQuoteLimit);
  const length = IPV6_HEADER_BYTES + UNREACHABLE_HEADER_BYTES + quoted;
  assertRoom(out, offset, length, 'ICMPv6 destination unreachable');
  writeIPv6Header(out, offset, {
    payloadLength: UNREACHABLE_HEADER_BYTES + quoted,
    nextHeader: NEXT_HEADER.icmpv6,
    hopLimit: constants.icmpErrorHopLimit,
    source: fields.source,
    destination: offending,
    destinationOffset: offendingOffset + IPV6_SOURCE_OFFSET,
    ...(fields.sourceOffset === undefined ? {} : { sourceOffset: fields.sourceOffset }),
  });
  const icmp = offset + IPV6_HEADER_BYTES;
  out[icmp] = ICMPV6_TYPE.destinationUnreachable;
  out[icmp + 1] = fields.code;
  writeU32(out, icmp + 4, 0);
  out.set(offending.subarray(offendingOffset, offendingOffset + quoted), icmp + UNREACHABLE_HEADER_BYTES);
  fillIcmpv6Checksum(out, offset);
  return { kind: 'built', length };
}

export type DestinationUnreachableDropReason = Icmpv6DropReason | 'not-destination-unreachable';
export const DESTINATION_UNREACHABLE_DROP_REASONS: readonly DestinationUnreachableDropReason[] =
  Object.freeze([
    'ipv6-truncated',
    'not-ipv6',
    'ipv6-payload-truncated',
    'not-icmpv6',
    'icmpv6-truncated',
    'not-destination-unreachable',
  ]);

export interface DestinationUnreachable {
  code: number;
  /** Where the quoted (possibly truncated) offending packet lies in the parsed buffer. */
  quotedOffset: number;
  quotedLength: number;
}

export function createDestinationUnreachable(): DestinationUnreachable {
  return { code: 0, quotedOffset: -1, quotedLength: 0 };
}

/** Parses the IPv6 packet at bytes[offset, offset + length) as a Destination Unreachable error. */
export function parseDestinationUnreachable(
  bytes: Uint8Array,
  offset: number,
  length: number,
  out: DestinationUnreachable,
): 'ok' | DestinationUnreachableDropReason {
  out.code = 0;
  out.quotedOffset = -1;
  out.quotedLength = 0;
  const verdict = checkIcmpv6Packet(bytes, offset, length, UNREACHABLE_HEADER_BYTES);
  if (verdict !== 'ok') return verdict;
  if (icmpv6Type(bytes, offset) !== ICMPV6_TYPE.destinationUnreachable) return 'not-destination-unreachable';
  out.code = icmpv6Code(bytes, offset);
  out.quotedOffset = offset + IPV6_HEADER_BYTES + UNREACHABLE_HEADER_BYTES;
  out.quotedLength = ipv6PayloadLength(bytes, offset) - UNREACHABLE_HEADER_BYTES;
  return 'ok';
}
