/**
 * Every Teredo protocol constant Miredo 1.2.6 compiles in (reference section 4.1), gathered in
 * one frozen object. Miredo cannot change them at run time; we can, for tests only, through
 * defineConstants(). Durations are milliseconds (suffix `Ms`), sizes are bytes.
 */

export interface TeredoConstants {
  /** UDP port of Teredo servers (IPPORT_TEREDO). */
  readonly port: number;
  /** Service prefix 2001:0::/32 as a uint32. */
  readonly prefix: number;
  /** Experimental prefix 3ffe:831f::/32 some servers still advertise; rewritten to `prefix`. */
  readonly obsoletePrefix: number;
  /** Local discovery multicast group 224.0.0.253 (used only by Miredo master). */
  readonly discoveryMulticastIPv4: number;

  /** Flags field (address bits 64..79), RFC 5991 layout `CRAAAAUG AAAAAAAA`. */
  readonly coneFlag: number;
  readonly randomFlagsMask: number;
  readonly universalLocalFlag: number;
  readonly groupFlag: number;
  /** The R bit: "cone probe" flag of early drafts, must be zero. */
  readonly legacyDraftFlag: number;

  /** Qualification: one RS per T, N tries, then RestartDelay before the next attempt. */
  readonly qualificationTimeoutMs: number;
  readonly qualificationRetries: number;
  /** Fixed, not randomized: the next RS is due this long after the previous one. */
  readonly refreshIntervalMs: number;
  /**
   * The refresh interval our client uses instead: Linux forgets an unreplied UDP mapping after
   * 30 s (nf_conntrack_udp_timeout), so Miredo's 30 s lets NAT mappings lapse (lab notes).
   */
  readonly clientRefreshIntervalMs: number;
  readonly restartDelayMs: number;

  /** A peer is valid while its last reception is at most this old (inclusive). */
  readonly peerValidityMs: number;
  /** Garbage collection period; idle entries go after one to two periods. */
  readonly peerGcPeriodMs: number;
  readonly maxPeers: number;
  /** Bytes of packets queued per peer while waiting for it to answer. */
  readonly peerQueueBytes: number;

  /** Bubbles to one peer: more than this apart, at most `bubbleBurst`, then a long pause. */
  readonly bubbleMinIntervalMs: number;
  readonly bubbleBurst: number;
  readonly bubbleBackoffMs: number;
  /** Direct connectivity pings to one peer: more than this apart, at most `maxPingsPerPeer`. */
  readonly pingMinIntervalMs: number;
  readonly maxPingsPerPeer: number;
  /** Ping authenticators are accepted for wall-clock delays strictly below this. */
  readonly pingHashLifetimeMs: number;
  readonly hmacKeyBytes: number;
  readonly nonceBytes: number;

  /** ICMPv6 errors sent per tunnel: at most one per interval (10 per second). */
  readonly icmpErrorIntervalMs: number;
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
  /** Largest UDP payload over IPv4 (65535 - 20 - 8); receive buffers are this big. */
  readonly maxUdpPayload: number;
  /** Miredo's "minimal" UDP payload: an IPv6 packet of the minimum MTU plus an origin indication. */
  readonly minUdpPayload: number;

  readonly supervisorRestartPauseMs: number;
}

export const TEREDO_CONSTANTS: TeredoConstants = Object.freeze({
  port: 3544,
  prefix: 0x20010000,
  obsoletePrefix: 0x3ffe831f,
  discoveryMulticastIPv4: 0xe00000fd,

  coneFlag: 0x8000,
  randomFlagsMask: 0x3cff,
  universalLocalFlag: 0x0200,
  groupFlag: 0x0100,
  legacyDraftFlag: 0x4000,

  qualificationTimeoutMs: 4_000,
  qualificationRetries: 3,
  refreshIntervalMs: 30_000,
  clientRefreshIntervalMs: 20_000,
  restartDelayMs: 100_000,

  peerValidityMs: 30_000,
  peerGcPeriodMs: 30_000,
  maxPeers: 1_048_576,
  peerQueueBytes: 1280,

  bubbleMinIntervalMs: 2_000,
  bubbleBurst: 4,
  bubbleBackoffMs: 300_000,
  pingMinIntervalMs: 2_000,
  maxPingsPerPeer: 4,
  pingHashLifetimeMs: 30_000,
  hmacKeyBytes: 16,
  nonceBytes: 8,

  icmpErrorIntervalMs: 100,
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
  maxUdpPayload: 65507,
  minUdpPayload: 1288,

  supervisorRestartPauseMs: 1_000,
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

/** IPv6 next-header values this core looks at. */
export const NEXT_HEADER = Object.freeze({
  icmpv6: 58,
  noNextHeader: 59,
} as const);

/** ICMPv6 message types (RFC 4443, RFC 4861). Types below 128 are errors. */
export const ICMPV6_TYPE = Object.freeze({
  destinationUnreachable: 1,
  packetTooBig: 2,
  timeExceeded: 3,
  parameterProblem: 4,
  echoRequest: 128,
  echoReply: 129,
  routerSolicitation: 133,
  routerAdvertisement: 134,
} as const);

/** Destination Unreachable codes (RFC 4443 section 3.1). */
export const UNREACHABLE_CODE = Object.freeze({
  noRoute: 0,
  administrativelyProhibited: 1,
  beyondScope: 2,
  addressUnreachable: 3,
  portUnreachable: 4,
  sourcePolicyFailed: 5,
  rejectRoute: 6,
} as const);

/** Fixed sizes of the Teredo framing and the IPv6 header. */
export const WIRE_SIZE = Object.freeze({
  ipv6Header: 40,
  authHeaderMin: 13,
  originIndication: 8,
  nonce: 8,
  icmpv6Header: 8,
} as const);
