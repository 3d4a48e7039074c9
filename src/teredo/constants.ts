/**
 * The constants module: the protocol values of Teredo and Miredo 1.2.6 (reference section 4.1)
 * that this code reads, and the few limits of this implementation that several layers share,
 * each in one place. Every layer may import it (it imports nothing).
 *
 * TEREDO_CONSTANTS holds the values a test may change (through defineConstants(): shorter timers,
 * other limits); Miredo cannot change them at run time, and neither can the daemon. The others
 * are fixed. Durations are milliseconds (suffix `Ms`), sizes are bytes.
 */

export interface TeredoConstants {
  /** UDP port of Teredo servers (IPPORT_TEREDO). */
  readonly port: number;
  /** Service prefix 2001:0::/32 as a uint32. */
  readonly prefix: number;
  /** Experimental prefix 3ffe:831f::/32 some servers still advertise; rewritten to `prefix`. */
  readonly obsoletePrefix: number;

  /** Flags field (address bits 64..79), RFC 5991 layout `CRAAAAUG AAAAAAAA`. */
  readonly coneFlag: number;
  readonly randomFlagsMask: number;

  /** Qualification: one RS per T, N tries, then RestartDelay before the next attempt. */
  readonly qualificationTimeoutMs: number;
  readonly qualificationRetries: number;
  /**
   * The next RS is due this long after the previous one. Miredo's is 30 s, but Linux forgets an
   * unreplied UDP mapping after 30 s (nf_conntrack_udp_timeout), so NAT mappings lapsed (lab notes).
   */
  readonly clientRefreshIntervalMs: number;
  /**
   * After a round left unanswered, the next one this long after its last RS. Miredo waits 100 s;
   * we wait one refresh interval, so that a server down and back (or a lost uplink) is found
   * again within it: three RSs per 32 s per client during an outage.
   */
  readonly restartDelayMs: number;

  /** A peer is valid while its last reception is at most this old (inclusive). */
  readonly peerValidityMs: number;
  /** Garbage collection period; idle entries go after one to two periods. */
  readonly peerGcPeriodMs: number;
  /** Bytes of packets queued per peer while waiting for it to answer. */
  readonly peerQueueBytes: number;

  /** Bubbles to one peer: more than this apart, at most `bubbleBurst`, then a long pause. */
  readonly bubbleMinIntervalMs: number;
  readonly bubbleBurst: number;
  readonly bubbleBackoffMs: number;
  /**
   * RFC 6081 NAT traversal (port-preserving-nat.ts, symmetric-nat.ts): how long a client holds
   * back its first direct bubble to a peer that does not answer with an indirect bubble, and how
   * many bubbles per second the traversal rules may add for the whole tunnel.
   */
  readonly directBubbleFallbackMs: number;
  readonly traversalBubblesPerSecond: number;
  /**
   * A relay sharing its IPv4 address and port with the rest of its fleet (SharedRelayAddress,
   * shared-relay-address.ts): how long after its bubbles it sends a silent client's queue anyway.
   */
  readonly sharedAddressReleaseMs: number;
  /**
   * Direct connectivity pings to one peer: more than this apart, at most `maxPingsPerPeer` in a
   * round; a new round only `pingRetryMs` after the last ping of one left unanswered.
   */
  readonly pingMinIntervalMs: number;
  readonly maxPingsPerPeer: number;
  readonly pingRetryMs: number;
  /** Ping authenticators are accepted for wall-clock delays strictly below this. */
  readonly pingHashLifetimeMs: number;

  /** ICMPv6 errors sent per tunnel and second (Miredo: one every 100 ms). */
  readonly icmpErrorsPerSecond: number;
  /** Bytes of the offending packet quoted so an error fits the minimum MTU (1280 - 40 - 8). */
  readonly icmpErrorQuoteLimit: number;
  /** Hop limit of our ICMPv6 errors: Linux's default unicast hop limit, what Miredo's raw socket used. */
  readonly icmpErrorHopLimit: number;

  readonly pingHopLimit: number;
  readonly bubbleHopLimit: number;
  /** Router Solicitations and Advertisements (RFC 4861 requires 255). */
  readonly routerDiscoveryHopLimit: number;

  /** A Teredo server forwards non-bubble packets only up to this IPv6 payload length. */
  readonly serverIcmpv6PayloadCap: number;
  readonly serverSendRetries: number;
  readonly raRetransTimerMs: number;
  readonly raRouterLifetimeSeconds: number;
  readonly raPrefixValidLifetime: number;
  readonly raPrefixPreferredLifetime: number;

  readonly minMtu: number;
  readonly maxMtu: number;
  /** MTU a client uses when the RA carries no MTU option. */
  readonly defaultMtu: number;
}

export const TEREDO_CONSTANTS: TeredoConstants = Object.freeze({
  port: 3544,
  prefix: 0x20010000,
  obsoletePrefix: 0x3ffe831f,

  coneFlag: 0x8000,
  randomFlagsMask: 0x3cff,

  qualificationTimeoutMs: 4_000,
  qualificationRetries: 3,
  clientRefreshIntervalMs: 20_000,
  restartDelayMs: 20_000,

  peerValidityMs: 30_000,
  peerGcPeriodMs: 30_000,
  peerQueueBytes: 1280,

  bubbleMinIntervalMs: 2_000,
  bubbleBurst: 4,
  bubbleBackoffMs: 300_000,
  directBubbleFallbackMs: 500,
  traversalBubblesPerSecond: 20,
  sharedAddressReleaseMs: 200,
  pingMinIntervalMs: 2_000,
  maxPingsPerPeer: 4,
  pingRetryMs: 10_000,
  pingHashLifetimeMs: 30_000,

  icmpErrorsPerSecond: 10,
  icmpErrorQuoteLimit: 1232,
  icmpErrorHopLimit: 64,

  pingHopLimit: 128,
  bubbleHopLimit: 0,
  routerDiscoveryHopLimit: 255,

  serverIcmpv6PayloadCap: 88,
  serverSendRetries: 10,
  raRetransTimerMs: 2_000,
  raRouterLifetimeSeconds: 0,
  raPrefixValidLifetime: 0xffffffff,
  raPrefixPreferredLifetime: 0xffffffff,

  minMtu: 1280,
  maxMtu: 65535,
  defaultMtu: 1280,
});

/**
 * A new frozen constants object: the standard values with `overrides` applied (tests shorten
 * timers this way). Throws RangeError on an unknown name or a value that is not a non-negative
 * safe integer: that is a programming error.
 */
export function defineConstants(overrides: Partial<TeredoConstants>): TeredoConstants {
  for (const [name, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(TEREDO_CONSTANTS, name)) {
      throw new RangeError(`unknown Teredo constant: ${name}`);
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Teredo constant ${name} must be a non-negative integer, got ${String(value)}`);
    }
  }
  return Object.freeze({ ...TEREDO_CONSTANTS, ...overrides });
}

/** Miredo's MAX_PEERS (libJudy, Debian's build): a relay's peer table capacity without PeerTableCapacity. */
export const DEFAULT_PEER_CAPACITY = 1_048_576;
/**
 * A client's peer table capacity without PeerTableCapacity: a host talks to a few peers at a time,
 * and a full table makes room by evicting the unproven ones first (peers-eviction.ts), so 16,384
 * records (1.2 MB of table, against 76.7 MB for a relay's default) bound what a flood of bubbles
 * can make the client hold.
 */
export const CLIENT_DEFAULT_PEER_CAPACITY = 16_384;
/** The largest peer table (PeerTableCapacity's maximum): slot numbers stay below 2^24. */
export const MAX_PEER_CAPACITY = 1 << 24;
/** Data-plane workers at most (DataplaneWorkers' maximum; the shared backlog has a cell for each). */
export const MAX_DATAPLANE_WORKERS = 64;
/** The HMAC-MD5 key of nonces, ping authenticators and bubble interface IDs (Miredo: 16 random bytes). */
export const SECURITY_KEY_BYTES = 16;

/**
 * Route metrics, as Miredo sets them: the Teredo prefix route at the kernel's default 1024, the
 * client's default route at 1029 (its client hook), behind the native default routes learnt from
 * Router Advertisements (1024). The bootstrap's helper policy accepts nothing lower.
 */
export const TEREDO_ROUTE_METRIC = Object.freeze({ prefixRoute: 1024, defaultRoute: 1029 } as const);

/**
 * The two Teredo link-local addresses (RFC 4380 section 5.2.1, RFC 5991 flags): a client's Router
 * Solicitations come from the one of its NAT type, and the client and the relay configure the
 * restricted one on their interface (Miredo does the same).
 */
export const TEREDO_LINK_LOCAL = Object.freeze({
  /** fe80::ffff:ffff:ffff */
  restricted: Object.freeze([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
  /** fe80::8000:5445:5245:444f: the cone flag, then "TEREDO" */
  cone: Object.freeze([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x80, 0, 0x54, 0x45, 0x52, 0x45, 0x44, 0x4f]),
} as const);

/** The fixed IPv6 header (RFC 8200); a bubble is one, with no payload. */
export const IPV6_HEADER_BYTES = 40;

/** IPv6 next-header values this core looks at. */
export const NEXT_HEADER = Object.freeze({
  icmpv6: 58,
  noNextHeader: 59,
} as const);

/** ICMPv6 message types (RFC 4443, RFC 4861). Types below 128 are errors. */
export const ICMPV6_TYPE = Object.freeze({
  destinationUnreachable: 1,
  echoRequest: 128,
  echoReply: 129,
  routerSolicitation: 133,
  routerAdvertisement: 134,
} as const);

/** Destination Unreachable codes (RFC 4443 section 3.1) this core sends. */
export const UNREACHABLE_CODE = Object.freeze({
  administrativelyProhibited: 1,
  addressUnreachable: 3,
} as const);

/** Fixed sizes of the Teredo framing and of an ICMPv6 header. */
export const WIRE_SIZE = Object.freeze({
  authHeaderMin: 13,
  originIndication: 8,
  nonce: 8,
  icmpv6Header: 8,
} as const);
