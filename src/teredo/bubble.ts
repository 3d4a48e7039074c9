/**
 * Teredo bubbles: an IPv6 header alone, payload length 0, next header 59 ("no next header"),
 * hop limit 0. They open NAT mappings and carry no data.
 */
import { IPV6_HEADER_BYTES, NEXT_HEADER, TEREDO_CONSTANTS } from './constants.js';
import { checkIPv6Packet, ipv6NextHeader, ipv6PayloadLength, writeIPv6HeaderBetween } from './ipv6-header.js';
import type { IPv6DropReason } from './ipv6-header.js';

export const BUBBLE_BYTES = IPV6_HEADER_BYTES;

export type BubbleDropReason = IPv6DropReason | 'not-bubble';
export const BUBBLE_DROP_REASONS: readonly BubbleDropReason[] = Object.freeze([
  'ipv6-truncated',
  'not-ipv6',
  'ipv6-payload-truncated',
  'not-bubble',
]);

export interface BubbleFields {
  readonly source: Uint8Array;
  readonly sourceOffset?: number;
  readonly destination: Uint8Array;
  readonly destinationOffset?: number;
}

/**
 * Writes a bubble at `offset` and returns 40. For a reply bubble pass the received packet's
 * destination as `source` and its source as `destination` (into another buffer: no overlap).
 */
export function buildBubble(out: Uint8Array, offset: number, fields: BubbleFields): number {
  return buildBubbleBetween(
    out,
    offset,
    fields.source,
    fields.sourceOffset ?? 0,
    fields.destination,
    fields.destinationOffset ?? 0,
  );
}

/** buildBubble's positional form: allocates nothing (the relay's slow path sends one per new peer). */
export function buildBubbleBetween(
  out: Uint8Array,
  offset: number,
  source: Uint8Array,
  sourceOffset: number,
  destination: Uint8Array,
  destinationOffset: number,
): number {
  return writeIPv6HeaderBetween(
    out,
    offset,
    0,
    NEXT_HEADER.noNextHeader,
    TEREDO_CONSTANTS.bubbleHopLimit,
    source,
    sourceOffset,
    destination,
    destinationOffset,
  );
}

/** Whether the checked IPv6 header at `offset` is a bubble (hop limit is not looked at, as in Miredo). */
export function isBubbleAt(bytes: Uint8Array, offset: number): boolean {
  return ipv6PayloadLength(bytes, offset) === 0 && ipv6NextHeader(bytes, offset) === NEXT_HEADER.noNextHeader;
}

export function parseBubble(bytes: Uint8Array, offset: number, length: number): 'ok' | BubbleDropReason {
  const verdict = checkIPv6Packet(bytes, offset, length);
  if (verdict !== 'ok') return verdict;
  return isBubbleAt(bytes, offset) ? 'ok' : 'not-bubble';
}
