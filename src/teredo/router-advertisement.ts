/**
 * Router Advertisement as a Teredo server sends it (reference section 4.4) and a client checks
 * it (section 4.6 step 3, Miredo's teredo_parse_ra). The server's datagram is 117 bytes:
 *
 *   auth (13, nonce echoed, confirmation 0) | origin indication (8, the RS's outer source) |
 *   IPv6 (plen 56, nh 58, hop limit 255, server LL -> RS source) |
 *   RA 86 00 <cksum> 00 00 0000 00000000 000007d0 (hop limit, flags, lifetime, reachable 0, retrans 2000 ms) |
 *   Prefix Information 03 04 40 40 ffffffff ffffffff 00000000 <prefix 32 bits><server IPv4>:: |
 *   MTU 05 01 0000 <mtu>
 *
 * Without a nonce (the RS carried no authentication) the auth header is left out: 104 bytes.
 * Miredo sends uninitialised bytes there instead.
 */
import { writeServerLinkLocal, isClientLinkLocalAt } from './address.js';
import { assertRoom, readU32, writeU16, writeU32 } from './bytes.js';
import { ICMPV6_TYPE, NEXT_HEADER, TEREDO_CONSTANTS, WIRE_SIZE } from './constants.js';
import type { TeredoConstants } from './constants.js';
import { checkIcmpv6Packet, fillIcmpv6Checksum, icmpv6Code, icmpv6Type } from './icmpv6-message.js';
import type { Icmpv6DropReason } from './icmpv6-message.js';
import { IPV6_DESTINATION_OFFSET, ipv6PayloadLength, writeIPv6Header } from './ipv6-header.js';
import { IPV6_HEADER_BYTES } from './constants.js';
import { writeAuthHeader, writeOriginIndication } from './wire.js';
import type { TeredoPayload } from './wire.js';

const RA_HEADER_BYTES = 16;
const PREFIX_OPTION_TYPE = 3;
const PREFIX_OPTION_BYTES = 32;
const MTU_OPTION_TYPE = 5;
const MTU_OPTION_BYTES = 8;
const AUTONOMOUS_FLAG = 0x40;
const TEREDO_PREFIX_LENGTH = 64;
const RA_MESSAGE_BYTES = RA_HEADER_BYTES + PREFIX_OPTION_BYTES + MTU_OPTION_BYTES;

export const ROUTER_ADVERTISEMENT_DATAGRAM_BYTES =
  WIRE_SIZE.authHeaderMin + WIRE_SIZE.originIndication + IPV6_HEADER_BYTES + RA_MESSAGE_BYTES;

export interface RouterAdvertisementFields {
  /** The RS's 8-byte nonce; without it no authentication header is sent. */
  readonly nonce?: Uint8Array;
  /** The RS's outer UDP source, in clear: the client's mapping. */
  readonly originPort: number;
  readonly originIPv4: number;
  /** The RS's IPv6 source (a client link-local address). */
  readonly destination: Uint8Array;
  readonly destinationOffset?: number;
  /** The server's primary IPv4: in the prefix and in the RA's link-local source. */
  readonly serverIPv4: number;
  /** 32-bit Teredo prefix (default 2001:0::/32). */
  readonly prefix?: number;
  /** Advertised MTU (default 1280). */
  readonly mtu?: number;
}

export function routerAdvertisementLength(fields: RouterAdvertisementFields): number {
  return ROUTER_ADVERTISEMENT_DATAGRAM_BYTES - (fields.nonce === undefined ? WIRE_SIZE.authHeaderMin : 0);
}

/** Writes the whole UDP payload of a Router Advertisement at `offset` and returns its length. */
export function buildRouterAdvertisement(
  out: Uint8Array,
  offset: number,
  fields: RouterAdvertisementFields,
  constants: TeredoConstants = TEREDO_CONSTANTS,
): number {
  const length = routerAdvertisementLength(fields);
  assertRoom(out, offset, length, 'Router Advertisement');
  let at = offset;
  if (fields.nonce !== undefined) at += writeAuthHeader(out, at, { nonce: fields.nonce });
  at += writeOriginIndication(out, at, fields.originPort, fields.originIPv4);

  const ipv6Offset = at;
  const serverLinkLocal = new Uint8Array(16);
  writeServerLinkLocal(fields.serverIPv4, serverLinkLocal);
  at += writeIPv6Header(out, at, {
    payloadLength: RA_MESSAGE_BYTES,
    nextHeader: NEXT_HEADER.icmpv6,
    hopLimit: constants.routerDiscoveryHopLimit,
    source: serverLinkLocal,
    destination: fields.destination,
    ...(fields.destinationOffset === undefined ? {} : { destinationOffset: fields.destinationOffset }),
  });

  out[at] = ICMPV6_TYPE.routerAdvertisement;
  out[at + 1] = 0;
  writeU16(out, at + 2, 0);
  out[at + 4] = 0; // current hop limit: unspecified
  out[at + 5] = 0; // flags
  writeU16(out, at + 6, constants.raRouterLifetimeSeconds);
  writeU32(out, at + 8, 0); // reachable time
  writeU32(out, at + 12, constants.raRetransTimerMs);
  at += RA_HEADER_BYTES;

  out[at] = PREFIX_OPTION_TYPE;
  out[at + 1] = PREFIX_OPTION_BYTES / 8;
  out[at + 2] = TEREDO_PREFIX_LENGTH;
  out[at + 3] = AUTONOMOUS_FLAG;
  writeU32(out, at + 4, constants.raPrefixValidLifetime);
  writeU32(out, at + 8, constants.raPrefixPreferredLifetime);
  writeU32(out, at + 12, 0);
  out.fill(0, at + 16, at + 32);
  writeU32(out, at + 16, fields.prefix ?? constants.prefix);
  writeU32(out, at + 20, fields.serverIPv4);
  at += PREFIX_OPTION_BYTES;

  out[at] = MTU_OPTION_TYPE;
  out[at + 1] = MTU_OPTION_BYTES / 8;
  writeU16(out, at + 2, 0);
  writeU32(out, at + 4, fields.mtu ?? constants.defaultMtu);
  at += MTU_OPTION_BYTES;

  fillIcmpv6Checksum(out, ipv6Offset);
  return at - offset;
}

export type RouterAdvertisementDropReason =
  | 'no-origin'
  | Icmpv6DropReason
  | 'wrong-destination'
  | 'not-router-advertisement'
  | 'bad-option-length'
  | 'option-overrun'
  | 'bad-prefix-option'
  | 'bad-prefix-length'
  | 'multiple-prefixes'
  | 'bad-mtu'
  | 'no-prefix'
  | 'multicast-prefix';
export const ROUTER_ADVERTISEMENT_DROP_REASONS: readonly RouterAdvertisementDropReason[] = Object.freeze([
  'no-origin',
  'ipv6-truncated',
  'not-ipv6',
  'ipv6-payload-truncated',
  'not-icmpv6',
  'icmpv6-truncated',
  'wrong-destination',
  'not-router-advertisement',
  'bad-option-length',
  'option-overrun',
  'bad-prefix-option',
  'bad-prefix-length',
  'multiple-prefixes',
  'bad-mtu',
  'no-prefix',
  'multicast-prefix',
]);

/** What a client learns from a valid RA: its Teredo address is prefix, server, flags, ~port, ~IPv4. */
export interface RouterAdvertisement {
  /** 32-bit prefix, the obsolete 3ffe:831f already mapped to 2001:0000. */
  prefix: number;
  /** Server IPv4 from the prefix option (the caller compares it with the server it asked). */
  serverIPv4: number;
  /** From the MTU option, else the default 1280. */
  mtu: number;
  /** The client's mapping from the origin indication, in clear. */
  originPort: number;
  originIPv4: number;
}

export function createRouterAdvertisement(): RouterAdvertisement {
  return { prefix: 0, serverIPv4: 0, mtu: 0, originPort: 0, originIPv4: 0 };
}

export interface RouterAdvertisementOptions {
  /** Expect the RA at the cone link-local address (our RS came from it). Default: restricted. */
  readonly cone?: boolean;
  readonly constants?: TeredoConstants;
}

/**
 * Client-side check of a datagram parsed by parseTeredoPayload(). Like Miredo: no hop limit,
 * checksum or source checks; option tails shorter than 8 bytes are ignored. Unlike Miredo: an RA
 * without any Prefix Information is refused here rather than later, and the multicast check
 * looks at the prefix's first byte (Miredo's looks at the wrong one on little-endian hosts).
 */
export function parseRouterAdvertisement(
  bytes: Uint8Array,
  payload: TeredoPayload,
  out: RouterAdvertisement,
  options: RouterAdvertisementOptions = {},
): 'ok' | RouterAdvertisementDropReason {
  const constants = options.constants ?? TEREDO_CONSTANTS;
  out.prefix = 0;
  out.serverIPv4 = 0;
  out.mtu = 0;
  out.originPort = 0;
  out.originIPv4 = 0;

  if (!payload.hasOrigin || payload.originIPv4 === 0) return 'no-origin';
  const offset = payload.ipv6Offset;
  const verdict = checkIcmpv6Packet(bytes, offset, payload.ipv6Length, RA_HEADER_BYTES);
  if (verdict !== 'ok') return verdict;
  if (!isClientLinkLocalAt(bytes, offset + IPV6_DESTINATION_OFFSET, options.cone === true)) {
    return 'wrong-destination';
  }
  if (icmpv6Type(bytes, offset) !== ICMPV6_TYPE.routerAdvertisement || icmpv6Code(bytes, offset) !== 0) {
    return 'not-router-advertisement';
  }

  let prefixes = 0;
  let prefix = 0;
  let serverIPv4 = 0;
  let mtu = constants.defaultMtu;
  let at = offset + IPV6_HEADER_BYTES + RA_HEADER_BYTES;
  const end = offset + IPV6_HEADER_BYTES + ipv6PayloadLength(bytes, offset);
  while (end - at >= 8) {
    const type = bytes[at]!;
    const optionLength = bytes[at + 1]! * 8;
    if (optionLength === 0) return 'bad-option-length';
    if (optionLength > end - at) return 'option-overrun';
    if (type === PREFIX_OPTION_TYPE) {
      if (optionLength < PREFIX_OPTION_BYTES) return 'bad-prefix-option';
      if (bytes[at + 2] !== TEREDO_PREFIX_LENGTH) return 'bad-prefix-length';
      if (++prefixes > 1) return 'multiple-prefixes';
      prefix = readU32(bytes, at + 16);
      serverIPv4 = readU32(bytes, at + 20);
    } else if (type === MTU_OPTION_TYPE) {
      mtu = readU32(bytes, at + 4);
      if (mtu < constants.minMtu || mtu > constants.maxMtu) return 'bad-mtu';
    }
    at += optionLength;
  }
  if (prefixes === 0) return 'no-prefix';
  if (prefix === constants.obsoletePrefix) prefix = constants.prefix;
  if (prefix >>> 24 === 0xff) return 'multicast-prefix';

  out.prefix = prefix;
  out.serverIPv4 = serverIPv4;
  out.mtu = mtu;
  out.originPort = payload.originPort;
  out.originIPv4 = payload.originIPv4;
  return 'ok';
}
