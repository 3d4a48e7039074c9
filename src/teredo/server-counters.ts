/**
 * The server's counters, one per accept and drop reason plus I/O outcomes. Their order is
 * their index in each worker's counter row (src/ipc/counters.ts). The rule numbers are those
 * of reference section 4.11.
 */
export const SERVER_COUNTER_NAMES = Object.freeze([
  /** Counted by the data plane for every datagram handed to the processor. */
  'received',
  'ra-sent',
  'forwarded-to-client',
  'forwarded-native',
  /** Rule 1: Teredo framing or IPv6 header broken. */
  'drop-malformed',
  /** Rule 2. */
  'drop-not-icmpv6-or-bubble',
  /** Rule 3: outer source IPv4. */
  'drop-source-not-global',
  /** Rule 4: Teredo source whose embedded mapping is not the outer source. */
  'drop-mapping-mismatch',
  /** Rule 4: neither an RS, nor a Teredo source, nor a destination this server serves. */
  'drop-destination-not-served',
  /** Rule 5: from one of our own addresses, port 3544. */
  'drop-loop',
  /** Rule 6: to ff02::2 or the server's link-local address, but not a Router Solicitation. */
  'drop-to-server-not-rs',
  /** Rule 7. */
  'drop-destination-not-global',
  /** Rule 8: ICMPv6 payload over 88 bytes. */
  'drop-too-large',
  /** Rule 10: the Teredo destination's client IPv4 is not global unicast. */
  'drop-client-not-global',
  /** Ours: a forward to a client whose trailer would not fit the output buffer. */
  'drop-trailer-too-large',
  'drop-rate-limited-rs',
  'drop-rate-limited-forward',
  /** Counted by the data plane when a send fails. */
  'send-failed',
  'raw-send-failed',
] as const);

export type ServerCounterName = (typeof SERVER_COUNTER_NAMES)[number];

/** Index of each counter in SERVER_COUNTER_NAMES, by name. */
export const SERVER_COUNTER: Readonly<Record<ServerCounterName, number>> = Object.freeze(
  Object.fromEntries(SERVER_COUNTER_NAMES.map((name, index) => [name, index])) as Record<
    ServerCounterName,
    number
  >,
);
