/**
 * The client's and relay's counters (data plane and control plane), one per accept and drop
 * reason plus I/O outcomes. Their order is their index in each counter row.
 */
export const TUNNEL_COUNTER_NAMES = Object.freeze([
  'tun-received',
  'udp-received',
  'encapsulated',
  'decapsulated',
  'slow-path',
  'send-failed',
  'tun-write-failed',
] as const);

export type TunnelCounterName = (typeof TUNNEL_COUNTER_NAMES)[number];
