/**
 * The relay benchmark's synthetic traffic: K "fake" Teredo clients on one public IPv4 without
 * NAT (client i owns UDP port basePort + i and the Teredo address that embeds exactly that
 * mapping, so any relay accepts its packets once it knows the peer), and the native IPv6 host
 * they talk to. Every packet is built once and sent many times: IPv6/UDP with a correct
 * checksum and a fixed-size payload.
 */
import { encodeTeredoAddress } from '../src/teredo/address.js';
import { buildBubble } from '../src/teredo/bubble.js';
import { fillUpperLayerChecksum } from '../src/teredo/checksum.js';
import { TEREDO_CONSTANTS } from '../src/teredo/constants.js';
import { writeIPv6Header } from '../src/teredo/ipv6-header.js';
import { parseIPv4 } from '../src/teredo/ipv4.js';
import { parseIPv6 } from '../src/teredo/ipv6-text.js';

export const IPV4_HEADER_BYTES = 20;
export const UDP_HEADER_BYTES = 8;
export const IPV6_HEADER_BYTES = 40;
/** The UDP port the IPv6 host's counter (and DROP) rule matches: "discard". */
export const HOST_DISCARD_PORT = 9;
/** Source ports of the host's packets are HOST_SOURCE_PORT + i, so every fake client is its own flow. */
export const HOST_SOURCE_PORT = 20_000;
/** Source ports of the fake clients' inner packets (client i: CLIENT_INNER_PORT + i). */
export const CLIENT_INNER_PORT = 30_000;
const HOP_LIMIT = 64;
const NEXT_HEADER_UDP = 17;

export interface FakeClientPlan {
  /** The Teredo server embedded in every address (the lab's; any global IPv4 would do). */
  readonly serverIPv4: string;
  /** The public IPv4 of the fake clients' namespace. */
  readonly clientIPv4: string;
  /** Client i is bound to basePort + i. */
  readonly basePort: number;
  readonly clients: number;
  /** The native IPv6 host on the other side of the relay. */
  readonly hostIPv6: string;
  /** UDP payload bytes of the measured packets (the figure: 64). */
  readonly payloadBytes: number;
}

function ipv4(text: string): number {
  const value = parseIPv4(text);
  if (value === null) throw new Error(`not an IPv4 address: ${text}`);
  return value;
}

function ipv6(text: string): Uint8Array {
  const value = parseIPv6(text);
  if (value === null) throw new Error(`not an IPv6 address: ${text}`);
  return value;
}

/** Flags 0: a restricted (non-cone) client, the common case, with no RFC 5991 random bits. */
export function fakeClientAddress(plan: FakeClientPlan, index: number): Uint8Array {
  return encodeTeredoAddress({
    prefix: TEREDO_CONSTANTS.prefix,
    server: ipv4(plan.serverIPv4),
    flags: 0,
    port: plan.basePort + index,
    client: ipv4(plan.clientIPv4),
  });
}

/** Bytes of a measured IPv6 packet (the Teredo payload). */
export function innerPacketBytes(plan: FakeClientPlan): number {
  return IPV6_HEADER_BYTES + UDP_HEADER_BYTES + plan.payloadBytes;
}

/** The IPv4 total length of a measured packet inside its Teredo datagram (what `-m length` sees). */
export function teredoDatagramBytes(plan: FakeClientPlan): number {
  return IPV4_HEADER_BYTES + UDP_HEADER_BYTES + innerPacketBytes(plan);
}

function udpPacket(
  plan: FakeClientPlan,
  source: Uint8Array,
  destination: Uint8Array,
  sourcePort: number,
  destinationPort: number,
): Uint8Array {
  const packet = new Uint8Array(innerPacketBytes(plan));
  const udpLength = UDP_HEADER_BYTES + plan.payloadBytes;
  writeIPv6Header(packet, 0, {
    payloadLength: udpLength,
    nextHeader: NEXT_HEADER_UDP,
    hopLimit: HOP_LIMIT,
    source,
    destination,
  });
  const view = new DataView(packet.buffer);
  view.setUint16(IPV6_HEADER_BYTES, sourcePort);
  view.setUint16(IPV6_HEADER_BYTES + 2, destinationPort);
  view.setUint16(IPV6_HEADER_BYTES + 4, udpLength);
  for (let i = 0; i < plan.payloadBytes; i++) packet[IPV6_HEADER_BYTES + UDP_HEADER_BYTES + i] = i & 0xff;
  fillUpperLayerChecksum(packet, 0, 6);
  return packet;
}

/** Fake client i → the IPv6 host's discard port: the payload of a Teredo datagram to the relay. */
export function clientToHostPacket(plan: FakeClientPlan, index: number): Uint8Array {
  return udpPacket(
    plan,
    fakeClientAddress(plan, index),
    ipv6(plan.hostIPv6),
    CLIENT_INNER_PORT + index,
    HOST_DISCARD_PORT,
  );
}

/** The IPv6 host → fake client i: what the host sends on a raw IPv6 socket. */
export function hostToClientPacket(plan: FakeClientPlan, index: number): Uint8Array {
  return udpPacket(
    plan,
    ipv6(plan.hostIPv6),
    fakeClientAddress(plan, index),
    HOST_SOURCE_PORT + index,
    plan.basePort + index,
  );
}

/**
 * A bubble from fake client i, sent straight to the relay. A relay that has an entry for the
 * client (it queued a packet for it and asked through the server) then trusts it: the outer
 * source is the mapping its address embeds (RFC 4380 5.4.2; Miredo's relay.c step "Teredo source
 * and mapping matches").
 */
export function clientBubble(plan: FakeClientPlan, index: number): Uint8Array {
  const bubble = new Uint8Array(IPV6_HEADER_BYTES);
  buildBubble(bubble, 0, { source: fakeClientAddress(plan, index), destination: ipv6(plan.hostIPv6) });
  return bubble;
}
