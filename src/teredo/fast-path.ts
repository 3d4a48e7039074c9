/**
 * The data plane's fast path: which packets a worker may move on its own, with nothing but the
 * published tunnel state and a lock-free peer table read. A packet qualifies only when the
 * reference behaviour (src/teredo/relay.ts, reference sections 4.7 and 4.8) would do exactly
 * the same with it: forward to, or accept from, a trusted peer's current mapping, with no queue
 * to flush and no bubble or ping counter to reset. Everything else returns -1 and goes to the
 * control plane. No allocation: the caller owns the snapshot records.
 */
import { isTeredoAt, teredoMappingMatchesAt, teredoServerAt } from './address.js';
import { isGlobalUnicastIPv4 } from './ipv4.js';
import { isBubbleAt } from './bubble.js';
import { TEREDO_CONSTANTS } from './constants.js';
import { IPV6_DESTINATION_OFFSET, IPV6_SOURCE_OFFSET, checkIPv6Packet } from './ipv6-header.js';
import { isLinkLocalIPv6At, isMulticastIPv6At } from './ipv6-address.js';
import { PEER_COUNTING, PEER_QUEUED, PEER_SOLICITED, PEER_TRUSTED } from './peers.js';
import type { PeerSnapshot, PeerTable } from './peers.js';

/** The tunnel's identity as the control plane last published it (a worker reads it once per batch). */
export interface FastPathState {
  /** Client qualified, or relay running. */
  readonly active: boolean;
  /** The Teredo prefix (client: of its address; relay: configured). */
  readonly prefix: number;
  /** Client: its server's IPv4, whose datagrams always take the slow path. */
  readonly serverIPv4: number;
}

/** What a fast-path decision needs besides the packet. */
export interface FastPathContext {
  readonly relay: boolean;
  readonly table: PeerTable;
  /** The tunnel state, read once per batch. */
  readonly state: FastPathState;
  /** Scratch for the peer read. */
  readonly peer: PeerSnapshot;
  /** Coarse clock (seconds) and how long a peer stays valid after its last reception. */
  now: number;
  readonly validitySeconds: number;
}

/** An IPv6 header, and the whole payload it announces, within `length` bytes. */
function wholeIPv6At(bytes: Uint8Array, offset: number, length: number): boolean {
  return checkIPv6Packet(bytes, offset, length) === 'ok';
}

/**
 * Whether a datagram comes from the client's own Teredo server (a relay publishes no server):
 * qualification's business, never the fast path's, and with a slow-path budget of its own.
 */
export function fromOwnServer(state: FastPathState, srcIPv4: number, srcPort: number): boolean {
  return state.serverIPv4 !== 0 && srcIPv4 === state.serverIPv4 && srcPort === TEREDO_CONSTANTS.port;
}

/** A consistent copy of the peer keyed at bytes[keyOffset..+16) that the fast path may use, or -1. */
function trustedPeer(context: FastPathContext, bytes: Uint8Array, keyOffset: number): number {
  const { table, peer } = context;
  const slot = table.find(bytes, keyOffset);
  if (slot < 0 || !table.read(slot, bytes, keyOffset, peer)) return -1;
  if ((peer.flags & (PEER_TRUSTED | PEER_QUEUED | PEER_COUNTING)) !== PEER_TRUSTED) return -1;
  return slot;
}

/**
 * An IPv6 packet read from the TUN device: the peer slot to send its first 40 + payload-length
 * bytes to (the peer's mapping is then in context.peer), or -1 for the slow path.
 */
export function fastPathFromTun(
  context: FastPathContext,
  bytes: Uint8Array,
  offset: number,
  length: number,
): number {
  const { state } = context;
  if (!state.active || !wholeIPv6At(bytes, offset, length)) return -1;
  const destination = offset + IPV6_DESTINATION_OFFSET;
  if (isMulticastIPv6At(bytes, destination)) return -1;
  if (isTeredoAt(bytes, destination, state.prefix)) {
    if (!isGlobalUnicastIPv4(teredoServerAt(bytes, destination))) return -1;
  } else if (context.relay || !isTeredoAt(bytes, offset + IPV6_SOURCE_OFFSET, state.prefix)) {
    // A relay answers native destinations with an ICMPv6 error; so does a client for a
    // packet that does not come from its Teredo address: the control plane does both.
    return -1;
  }
  const slot = trustedPeer(context, bytes, destination);
  if (slot < 0) return -1;
  const { peer } = context;
  if (peer.mappedIPv4 === 0 || peer.mappedPort === 0) return -1;
  if ((context.now - peer.lastRx) >>> 0 > context.validitySeconds) return -1;
  return slot;
}

/**
 * A datagram received from srcIPv4:srcPort: the slot of the trusted peer it comes from (deliver
 * its first 40 + payload-length bytes to the TUN device), or -1 for the slow path.
 */
export function fastPathFromUdp(
  context: FastPathContext,
  bytes: Uint8Array,
  offset: number,
  length: number,
  srcIPv4: number,
  srcPort: number,
): number {
  const { state } = context;
  if (!state.active) return -1;
  if (fromOwnServer(state, srcIPv4, srcPort)) return -1;
  // Authentication and origin headers start with a zero byte, so they fail the version check.
  if (!wholeIPv6At(bytes, offset, length)) return -1;
  if (isBubbleAt(bytes, offset)) return -1;
  const source = offset + IPV6_SOURCE_OFFSET;
  if (context.relay ? !isTeredoAt(bytes, source, state.prefix) : isLinkLocalIPv6At(bytes, source)) return -1;
  if (isMulticastIPv6At(bytes, offset + IPV6_DESTINATION_OFFSET)) return -1;
  const slot = trustedPeer(context, bytes, source);
  if (slot < 0) return -1;
  const { peer } = context;
  return peer.mappedIPv4 === srcIPv4 >>> 0 && peer.mappedPort === srcPort ? slot : -1;
}

/**
 * Whether a datagram the fast path refused is the answer of a peer the local side is soliciting:
 * its IPv6 source is a pending peer (PEER_SOLICITED, not yet trusted) and, for a Teredo source,
 * it comes from the mapping that address embeds (a native host's answer comes from whichever
 * relay serves it). Such a datagram may use the worker's `solicited` slow-path budget when the
 * one for everybody is spent (slow-path-budget.ts). Spoofing one takes knowing which peers the
 * local side is reaching, and once a Teredo peer answered from its mapping it is trusted, so the
 * next ones no longer qualify. A peer behind a symmetric NAT answers from another mapping: it
 * shares the budget for everybody. A client also counts a trusted native peer whose new relay it
 * is testing (native-relays.ts): the answers to those tests, and its packets, come through that
 * relay. Allocation-free; overwrites context.peer.
 */
export function fromSolicitedPeer(
  context: FastPathContext,
  bytes: Uint8Array,
  offset: number,
  length: number,
  srcIPv4: number,
  srcPort: number,
): boolean {
  // Authentication and origin headers fail the version check: they come from servers.
  if (!wholeIPv6At(bytes, offset, length)) return false;
  const source = offset + IPV6_SOURCE_OFFSET;
  const { table, peer } = context;
  const slot = table.find(bytes, source);
  if (slot < 0 || !table.read(slot, bytes, source, peer)) return false;
  const native = !isTeredoAt(bytes, source, context.state.prefix);
  if ((peer.flags & (PEER_SOLICITED | PEER_TRUSTED)) === PEER_SOLICITED) {
    return native || teredoMappingMatchesAt(bytes, source, srcIPv4, srcPort);
  }
  // A trusted native peer whose packets came through a relay not validated for it: while the
  // core tests that relay (PEER_COUNTING: native-relays.ts), the answers come through it too.
  return (
    native &&
    !context.relay &&
    (peer.flags & (PEER_TRUSTED | PEER_COUNTING)) === (PEER_TRUSTED | PEER_COUNTING)
  );
}
