/**
 * Local client discovery, RFC 4380 section 5.2.8 ("Optional Local Client Discovery Procedure"),
 * client only: Teredo clients on one link find each other by multicast and then talk directly,
 * by their local addresses, which is the only way between two clients behind one NAT that does
 * not hairpin. Sans-I/O: datagrams and the clock come in, packets go out through TunnelOutput.
 *
 * - Announce: a discovery bubble (our Teredo address to ff02::1) to 224.0.0.253:3544 from our
 *   service socket, on qualification and then every 7.5-15 s (local-discovery-rules.ts), and
 *   about a second after a newcomer showed up, so that it learns us at once.
 * - Learn: a discovery bubble from ipv4:port on our link (the multicast socket) makes its Teredo
 *   source a peer reached at ipv4:port, trusted there like any peer (relay-context.ts,
 *   trustPeer), unproven. Refused, each with its counter: before qualification, not a discovery
 *   bubble, our own, from off our subnet, a source that is not a Teredo address or claims one
 *   whose mapping is neither our NAT's public address nor its own (mayClaim), over the per-source
 *   or total rate, no room in the table. A peer with a proven path elsewhere keeps it.
 * - Prove: every learnt peer gets a probe: a bubble to ipv4:port from the link-local address
 *   whose interface ID is our HMAC for that address (security.ts, bubbleInterfaceId), to the
 *   peer's Teredo address. A client of ours answers any probe from its link with the reply
 *   bubble (addresses swapped); an answer to our HMAC interface ID, from the address probed,
 *   within probeLifetimeMs, proves the local path: the peer is proven there (it may then replace
 *   a proven path elsewhere). Probes and their answers arrive on the service socket; the tunnel's
 *   receive path hands every bubble from our link to receiveLocalBubble first.
 */
import { isTeredoAt, teredoClientAt } from './address.js';
import { BUBBLE_BYTES, buildBubble, isBubbleAt } from './bubble.js';
import { isLinkLocalIPv6At, ipv6AddressesEqual } from './ipv6-address.js';
import { IPV6_DESTINATION_OFFSET, IPV6_SOURCE_OFFSET } from './ipv6-header.js';
import {
  DISCOVERY_GROUP_IPV4,
  isDiscoveryBubbleAt,
  isOnLink,
  LOCAL_DISCOVERY,
  mayClaim,
  writeAllNodesMulticast,
} from './local-discovery-rules.js';
import type { LocalLink } from './local-discovery-rules.js';
import { peerKey } from './peer-queue.js';
import { PEER_TRUSTED, PEER_UNPROVEN } from './peers.js';
import { createSourceRateLimiter } from './rate-limiter.js';
import { count, createPeer, secondsOf, solicit, trustPeer } from './relay-context.js';
import type { CoreContext } from './relay-context.js';
import type { DiscoveryReceiver, TunnelOutput } from './relay-types.js';
import { bubbleInterfaceId, isOwnBubbleInterfaceId } from './security.js';
import { createTeredoPayload, parseTeredoPayload } from './wire.js';

export type { LocalLink } from './local-discovery-rules.js';

export interface LocalDiscovery {
  /**
   * A datagram read from the discovery socket, sent by srcIPv4:srcPort to destinationIPv4 (the
   * socket's IP_PKTINFO; anything but the group is refused).
   */
  receiveDiscovery: DiscoveryReceiver;
  /**
   * A bubble (the IPv6 packet at packet[at..]) that reached the service socket from
   * srcIPv4:srcPort: true when it was a probe or a probe's answer from our link and is done with.
   */
  receiveLocalBubble(
    packet: Uint8Array,
    at: number,
    srcIPv4: number,
    srcPort: number,
    nowMs: number,
    out: TunnelOutput,
  ): boolean;
  /** Sends an announcement when one is due (the control plane calls it every second). */
  announce(nowMs: number, out: TunnelOutput): void;
  /** A new identity (or none): forget pending probes, announce at the next call. */
  reset(): void;
}

interface PendingProbe {
  readonly ipv4: number;
  readonly port: number;
  readonly sentMs: number;
}

/** A number in [0, 1): when announcements go is not worth a secret, only spread. */
function defaultRandom(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
}

/**
 * Longer than 80 lines: the procedure's three parts (announce, learn, prove) share the
 * rate limiters, the pending probes and the scratch bubble; each method is short.
 */
export function createLocalDiscovery(
  context: CoreContext,
  link: LocalLink,
  random: () => number = defaultRandom,
): LocalDiscovery {
  const payload = createTeredoPayload();
  const bubble = new Uint8Array(BUBBLE_BYTES);
  const allNodes = new Uint8Array(16);
  writeAllNodesMulticast(allNodes, 0);
  const probeSource = new Uint8Array(16);
  probeSource[0] = 0xfe;
  probeSource[1] = 0x80;
  const perSource = createSourceRateLimiter({
    perSecond: LOCAL_DISCOVERY.perSourcePerSecond,
    burst: LOCAL_DISCOVERY.perSourceBurst,
    buckets: LOCAL_DISCOVERY.sourceBuckets,
  });
  const total = createSourceRateLimiter({
    perSecond: LOCAL_DISCOVERY.totalPerSecond,
    burst: LOCAL_DISCOVERY.totalBurst,
    buckets: 1,
  });
  const probes = new Map<string, PendingProbe>();
  let nextAnnounceMs = Number.NEGATIVE_INFINITY;
  let lastAnnounceMs = Number.NEGATIVE_INFINITY;

  const admitted = (ipv4: number, nowMs: number): boolean => {
    if (perSource.allow(ipv4, nowMs) && total.allow(0, nowMs)) return true;
    count(context, 'drop-discovery-rate-limited');
    return false;
  };

  const sendProbe = (
    packet: Uint8Array,
    source: number,
    ipv4: number,
    port: number,
    nowMs: number,
    out: TunnelOutput,
  ): void => {
    bubbleInterfaceId(context.security, ipv4, port, probeSource, 8);
    buildBubble(bubble, 0, { source: probeSource, destination: packet, destinationOffset: source });
    out.sendUdp(bubble, 0, BUBBLE_BYTES, ipv4, port);
    const key = peerKey(packet, source);
    probes.delete(key);
    if (probes.size >= LOCAL_DISCOVERY.maxPendingProbes) {
      const oldest = probes.keys().next();
      if (oldest.done !== true) probes.delete(oldest.value);
    }
    probes.set(key, { ipv4, port, sentMs: nowMs });
    count(context, 'discovery-probe-sent');
  };

  /** Learn: the peer at packet[source..] is reached at ipv4:port, unless proven elsewhere. */
  const learn = (
    packet: Uint8Array,
    source: number,
    ipv4: number,
    port: number,
    nowMs: number,
    out: TunnelOutput,
  ): void => {
    const { table } = context;
    const nowSeconds = secondsOf(nowMs);
    const key = peerKey(packet, source);
    let slot = table.find(packet, source);
    if (slot < 0) {
      slot = createPeer(context, packet, source, key, nowSeconds, 'network');
      if (slot < 0) {
        count(context, 'drop-discovery-table-full');
        return;
      }
      // A newcomer: answer with an announcement soon, so that it learns us too.
      nextAnnounceMs = Math.min(
        nextAnnounceMs,
        Math.max(nowMs, lastAnnounceMs + LOCAL_DISCOVERY.answerDelayMs),
      );
    }
    const flags = table.flags(slot);
    const here = table.mappedIPv4(slot) === ipv4 >>> 0 && table.mappedPort(slot) === port;
    const trusted = (flags & PEER_TRUSTED) !== 0;
    const proven = trusted && (flags & PEER_UNPROVEN) === 0;
    if (trusted && here) {
      table.touchRx(slot, nowSeconds);
      count(context, 'discovery-refreshed');
      if (proven) return;
    } else if (proven) {
      count(context, 'discovery-kept-proven');
    } else {
      trustPeer(context, slot, key, ipv4, port, nowSeconds, out, false);
      count(context, 'discovery-peer-local');
    }
    const pending = probes.get(key);
    if (pending === undefined || nowMs - pending.sentMs >= LOCAL_DISCOVERY.probeLifetimeMs) {
      sendProbe(packet, source, ipv4, port, nowMs, out);
    }
  };

  /** Prove: the answer to our probe; the peer is proven at ipv4:port. */
  const proveAnswer = (
    packet: Uint8Array,
    at: number,
    ipv4: number,
    port: number,
    nowMs: number,
    out: TunnelOutput,
  ): void => {
    const source = at + IPV6_SOURCE_OFFSET;
    const key = peerKey(packet, source);
    const pending = probes.get(key);
    const slot = context.table.find(packet, source);
    if (
      pending === undefined ||
      pending.ipv4 !== ipv4 >>> 0 ||
      pending.port !== port ||
      nowMs - pending.sentMs >= LOCAL_DISCOVERY.probeLifetimeMs ||
      slot < 0
    ) {
      count(context, 'drop-discovery-probe-unknown');
      return;
    }
    probes.delete(key);
    solicit(context, slot);
    trustPeer(context, slot, key, ipv4, port, secondsOf(nowMs), out, true);
    count(context, 'discovery-path-proven');
  };

  return {
    receiveDiscovery(datagram, offset, length, srcIPv4, srcPort, destinationIPv4, nowMs, out): void {
      const identity = context.identity;
      if (identity === null) {
        count(context, 'drop-discovery-not-qualified');
        return;
      }
      const parsed = parseTeredoPayload(datagram, length, payload, offset);
      if (
        parsed !== 'ok' ||
        payload.hasAuth ||
        payload.hasOrigin ||
        destinationIPv4 >>> 0 !== DISCOVERY_GROUP_IPV4
      ) {
        count(context, 'drop-discovery-malformed');
        return;
      }
      const at = payload.ipv6Offset;
      const source = at + IPV6_SOURCE_OFFSET;
      if (!isDiscoveryBubbleAt(datagram, at)) {
        count(context, 'drop-discovery-not-bubble');
        return;
      }
      if (ipv6AddressesEqual(datagram, source, identity.address, 0)) {
        count(context, 'drop-discovery-own');
        return;
      }
      if (!isOnLink(link, srcIPv4, srcPort)) {
        count(context, 'drop-discovery-off-link');
        return;
      }
      if (!isTeredoAt(datagram, source, context.prefix)) {
        count(context, 'drop-discovery-not-teredo');
        return;
      }
      if (!mayClaim(datagram, source, teredoClientAt(identity.address, 0), srcIPv4)) {
        count(context, 'drop-discovery-foreign-mapping');
        return;
      }
      if (!admitted(srcIPv4, nowMs)) return;
      count(context, 'discovery-received');
      learn(datagram, source, srcIPv4 >>> 0, srcPort, nowMs, out);
    },

    receiveLocalBubble(packet, at, srcIPv4, srcPort, nowMs, out): boolean {
      const identity = context.identity;
      if (identity === null || !isBubbleAt(packet, at) || !isOnLink(link, srcIPv4, srcPort)) return false;
      const source = at + IPV6_SOURCE_OFFSET;
      const destination = at + IPV6_DESTINATION_OFFSET;
      if (isLinkLocalIPv6At(packet, source)) {
        // A probe (or a bubble we would drop anyway): answer it if it is for us.
        if (!ipv6AddressesEqual(packet, destination, identity.address, 0)) return false;
        if (!admitted(srcIPv4, nowMs)) return true;
        // The reply bubble, to a local address (ControlPackets only sends to global ones).
        buildBubble(bubble, 0, {
          source: packet,
          sourceOffset: destination,
          destination: packet,
          destinationOffset: source,
        });
        out.sendUdp(bubble, 0, BUBBLE_BYTES, srcIPv4, srcPort);
        count(context, 'discovery-probe-answered');
        return true;
      }
      if (!isTeredoAt(packet, source, context.prefix)) return false;
      const ours = isOwnBubbleInterfaceId(
        context.security,
        packet.subarray(destination, destination + 16),
        srcIPv4,
        srcPort,
      );
      if (!ours || !isLinkLocalIPv6At(packet, destination)) return false;
      proveAnswer(packet, at, srcIPv4 >>> 0, srcPort, nowMs, out);
      return true;
    },

    announce(nowMs, out): void {
      const identity = context.identity;
      if (identity === null || nowMs < nextAnnounceMs) return;
      buildBubble(bubble, 0, { source: identity.address, destination: allNodes });
      out.sendUdp(bubble, 0, BUBBLE_BYTES, DISCOVERY_GROUP_IPV4, context.constants.port);
      count(context, 'discovery-sent');
      lastAnnounceMs = nowMs;
      nextAnnounceMs = nowMs + LOCAL_DISCOVERY.intervalMs * (0.75 + 0.75 * random());
    },

    reset(): void {
      probes.clear();
      nextAnnounceMs = Number.NEGATIVE_INFINITY;
    },
  };
}
