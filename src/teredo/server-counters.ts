/**
 * The server's counters, one per accept and drop reason plus I/O outcomes. Their order is
 * their index in each worker's counter row (src/daemon/counters.ts).
 */
export const SERVER_COUNTER_NAMES = Object.freeze([
  'received',
  'ra-sent',
  'forwarded-to-client',
  'forwarded-native',
  'drop-malformed',
  'drop-not-icmpv6-or-bubble',
  'drop-source-not-global',
  'drop-source-not-accepted',
  'drop-loop',
  'drop-to-server-not-rs',
  'drop-destination-not-global',
  'drop-too-large',
  'drop-client-not-global',
  'drop-rate-limited-rs',
  'drop-rate-limited-forward',
  'send-failed',
  'raw-send-failed',
] as const);

export type ServerCounterName = (typeof SERVER_COUNTER_NAMES)[number];
