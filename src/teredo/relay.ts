/**
 * The client's and relay's transmit and receive decisions (RFC 4380 sections 5.2 and 5.4, as
 * Miredo 1.2.6 makes them: reference sections 4.7 to 4.10), sans-I/O. The daemon's control plane
 * feeds it the packets the data-plane fast path left over, and a tick once a second; packets go
 * out through a TunnelOutput. It owns the peer table's writes and the per-peer queues, and keeps
 * each peer's PEER_QUEUED and PEER_COUNTING flags set while it has work for that peer, so the
 * data-plane workers leave such peers to it.
 *
 * Deliberate deviations from Miredo, all documented where they are made:
 * - queued packets are released in arrival order (Miredo: reversed);
 * - ICMPv6 errors are written to the TUN device with the offending packet's destination as
 *   their source (Miredo: raw socket, kernel-chosen source);
 * - bubble and ping counters are reset on every accepted reception (Miredo: receive case 1 only);
 * - a native host's unverified packet does not refresh a trusted peer's reception time;
 * - bubbles are never written to the TUN device;
 * - a round of unanswered pings is followed by another 10 s later (relay-pacing.ts), and a
 *   native peer silent for 3 s while we send to it is tested again (silent-relays.ts).
 * Hostile bytes never throw; every dropped packet is counted under its reason.
 */
import { teredoClientAt, teredoPortAt } from './address.js';
import { readU32 } from './bytes.js';
import { TEREDO_CONSTANTS } from './constants.js';
import { createHairpinning } from './hairpinning.js';
import { createIcmpRateLimiter } from './icmp-rate-limiter.js';
import { createLocalDiscovery } from './local-discovery.js';
import { createPeerQueues, peerKey } from './peer-queue.js';
import { count, icmpScratchFor, secondsOf } from './relay-context.js';
import type { CoreContext } from './relay-context.js';
import { sendDueDirectBubbles } from './port-preserving-nat.js';
import { createControlPackets } from './relay-packets.js';
import { createPingCheck } from './relay-ping-check.js';
import { createReceiver } from './relay-receive.js';
import { releaseUnanswered } from './shared-relay-address.js';
import { retestSilentRelays } from './silent-relays.js';
import { transmit } from './relay-transmit.js';
import type { ClientIdentity, TunnelCore, TunnelCoreOptions, TunnelCoreStats } from './relay-types.js';
import type { NatType } from './nat-type.js';
import { TUNNEL_COUNTER_NAMES } from './tunnel-counters.js';
import { createWithheldBubbles } from './withheld-bubbles.js';

export type {
  ClientIdentity,
  TunnelCore,
  TunnelCoreOptions,
  TunnelCoreStats,
  TunnelOutput,
} from './relay-types.js';

function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Throws RangeError on options that cannot work (a counter row of the wrong size, a client
 * identity address that is not 16 bytes): programming errors.
 *
 * Longer than 80 lines: it wires the core's parts (receiver, queues, pings, ICMPv6 limiter) and
 * holds the client's identity that fromTun, fromUdp, tick and setClientIdentity all read; each
 * method is short.
 */
export function createTunnelCore(options: TunnelCoreOptions): TunnelCore {
  if (options.counters.length < TUNNEL_COUNTER_NAMES.length) {
    throw new RangeError(
      `tunnel counters need ${TUNNEL_COUNTER_NAMES.length} entries, got ${options.counters.length}`,
    );
  }
  const constants = options.constants ?? TEREDO_CONSTANTS;
  const client = options.role === 'client';
  const queues = createPeerQueues(constants.peerQueueBytes);
  const keyScratch = new Uint8Array(16);
  /** The table is about to remove the peer in `slot` (expiry, eviction): its queue goes too. */
  const dropQueueOf = (slot: number): void => {
    options.table.keyInto(slot, keyScratch, 0);
    count(context, 'drop-queue-discarded', queues.discard(peerKey(keyScratch, 0)));
  };
  const evict = (slot: number): void => {
    count(context, 'peers-evicted');
    dropQueueOf(slot);
  };
  const hairpin = createHairpinning(constants, (name) => count(context, name));
  const context: CoreContext = {
    client,
    cone: client ? false : options.cone,
    configuredPrefix: options.prefix >>> 0,
    table: options.table,
    security: options.security,
    counters: options.counters,
    constants,
    queues,
    packets: createControlPackets(options.security, constants, hairpin),
    hairpin,
    pingCheck: createPingCheck(options.security),
    icmpLimiter: createIcmpRateLimiter(constants.icmpErrorsPerSecond),
    withheld: createWithheldBubbles(),
    unanswered: !client && options.sharedAddress === true ? createWithheldBubbles() : null,
    traversalLimiter: createIcmpRateLimiter(constants.traversalBubblesPerSecond),
    icmpScratch: icmpScratchFor(constants),
    dropQueueOf,
    evict,
    identity: null,
    prefix: options.prefix >>> 0,
    natType: 'unknown',
  };
  const discovery =
    client && options.localLink !== undefined && options.localLink !== null
      ? createLocalDiscovery(context, options.localLink, options.random)
      : null;
  const receiver = createReceiver(context, discovery === null ? null : discovery.receiveLocalBubble);
  let lastTickMs = Number.NaN;
  /** Where the next silent-relay scan starts (silent-relays.ts). */
  let silentHand = 0;

  function forgetEveryPeer(): void {
    count(context, 'peers-reset', context.table.size());
    count(context, 'drop-queue-discarded', context.queues.clear());
    context.withheld.clear();
    context.unanswered?.clear();
    context.table.reset();
  }

  return {
    setClientIdentity(identity: ClientIdentity | null): void {
      if (!client) throw new RangeError('a relay has no client identity');
      if (identity !== null && identity.address.length !== 16) {
        throw new RangeError(`a Teredo address has 16 bytes, got ${identity.address.length}`);
      }
      const previous = context.identity;
      const sameIdentity =
        previous !== null && identity !== null && sameAddress(previous.address, identity.address);
      if (!sameIdentity && (previous !== null || identity !== null)) {
        forgetEveryPeer();
        discovery?.reset();
        // Another address may be another NAT: the probe tells again (nat-type.ts).
        context.natType = 'unknown';
      }
      context.identity =
        identity === null
          ? null
          : Object.freeze({
              address: Uint8Array.from(identity.address),
              serverIPv4: identity.serverIPv4 >>> 0,
              mtu: identity.mtu,
            });
      context.prefix = identity === null ? context.configuredPrefix : readU32(identity.address, 0);
      if (!sameIdentity) hairpin.forget();
      if (identity === null) hairpin.setEndpoints(0, 0, 0, 0);
      else
        hairpin.setEndpoints(
          identity.localIPv4 ?? 0,
          identity.localPort ?? 0,
          teredoClientAt(identity.address, 0),
          teredoPortAt(identity.address, 0),
        );
    },

    setNatType(natType: NatType): void {
      context.natType = natType;
    },

    fromTun(packet, offset, length, nowMs, wallSeconds, out): void {
      transmit(context, packet, offset, length, nowMs, wallSeconds, out);
    },

    fromUdp(datagram, offset, length, srcIPv4, srcPort, nowMs, wallSeconds, out): void {
      receiver.receive(datagram, offset, length, srcIPv4, srcPort, nowMs, wallSeconds, out);
    },

    fromDiscovery(datagram, offset, length, srcIPv4, srcPort, destinationIPv4, nowMs, out): void {
      if (discovery === null) count(context, 'drop-discovery-not-qualified');
      else
        discovery.receiveDiscovery(datagram, offset, length, srcIPv4, srcPort, destinationIPv4, nowMs, out);
    },

    announce(nowMs, out): void {
      discovery?.announce(nowMs, out);
    },

    retestSilentRelays(nowMs, wallSeconds, out): void {
      silentHand = retestSilentRelays(context, secondsOf(nowMs), wallSeconds, keyScratch, out, silentHand);
    },

    tick(nowMs: number): void {
      // Sweep the whole table once per GC period, so an idle peer goes 30 to 60 s after its
      // last use, as with Miredo's two generations.
      const elapsed = Number.isNaN(lastTickMs) ? 1000 : Math.max(nowMs - lastTickMs, 0);
      lastTickMs = nowMs;
      const { table } = context;
      const budget = Math.min(
        table.slots,
        Math.max(1, Math.ceil((table.slots * elapsed) / constants.peerGcPeriodMs)),
      );
      const idleSeconds = Math.ceil(constants.peerValidityMs / 1000);
      const removed = table.expire(secondsOf(nowMs), idleSeconds, budget, dropQueueOf);
      count(context, 'peers-expired', removed);
    },

    sendDue(nowMs: number, out): number {
      const bubbles = sendDueDirectBubbles(context, nowMs, out);
      const queues = releaseUnanswered(context, nowMs, out);
      if (bubbles < 0 || queues < 0) return Math.max(bubbles, queues);
      return Math.min(bubbles, queues);
    },

    stats(): TunnelCoreStats {
      return {
        peers: context.table.size(),
        queuedPackets: context.queues.packets,
        queuedBytes: context.queues.bytes,
      };
    },
  };
}
