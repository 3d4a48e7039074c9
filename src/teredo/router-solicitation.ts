/**
 * Router Solicitation as a Teredo client sends it to its server (reference section 4.4), and
 * as a server accepts it (section 4.11 step 4). The client's datagram is 61 bytes:
 *
 *   auth 00 01 00 00 <nonce 8> 00 | IPv6 plen 8, nh 58, hop limit 255, <client LL> -> ff02::2 |
 *   ICMPv6 85 00 <checksum> 00 00 00 00
 *
 * The checksum only depends on the source, so it is 0x7d37 from fe80::ffff:ffff:ffff and 0x125d
 * from the cone fe80::8000:5445:5245:444f.
 */
import { clientLinkLocal, isConeAt } from './address.js';
import { assertRoom, writeU32 } from './bytes.js';
import { ICMPV6_TYPE, NEXT_HEADER, TEREDO_CONSTANTS, WIRE_SIZE } from './constants.js';
import { checkIcmpv6Packet, fillIcmpv6Checksum, icmpv6Code, icmpv6Type } from './icmpv6-message.js';
import type { Icmpv6DropReason } from './icmpv6-message.js';
import { isAllRoutersMulticastAt, isLinkLocalIPv6At } from './ipv6-address.js';
import { IPV6_DESTINATION_OFFSET, IPV6_SOURCE_OFFSET, writeIPv6Header } from './ipv6-header.js';
import { IPV6_HEADER_BYTES } from './constants.js';
import { nonce } from './security.js';
import type { SecurityContext } from './security.js';
import { writeAuthHeader } from './wire.js';

const RS_MESSAGE_BYTES = 8;
export const ROUTER_SOLICITATION_DATAGRAM_BYTES =
  WIRE_SIZE.authHeaderMin + IPV6_HEADER_BYTES + RS_MESSAGE_BYTES;

const ALL_ROUTERS = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
const LINK_LOCAL_SOURCE = { restricted: clientLinkLocal(false), cone: clientLinkLocal(true) } as const;

export interface RouterSolicitationFields {
  /** 8 bytes the server echoes in its RA. */
  readonly nonce: Uint8Array;
  /** Send from the cone link-local address (Miredo never does). */
  readonly cone?: boolean;
}

/** Writes the whole UDP payload of a Router Solicitation at `offset` and returns 61. */
export function buildRouterSolicitation(
  out: Uint8Array,
  offset: number,
  fields: RouterSolicitationFields,
): number {
  assertRoom(out, offset, ROUTER_SOLICITATION_DATAGRAM_BYTES, 'Router Solicitation');
  const ipv6Offset = offset + writeAuthHeader(out, offset, { nonce: fields.nonce });
  const icmp = ipv6Offset + IPV6_HEADER_BYTES;
  writeIPv6Header(out, ipv6Offset, {
    payloadLength: RS_MESSAGE_BYTES,
    nextHeader: NEXT_HEADER.icmpv6,
    hopLimit: TEREDO_CONSTANTS.routerDiscoveryHopLimit,
    source: fields.cone === true ? LINK_LOCAL_SOURCE.cone : LINK_LOCAL_SOURCE.restricted,
    destination: ALL_ROUTERS,
  });
  out[icmp] = ICMPV6_TYPE.routerSolicitation;
  out[icmp + 1] = 0;
  writeU32(out, icmp + 4, 0);
  fillIcmpv6Checksum(out, ipv6Offset);
  return icmp + RS_MESSAGE_BYTES - offset;
}

/**
 * A client's RS to ipv4:port with a fresh nonce hashed from `timestamp` (each caller keeps its
 * timestamps strictly increasing, so no two RSs share a nonce): the datagram and the nonce the
 * answer must echo.
 */
export function solicitationWithNonce(
  security: SecurityContext,
  timestamp: number,
  ipv4: number,
  port: number,
  cone = false,
): { readonly nonce: Uint8Array; readonly datagram: Uint8Array } {
  const expected = nonce(security, timestamp >>> 0, ipv4, port);
  const datagram = new Uint8Array(ROUTER_SOLICITATION_DATAGRAM_BYTES);
  buildRouterSolicitation(datagram, 0, { nonce: expected, cone });
  return { nonce: expected, datagram };
}

export type RouterSolicitationDropReason =
  Icmpv6DropReason | 'not-router-solicitation' | 'source-not-link-local' | 'destination-not-all-routers';
export const ROUTER_SOLICITATION_DROP_REASONS: readonly RouterSolicitationDropReason[] = Object.freeze([
  'ipv6-truncated',
  'not-ipv6',
  'ipv6-payload-truncated',
  'not-icmpv6',
  'icmpv6-truncated',
  'not-router-solicitation',
  'source-not-link-local',
  'destination-not-all-routers',
]);

export interface RouterSolicitation {
  /** The source carries the cone flag: the server answers from its other IPv4 address. */
  cone: boolean;
}

export function createRouterSolicitation(): RouterSolicitation {
  return { cone: false };
}

/**
 * Server-side check of the IPv6 packet at bytes[offset, offset + length): ICMPv6 type 133 code 0
 * of at least 8 bytes, from a link-local source, to ff02::2. Authentication is not required.
 */
export function parseRouterSolicitation(
  bytes: Uint8Array,
  offset: number,
  length: number,
  out: RouterSolicitation,
): 'ok' | RouterSolicitationDropReason {
  out.cone = false;
  const verdict = checkIcmpv6Packet(bytes, offset, length, RS_MESSAGE_BYTES);
  if (verdict !== 'ok') return verdict;
  if (icmpv6Type(bytes, offset) !== ICMPV6_TYPE.routerSolicitation || icmpv6Code(bytes, offset) !== 0) {
    return 'not-router-solicitation';
  }
  if (!isLinkLocalIPv6At(bytes, offset + IPV6_SOURCE_OFFSET)) return 'source-not-link-local';
  if (!isAllRoutersMulticastAt(bytes, offset + IPV6_DESTINATION_OFFSET)) return 'destination-not-all-routers';
  out.cone = isConeAt(bytes, offset + IPV6_SOURCE_OFFSET);
  return 'ok';
}
