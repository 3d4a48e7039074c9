/**
 * The tunnel core's contract with the daemon (re-exported by relay.ts): what it is built from,
 * what it is told, and where its packets go.
 */
import type { TeredoConstants } from './constants.js';
import type { LocalLink } from './local-discovery-rules.js';
import type { NatType } from './nat-type.js';
import type { PeerTable } from './peers.js';
import type { SecurityContext } from './security.js';

/**
 * Where the core's packets go. Both calls must be done with `bytes` when they return: the core
 * reuses its buffers, and `bytes` may also be the caller's own input buffer.
 *
 * Why a sink, and not a caller buffer with a tagged result like the server's (server.ts): one
 * input may give any number of packets, of both kinds and in an order that matters. A peer's
 * answer releases its whole queue (up to peerQueueBytes of packets, each to the TUN device or to
 * the peer), besides the packet itself; a packet to a new peer gives bubbles to it and to its
 * server, or a ping. The sink takes each as it is made, from the core's reused buffers.
 */
export interface TunnelOutput {
  /** A Teredo UDP payload to ipv4:port (uint32 IPv4, from our own socket). */
  sendUdp(bytes: Uint8Array, offset: number, length: number, ipv4: number, port: number): void;
  /** An IPv6 packet for the TUN device. */
  writeTun(bytes: Uint8Array, offset: number, length: number): void;
}

/** Takes a datagram from the discovery socket: bytes[offset, offset + length) from srcIPv4:srcPort to destinationIPv4. */
export type DiscoveryReceiver = (
  datagram: Uint8Array,
  offset: number,
  length: number,
  srcIPv4: number,
  srcPort: number,
  destinationIPv4: number,
  nowMs: number,
  out: TunnelOutput,
) => void;

export interface TunnelCoreOptions {
  readonly role: 'client' | 'relay';
  /** relay: RelayType cone (true) or restricted (false); client: false. */
  readonly cone: boolean;
  /**
   * Relay with SharedRelayAddress: every relay of the fleet has our IPv4 address and port, so a
   * client's answer to our bubbles may reach another one (shared-relay-address.ts). Default false.
   */
  readonly sharedAddress?: boolean;
  /** Teredo prefix as uint32 (a client uses the prefix of its qualified address instead). */
  readonly prefix: number;
  readonly table: PeerTable;
  readonly security: SecurityContext;
  /** Indexed like TUNNEL_COUNTER_NAMES. */
  readonly counters: Float64Array;
  readonly constants?: TeredoConstants;
  /** Client with LocalDiscovery: the link discovery runs on (local-discovery.ts); else absent or null. */
  readonly localLink?: LocalLink | null;
  /** Local discovery's spread of its announcements, a number in [0, 1) (tests fix it). */
  readonly random?: () => number;
}

/** What qualification found. */
export interface ClientIdentity {
  /** Our Teredo address (16 bytes). */
  readonly address: Uint8Array;
  readonly serverIPv4: number;
  readonly mtu: number;
  /** Our local IPv4 (the one the server's RA reached) and UDP port; 0 when unknown. */
  readonly localIPv4?: number;
  readonly localPort?: number;
}

export interface TunnelCoreStats {
  readonly peers: number;
  readonly queuedPackets: number;
  readonly queuedBytes: number;
}

export interface TunnelCore {
  /**
   * Client only (a relay throws: programming error). null = not qualified. A new address, or
   * losing it, forgets every peer and queued packet (Miredo resets its list on each "up").
   */
  setClientIdentity(identity: ClientIdentity | null): void;
  /**
   * An IPv6 packet read from the TUN device. nowMs: monotonic milliseconds (peer-table times are
   * Math.floor(nowMs / 1000)); wallSeconds = Math.floor(Date.now() / 1000), for ping authenticators.
   */
  fromTun(
    packet: Uint8Array,
    offset: number,
    length: number,
    nowMs: number,
    wallSeconds: number,
    out: TunnelOutput,
  ): void;
  /** A UDP datagram received from srcIPv4:srcPort (whole Teredo payload: auth/origin headers allowed). */
  fromUdp(
    datagram: Uint8Array,
    offset: number,
    length: number,
    srcIPv4: number,
    srcPort: number,
    nowMs: number,
    wallSeconds: number,
    out: TunnelOutput,
  ): void;
  /**
   * Client with local discovery: a datagram from the discovery socket (224.0.0.253:3544), sent by
   * srcIPv4:srcPort to destinationIPv4. Without local discovery it is counted and dropped.
   */
  fromDiscovery: DiscoveryReceiver;
  /** Every ~1 s: local discovery's announcement when one is due (nothing without it). */
  announce(nowMs: number, out: TunnelOutput): void;
  /** Every ~1 s, client: a new connectivity test for each native peer whose relay went silent (silent-relays.ts). */
  retestSilentRelays(nowMs: number, wallSeconds: number, out: TunnelOutput): void;
  /** Client: the NAT type found after qualification (nat-type.ts), for the RFC 6081 extensions. */
  setNatType(natType: NatType): void;
  /** Periodic (every ~1 s): expiry sweep of idle peers and their queues. */
  tick(nowMs: number): void;
  /**
   * Sends what is due at nowMs (first direct bubbles held back: port-preserving-nat.ts) and
   * returns the milliseconds until the next thing is due, -1 when nothing waits. Call it again
   * after that delay, and after fromTun (which may hold a bubble back).
   */
  sendDue(nowMs: number, out: TunnelOutput): number;
  /** For summaries: peers, queued packets/bytes. */
  stats(): TunnelCoreStats;
}
