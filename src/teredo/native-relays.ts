/**
 * The relays a client reaches a native IPv6 peer through (RFC 4380 section 5.2.9, extended for
 * relays that share an anycast prefix). With several relays announcing 2001::/32 and routers
 * spreading flows over them by a hash of addresses, ports and ICMPv6 identifiers (ECMP), one
 * native peer's packets reach us through several relays at once, and the reply to our direct
 * connectivity test may come through another relay than the data. RFC 4380 trusts one relay
 * per native peer; this keeps two, both validated, in the peer table's record:
 *
 * - the primary, the record's mapping: packets to the peer go there, and the data plane's fast
 *   path accepts packets from it (fast-path.ts, unchanged);
 * - the alternate, in words only the control plane reads (peers-layout.ts): packets from it take
 *   the slow path, are accepted, and make it the primary (switchToAlternate), so our packets
 *   follow the relay the peer's packets now come through. After `kill -9` of the relay carrying
 *   a flow, the first packet through the surviving one moves the flow, with no timeout. Only a
 *   packet to our own address switches: relays only take packets from clients they have sent
 *   to, so the primary must be a relay that has carried a packet to our address.
 *
 * A relay becomes one of the two only by delivering an Echo Reply, from the peer, that carries
 * our HMAC authenticator for a request to that peer (relay-ping-check.ts): exactly the proof
 * RFC 4380 asks of the single relay it trusts. Packets from a relay that is neither are held in
 * the peer's queue while a test goes out at once (relay-receive.ts, case 6): for a trusted peer a
 * burst of PROBE_BURST tests, each with another Echo identifier (security.ts, PING_VARIANTS): an ECMP hash that includes the identifier sends their
 * replies through different relays, and the one that comes through the data's relay validates
 * it (adoptRelay) as the alternate. Everything here is the control plane's (the table's writer); nothing
 * allocates.
 */
import { TEREDO_CONSTANTS } from './constants.js';
import { PEER_TRUSTED } from './peers-layout.js';
import type { PeerTable } from './peers.js';

/**
 * The flags of the address a test with this variant comes from (variant 0: our address's own).
 * ECMP routers hash the reply's destination, but in Linux not the ICMPv6 identifier: so each
 * test comes from another alias of our address, which differs only in RFC 5991's random flag
 * bits (the mapping, the server and the cone bit stay ours, so relays and servers deliver to
 * us whatever the alias). The 12 random bits take variant * 0x5a5 mod 4096, a bijection: every
 * variant below 4096 has its own alias.
 */
export function testAliasFlags(flags: number, variant: number): number {
  const bits = Math.imul(variant, 0x5a5) & 0xfff;
  const spread = (bits & 0xff) | ((bits & 0xf00) << 2);
  return (flags ^ (spread & TEREDO_CONSTANTS.randomFlagsMask)) & 0xffff;
}

/** Direct connectivity tests sent at once, each with its own identifier, when a packet needs one. */
export const PROBE_BURST = 4;

export type RelayMatch = 'primary' | 'alternate' | 'none';

/** Which of the trusted peer's validated relays (ipv4, port) is; 'none' for an untrusted peer. */
export function relayMatch(table: PeerTable, slot: number, ipv4: number, port: number): RelayMatch {
  if ((table.flags(slot) & PEER_TRUSTED) === 0) return 'none';
  const address = ipv4 >>> 0;
  if (table.mappedIPv4(slot) === address && table.mappedPort(slot) === port) return 'primary';
  if (address !== 0 && table.alternateIPv4(slot) === address && table.alternatePort(slot) === port) {
    return 'alternate';
  }
  return 'none';
}

/**
 * (ipv4, port) has just proven itself for the peer (our authenticated Echo Reply came through
 * it). `primary`: the caller makes it the primary (trustPeer sets the mapping), and the current
 * primary of a trusted peer, if it is another relay, becomes the alternate (the previous
 * alternate is forgotten). Otherwise (the reply answered a test from an alias of our address,
 * so the relay may not know our own address yet) a trusted peer takes it as its alternate and
 * keeps its primary. An untrusted peer keeps no alternate: the relay will be its primary.
 * Returns whether the relay is new to the peer.
 */
export function adoptRelay(
  table: PeerTable,
  slot: number,
  ipv4: number,
  port: number,
  primary = true,
): boolean {
  const match = relayMatch(table, slot, ipv4, port);
  if ((table.flags(slot) & PEER_TRUSTED) === 0) {
    table.setAlternate(slot, 0, 0);
    return true;
  }
  if (match === 'primary') return false;
  if (primary) table.setAlternate(slot, table.mappedIPv4(slot), table.mappedPort(slot));
  else if (match === 'none') table.setAlternate(slot, ipv4, port);
  return match === 'none';
}

/** The alternate relay carries the peer's packets now: it becomes the primary, and the primary the alternate. */
export function switchToAlternate(table: PeerTable, slot: number): void {
  const ipv4 = table.alternateIPv4(slot);
  const port = table.alternatePort(slot);
  if (ipv4 === 0 || (table.flags(slot) & PEER_TRUSTED) === 0) return;
  table.setAlternate(slot, table.mappedIPv4(slot), table.mappedPort(slot));
  table.setMapping(slot, ipv4, port);
}
