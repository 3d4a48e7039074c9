/**
 * What the tunnel core's transmit and receive paths share: its options, the peer table and the
 * per-peer queues, scratch buffers, and the peer operations both paths use (create, trust and
 * flush, flag upkeep, ICMPv6 errors). One context per core; not for concurrent use (the control
 * plane is single-threaded). The data-plane workers read the same peer table: the flags kept
 * here tell them which peers they must leave to the core.
 */
import type { TeredoConstants } from './constants.js';
import {
  buildDestinationUnreachable,
  destinationUnreachableLength,
  unreachableRefusal,
} from './destination-unreachable.js';
import type { Hairpinning } from './hairpinning.js';
import type { IcmpRateLimiter } from './icmp-rate-limiter.js';
import { IPV6_DESTINATION_OFFSET } from './ipv6-header.js';
import type { NatType } from './nat-type.js';
import type { PeerQueues } from './peer-queue.js';
import { relayMatch } from './native-relays.js';
import { PEER_COUNTING, PEER_QUEUED, PEER_SOLICITED, PEER_TRUSTED, PEER_UNPROVEN } from './peers.js';
import type { PeerTable } from './peers.js';
import type { ControlPackets } from './relay-packets.js';
import type { PingCheck } from './relay-ping-check.js';
import type { ClientIdentity, TunnelOutput } from './relay-types.js';
import type { SecurityContext } from './security.js';
import { TUNNEL_COUNTER } from './tunnel-counters.js';
import type { TunnelCounterName } from './tunnel-counters.js';
import type { WithheldBubbles } from './withheld-bubbles.js';

export interface CoreContext {
  readonly client: boolean;
  /** Our own address has the cone flag (cone relays): no direct bubbles then. */
  readonly cone: boolean;
  readonly configuredPrefix: number;
  readonly table: PeerTable;
  readonly security: SecurityContext;
  readonly counters: Float64Array;
  readonly constants: TeredoConstants;
  readonly queues: PeerQueues;
  readonly packets: ControlPackets;
  readonly pingCheck: PingCheck;
  readonly icmpLimiter: IcmpRateLimiter;
  /** RFC 6081 hairpinning (client): our Alternate Address trailer, a neighbour's entries. */
  readonly hairpin: Hairpinning;
  /** RFC 6081 traversal: first direct bubbles held back (port-preserving-nat.ts). */
  readonly withheld: WithheldBubbles;
  /** Relay with SharedRelayAddress: clients bubbled, whose queue goes at the delay unless they answer here. */
  readonly unanswered: WithheldBubbles | null;
  /** RFC 6081 traversal: the tunnel's budget of bubbles the traversal rules add, per second. */
  readonly traversalLimiter: IcmpRateLimiter;
  /** Room for the largest ICMPv6 error. */
  readonly icmpScratch: Uint8Array;
  /** Drops the queue of the peer in `slot`, which the table is about to remove. */
  readonly dropQueueOf: (slot: number) => void;
  /** The same for a peer evicted to make room, counted as such. */
  readonly evict: (slot: number) => void;
  /** Client: what qualification found, null while not qualified. Relay: always null. */
  identity: ClientIdentity | null;
  /** The Teredo prefix in force: a client's comes from its address, a relay's from its options. */
  prefix: number;
  /** Client: what the NAT type probe found (nat-type.ts), for the RFC 6081 extensions. */
  natType: NatType;
}

export function icmpScratchFor(constants: TeredoConstants): Uint8Array {
  return new Uint8Array(destinationUnreachableLength(Number.MAX_SAFE_INTEGER, constants));
}

export function count(context: CoreContext, name: TunnelCounterName, amount = 1): void {
  const index = TUNNEL_COUNTER[name];
  context.counters[index] = (context.counters[index] ?? 0) + amount;
}

export function secondsOf(nowMs: number): number {
  return Math.floor(nowMs / 1000) >>> 0;
}

/** Whether a trusted peer's last reception is recent enough to send to its mapping (Miredo's IsValid). */
export function isValidAt(context: CoreContext, slot: number, nowSeconds: number): boolean {
  // Signed, like the table's ages: a timestamp a tick ahead of us (another thread's clock) is "now".
  return ((nowSeconds - context.table.lastRx(slot)) | 0) * 1000 <= context.constants.peerValidityMs;
}

export function isTrusted(context: CoreContext, slot: number): boolean {
  return (context.table.flags(slot) & PEER_TRUSTED) !== 0;
}

/**
 * The local side sends to a peer it has no trusted path to: mark it solicited. An untrusted
 * unproven peer (a network packet made it) becomes pending, as if the local side had created it;
 * a trusted unproven one stays unproven until it answers with proof (trustPeer).
 */
export function solicit(context: CoreContext, slot: number): void {
  const { table } = context;
  const flags = table.flags(slot);
  const unproven = (flags & PEER_TRUSTED) !== 0 ? flags & PEER_UNPROVEN : 0;
  table.setFlags(slot, (flags & ~PEER_UNPROVEN) | PEER_SOLICITED | unproven);
}

/**
 * Brings the slot's QUEUED and COUNTING flags in line with its queue and counters, so the
 * data plane defers to the core exactly while the core has something to do for the peer.
 */
export function syncFlags(context: CoreContext, slot: number, key: string): void {
  const { table } = context;
  const current = table.flags(slot);
  let flags = current & ~(PEER_QUEUED | PEER_COUNTING);
  if (context.queues.has(key)) flags |= PEER_QUEUED;
  if (table.bubbles(slot) !== 0 || table.pings(slot) !== 0) flags |= PEER_COUNTING;
  if (flags !== current) table.setFlags(slot, flags);
}

/**
 * The slot of a NEW entry for the address at bytes[keyOffset..] (untrusted, mapping 0:0, no
 * counters), or -1 when the table refuses. `origin`: 'local' when the local side asked for the
 * peer (PEER_SOLICITED), 'network' when a packet nobody asked for made it (PEER_UNPROVEN). The
 * table may evict a peer to make room (peers-eviction.ts); its queue goes with it.
 */
export function createPeer(
  context: CoreContext,
  bytes: Uint8Array,
  keyOffset: number,
  key: string,
  nowSeconds: number,
  origin: 'local' | 'network',
): number {
  const flags = origin === 'local' ? PEER_SOLICITED : PEER_UNPROVEN;
  const slot = context.table.insert(bytes, keyOffset, nowSeconds, context.evict, flags);
  if (slot < 0) return -1;
  count(context, 'peers-created');
  // Expiry and eviction drop a peer's queue with it; this only makes sure a new peer never
  // inherits packets queued for an earlier one.
  count(context, 'drop-queue-discarded', context.queues.discard(key));
  return slot;
}

/**
 * The peer has shown it is reachable at (ipv4, port): trust that mapping, count the reception,
 * reset the bubble and ping counters (Miredo resets them only on its receive case 1; doing it on
 * every accepted reception lets the data plane take the peer over at once), then release its
 * queue: outgoing packets go to the new mapping, incoming ones are delivered only if they came
 * from it (or, from a native peer, from its other validated relay: native-relays.ts).
 *
 * Whether it has also proven two-way traffic, and so may never be evicted for room: yes if it
 * had, or if the local side solicited it (PEER_SOLICITED: the TUN device sent it a packet that
 * had no trusted path, so we queued it and sent bubbles or a ping) and `answersUs`, the packet
 * carries what only a receiver of that solicitation can know: our HMAC interface ID as the
 * destination of a bubble, or our ping's HMAC authenticator. A blind spoofer has neither.
 * Anything else (a self-consistent source, a plain answer) leaves it, or makes it, unproven.
 */
export function trustPeer(
  context: CoreContext,
  slot: number,
  key: string,
  ipv4: number,
  port: number,
  nowSeconds: number,
  out: TunnelOutput,
  answersUs: boolean,
): void {
  const { table } = context;
  const previous = table.flags(slot);
  const wasProven = (previous & (PEER_TRUSTED | PEER_UNPROVEN)) === PEER_TRUSTED;
  const proven = wasProven || (answersUs && (previous & PEER_SOLICITED) !== 0);
  if (proven && !wasProven) count(context, 'peers-proven');
  // Keep the data plane off the peer (QUEUED) until its queue is out, so nothing overtakes it.
  const queued = context.queues.has(key);
  table.setFlags(
    slot,
    PEER_TRUSTED | (previous & PEER_SOLICITED) | (proven ? 0 : PEER_UNPROVEN) | (queued ? PEER_QUEUED : 0),
  );
  table.setMapping(slot, ipv4, port);
  table.setBubbles(slot, 0, table.lastBubble(slot));
  table.setPings(slot, 0, table.lastPing(slot));
  table.touchRx(slot, nowSeconds);
  if (queued) {
    for (const item of context.queues.take(key)) {
      if (item.direction === 'out') {
        out.sendUdp(item.bytes, 0, item.bytes.length, ipv4, port);
        count(context, 'encapsulated');
        count(context, 'queue-flushed');
      } else if (relayMatch(table, slot, item.ipv4, item.port) !== 'none') {
        out.writeTun(item.bytes, 0, item.bytes.length);
        count(context, 'decapsulated');
        count(context, 'queue-flushed');
      } else {
        count(context, 'drop-queue-mapping-mismatch');
      }
    }
  }
  syncFlags(context, slot, key);
}

/** A bubble to the Teredo address at packet[destination..]: direct to its mapping, or via its server. */
export function sendBubble(
  context: CoreContext,
  packet: Uint8Array,
  destination: number,
  indirect: boolean,
  out: TunnelOutput,
): void {
  if (context.packets.sendBubbleTo(packet, destination, indirect, out)) count(context, 'bubble-sent');
  else count(context, 'drop-bubble-not-global');
}

/**
 * An ICMPv6 Destination Unreachable about the packet at packet[offset, offset + length), written
 * to the TUN device. Deviation from Miredo (which sends it through a raw ICMPv6 socket and lets
 * the kernel pick the source): its source is the offending packet's destination, since the
 * unprivileged engine has no raw socket; a global source stays forwardable when a relay answers
 * a remote host. Subject to the tunnel's 10-per-second budget; none about ICMPv6 errors,
 * multicast, or unspecified sources.
 */
export function sendUnreachable(
  context: CoreContext,
  code: number,
  packet: Uint8Array,
  offset: number,
  length: number,
  nowMs: number,
  out: TunnelOutput,
): void {
  if (unreachableRefusal(packet, offset, length) !== null) {
    count(context, 'drop-icmp-refused');
    return;
  }
  if (!context.icmpLimiter.allow(nowMs)) {
    count(context, 'drop-icmp-rate-limited');
    return;
  }
  const scratch = context.icmpScratch;
  const built = buildDestinationUnreachable(
    scratch,
    0,
    {
      code,
      source: packet,
      sourceOffset: offset + IPV6_DESTINATION_OFFSET,
      offending: packet,
      offendingOffset: offset,
      offendingLength: length,
    },
    context.constants,
  );
  if (built.kind === 'refused') {
    count(context, 'drop-icmp-refused');
    return;
  }
  out.writeTun(scratch, 0, built.length);
  count(context, 'icmp-sent');
}
