/**
 * The client's and relay's counters (data plane and control plane), one per accept and drop
 * reason plus I/O outcomes. Their order is their index in each counter row. The first twelve are
 * the data plane's; the rest are the decisions of the tunnel core (relay.ts), which the control
 * plane counts in its own row. Every name starting with `drop-` is a packet thrown away.
 */
export const TUNNEL_COUNTER_NAMES = Object.freeze([
  'tun-received',
  'udp-received',
  'encapsulated',
  'decapsulated',
  'slow-path',
  'send-failed',
  'tun-write-failed',
  // Over the worker's slow-path budget (slow-path-budget.ts): never reached the control plane.
  'drop-slow-path-budget',
  // UDP GSO messages the workers sent (each several datagrams to one peer), and those the kernel
  // refused (their datagrams went again one by one: nothing lost, see src/os/packet-io.ts).
  'udp-gso-messages',
  'udp-gso-refused',
  // Over the budget for anyone, but within the one for answers from peers the local side is
  // soliciting (pending: see fast-path.ts, fromSolicitedPeer), so a flood cannot starve them.
  'slow-path-solicited',
  // Datagrams from anyone not posted because the control plane had not yet taken the worker's
  // last BACKLOG_LIMIT messages (src/dataplane/slow-path.ts): it is behind, under a flood.
  'drop-slow-path-backlog',

  // Transmission (TUN -> UDP), reference section 4.7.
  'drop-tx-malformed',
  'drop-tx-multicast',
  'drop-tx-bad-server',
  'drop-tx-table-full',
  // queue-full: the peer's own queue is at its byte budget; slab-full: it is not, but the slab
  // all queues share has no room left (peer-queue.ts). Likewise for drop-rx-*.
  'drop-tx-queue-full',
  'drop-tx-slab-full',
  'tx-not-qualified',
  'tx-source-not-teredo',
  'tx-relay-not-teredo',
  'tx-queued',
  'tx-bubble-limit',
  'tx-ping-limit',

  // Reception (UDP -> TUN), reference section 4.8.
  'drop-rx-malformed',
  'drop-rx-not-qualified',
  'drop-rx-link-local-source',
  'drop-rx-source-not-teredo',
  'drop-rx-multicast',
  'drop-rx-unknown-peer',
  'drop-rx-table-full',
  'drop-rx-queue-full',
  'drop-rx-slab-full',
  'drop-rx-unmatched',
  'rx-server-bubble',
  'rx-bubble',
  'rx-ping-reply',
  'rx-mapping-learned',
  'rx-hmac-bubble',
  'rx-queued',
  'rx-ping-limit',
  // A native peer's relays (native-relays.ts): another relay validated for it by our ping
  // reply, and packets through its alternate relay that made that relay its primary.
  'rx-relay-validated',
  'rx-relay-switched',

  // Control packets the core sends.
  'bubble-sent',
  'reply-bubble-sent',
  'bubble-paced',
  'drop-bubble-not-global',
  'ping-sent',
  'ping-paced',
  // Tests of a native peer whose relay went silent while we kept sending (silent-relays.ts).
  'ping-silent-relay',
  'icmp-sent',
  'drop-icmp-rate-limited',
  'drop-icmp-refused',

  // Per-peer queues and the peer table.
  'queue-flushed',
  'drop-queue-mapping-mismatch',
  'drop-queue-discarded',
  'peers-expired',
  'peers-reset',
  // Peers created (by a packet from the local side or the network), evicted to make room for
  // another (peers-eviction.ts), and proven (two-way traffic: relay-context.ts, trustPeer).
  'peers-created',
  'peers-evicted',
  'peers-proven',

  // Local client discovery (local-discovery.ts, RFC 4380 section 5.2.8): announcements sent and
  // taken, peers now reached at their local address, probes of a local path and their outcome,
  // and every refusal.
  'discovery-sent',
  'discovery-received',
  'discovery-refreshed',
  'discovery-peer-local',
  'discovery-kept-proven',
  'discovery-probe-sent',
  'discovery-probe-answered',
  'discovery-path-proven',
  'drop-discovery-not-qualified',
  'drop-discovery-malformed',
  'drop-discovery-not-bubble',
  'drop-discovery-own',
  'drop-discovery-off-link',
  'drop-discovery-not-teredo',
  'drop-discovery-foreign-mapping',
  'drop-discovery-rate-limited',
  'drop-discovery-table-full',
  'drop-discovery-probe-unknown',
  // RFC 6081 trailers of received datagrams (trailers.ts): each skipped one, by why.
  'trailer-unknown',
  'trailer-malformed',
  'trailer-duplicate',
  'trailer-truncated',
  'trailer-entry-refused',
  // The hairpinning extension (hairpinning.ts): bubbles to a neighbour's local address, the
  // neighbour's packets accepted from it, and each refusal of an Alternate Address trailer.
  'hairpin-bubble-sent',
  'hairpin-peer-accepted',
  'hairpin-refused-not-via-server',
  'hairpin-refused-not-bubble',
  'hairpin-refused-other-nat',
  'hairpin-refused-self',
  'hairpin-refused-not-private',
  'hairpin-refused-paced',
  'hairpin-refused-rate',
  // RFC 6081 NAT traversal. symmetric-nat.ts: indirect bubbles sent back to a peer whose indirect
  // bubble reached us through our server, and refused (paced per peer, origin not the peer's
  // address, no room for the peer); bubbles to a mapping learnt from a bubble to our interface ID.
  // port-preserving-nat.ts: first direct bubbles held back, not held back (list full), released
  // by the peer's indirect bubble or by the fallback delay, or dropped (the peer answered first).
  // Either file: over the tunnel's traversalBubblesPerSecond.
  'bubble-back-sent',
  'bubble-back-paced',
  'bubble-back-refused-origin',
  'bubble-back-table-full',
  'learnt-mapping-bubble-sent',
  'direct-bubble-withheld',
  'withheld-list-full',
  'withheld-released-by-peer',
  'withheld-released-on-timeout',
  'withheld-dropped',
  'traversal-rate-limited',
  // A relay with SharedRelayAddress (shared-relay-address.ts): clients whose answer to our bubbles
  // we wait for (or cannot: list full), and at the delay, those that answered here and those we
  // sent the queue to anyway (their answer went to another relay of the fleet, or nowhere).
  'shared-answer-awaited',
  'shared-list-full',
  'shared-answered-here',
  'shared-released-unanswered',
  // ... and packets taken from a client it had no entry for (its fleet sent to it first).
  'shared-unknown-client-accepted',
  // TUN offloads (src/teredo/tun-offload.ts): data-plane queues with a virtio header (one per
  // worker that has it), TCP/UDP super-packets read and the segments cut from them, checksums
  // completed on plain packets, and each refusal of a virtio header.
  'tun-offload-queues',
  'tun-gso-packets',
  'tun-gso-segments',
  'tun-checksums-completed',
  'drop-offload-type',
  'drop-offload-layout',
  'drop-offload-size',
] as const);

export type TunnelCounterName = (typeof TUNNEL_COUNTER_NAMES)[number];

/** Index of each counter in a row, by name. */
export const TUNNEL_COUNTER: Readonly<Record<TunnelCounterName, number>> = Object.freeze(
  Object.fromEntries(TUNNEL_COUNTER_NAMES.map((name, index) => [name, index])) as Record<
    TunnelCounterName,
    number
  >,
);
