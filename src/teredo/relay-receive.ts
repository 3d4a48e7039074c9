/**
 * Reception, UDP -> TUN (RFC 4380 sections 5.2.3, 5.2.5 and 5.4.2; Miredo's teredo_run_inner,
 * reference section 4.8), for datagrams the data plane did not deliver itself and qualification
 * did not take:
 *
 * 1. a valid Teredo payload with a whole IPv6 packet, else dropped;
 * 2. client: nothing before qualification; RFC 6081 trailers read (relay-trailers.ts); from our server with an origin indication (or, for a
 *    bubble without one, a Teredo source): a reply bubble to that origin opens our NAT towards
 *    it, and a bubble stops there, after the RFC 6081 traversal rules for a Teredo peer's
 *    indirect bubble (port-preserving-nat.ts, symmetric-nat.ts rule 1); a bubble from our own
 *    link may be local discovery's (local-discovery.ts); then link-local sources are dropped (no
 *    forged Router Advertisements for the kernel). Relay: only Teredo sources;
 * 3. multicast destinations dropped;
 * 4. a trusted peer at the outer source: accepted. Client: a native peer's packet through its
 *    alternate validated relay is accepted and makes that relay its primary; a valid reply to
 *    our direct connectivity ping makes its sender's mapping trusted, a native peer's previous
 *    relay staying validated as its alternate (native-relays.ts; the reply is not delivered);
 * 5. a Teredo source whose address embeds the outer source, or a bubble addressed to the
 *    link-local interface ID we give the source's mapping (Miredo's extension for peers behind
 *    symmetric NATs), or (client) a neighbour answering from the local address we sent a hairpin
 *    bubble to (hairpinning.ts): trusted at the outer source, accepted; a client greets a mapping
 *    learnt so (symmetric-nat.ts rule 2). A relay only accepts peers it has an entry for;
 * 6. client, native source (new, or through a relay not validated for it): queued as
 *    incoming, and a direct connectivity ping checks it (for a trusted peer, a burst with
 *    distinct identifiers: native-relays.ts);
 * 7. anything else dropped.
 * Bubbles are never delivered to the TUN device. Peers this creates are unproven (anyone can
 * spoof cases 5 and 6); a ping reply, or a bubble to our interface ID, from a peer the local side
 * solicited proves it (relay-context.ts, trustPeer).
 */
import { isTeredoAt, teredoClientAt, teredoMappingMatchesAt, teredoPortAt } from './address.js';
import { isBubbleAt } from './bubble.js';
import { bytesEqual } from './bytes.js';
import { isLinkLocalIPv6At, isMulticastIPv6At } from './ipv6-address.js';
import { IPV6_DESTINATION_OFFSET, IPV6_SOURCE_OFFSET } from './ipv6-header.js';
import { peerKey } from './peer-queue.js';
import { PEER_SOLICITED, PEER_TRUSTED } from './peers.js';
import { adoptRelay, PROBE_BURST, relayMatch, switchToAlternate } from './native-relays.js';
import { count, createPeer, secondsOf, syncFlags, trustPeer } from './relay-context.js';
import type { CoreContext } from './relay-context.js';
import { pacePing, stampAgeSeconds } from './relay-pacing.js';
import { createTrailerReceiver } from './relay-trailers.js';
import type { ClientIdentity, TunnelCore, TunnelOutput } from './relay-types.js';
import { isOwnBubbleInterfaceId } from './security.js';
import { releaseOnPeerBubble } from './port-preserving-nat.js';
import { answerIndirectBubble, greetLearntMapping } from './symmetric-nat.js';
import { createTeredoPayload, parseTeredoPayload } from './wire.js';
import type { TeredoPayload } from './wire.js';
import { acceptsUnknownClient } from './shared-relay-address.js';

export interface Receiver {
  readonly receive: TunnelCore['fromUdp'];
}

/**
 * Client: takes a bubble from the local link before the rules below (local discovery's probes
 * and their answers: local-discovery.ts); true when it was taken.
 */
export type LocalBubbleHook = (
  packet: Uint8Array,
  at: number,
  srcIPv4: number,
  srcPort: number,
  nowMs: number,
  out: TunnelOutput,
) => boolean;

/**
 * Longer than 80 lines: the receive rules and the records they parse into, allocated once per core
 * so that no datagram allocates; the rules themselves are receive() below, their cases' work
 * the helpers above it.
 */
export function createReceiver(context: CoreContext, localBubble: LocalBubbleHook | null = null): Receiver {
  const payload: TeredoPayload = createTeredoPayload();
  const trailers = createTrailerReceiver(context);

  /** Client step 2c; true when the packet was a bubble from our server and is done with. */
  function answerServerRelayedPacket(
    identity: ClientIdentity,
    packet: Uint8Array,
    at: number,
    srcIPv4: number,
    srcPort: number,
    nowMs: number,
    out: TunnelOutput,
  ): boolean {
    if (srcIPv4 !== identity.serverIPv4 || srcPort !== context.constants.port) return false;
    const bubble = isBubbleAt(packet, at);
    let ipv4 = payload.originIPv4;
    let port = payload.originPort;
    const source = at + IPV6_SOURCE_OFFSET;
    if (ipv4 === 0 && bubble && isTeredoAt(packet, source, context.prefix)) {
      // Some servers send no origin indication: a Teredo source tells the mapping anyway.
      ipv4 = teredoClientAt(packet, source);
      port = teredoPortAt(packet, source);
    }
    if (ipv4 === 0) return false;
    if (context.packets.sendReplyBubble(packet, at, ipv4, port, out)) count(context, 'reply-bubble-sent');
    else count(context, 'drop-bubble-not-global');
    if (!bubble) return false;
    count(context, 'rx-server-bubble');
    if (releaseOnPeerBubble(context, packet, source, ipv4, port, nowMs, out)) return true;
    if (isTeredoAt(packet, source, context.prefix))
      answerIndirectBubble(context, packet, source, ipv4, nowMs, out);
    return true;
  }

  function deliver(packet: Uint8Array, at: number, length: number, out: TunnelOutput): void {
    if (isBubbleAt(packet, at)) {
      count(context, 'rx-bubble');
      return;
    }
    out.writeTun(packet, at, length);
    count(context, 'decapsulated');
  }

  /** Whether the bubble at `at` is addressed to the interface ID we use for its source's mapping. */
  function carriesOurBubbleId(packet: Uint8Array, at: number): boolean {
    const source = at + IPV6_SOURCE_OFFSET;
    const destination = at + IPV6_DESTINATION_OFFSET;
    return isOwnBubbleInterfaceId(
      context.security,
      packet.subarray(destination, destination + 16),
      teredoClientAt(packet, source),
      teredoPortAt(packet, source),
    );
  }

  /** Whether the packet at `at` is a bubble from a peer the local side solicited, to our interface ID for it. */
  function answersOurBubble(packet: Uint8Array, at: number, slot: number): boolean {
    return (
      slot >= 0 &&
      (context.table.flags(slot) & PEER_SOLICITED) !== 0 &&
      isBubbleAt(packet, at) &&
      carriesOurBubbleId(packet, at)
    );
  }

  /**
   * RFC 4380 receive case 6: a native host we have no trusted path with. Its packet waits while
   * a ping through our server finds out which relay serves it; it is delivered only if it came
   * from that relay.
   */
  function receiveFromNativeHost(
    identity: ClientIdentity,
    packet: Uint8Array,
    at: number,
    packetLength: number,
    existingSlot: number,
    key: string,
    ipv4: number,
    port: number,
    nowSeconds: number,
    wallSeconds: number,
    out: TunnelOutput,
  ): void {
    const { table } = context;
    const source = at + IPV6_SOURCE_OFFSET;
    let slot = existingSlot;
    if (slot < 0) {
      slot = createPeer(context, packet, source, key, nowSeconds, 'network');
      if (slot < 0) {
        count(context, 'drop-rx-table-full');
        return;
      }
    }
    const queued = context.queues.enqueue(key, 'in', packet, at, packetLength, ipv4, port);
    if (queued === 'queued') count(context, 'rx-queued');
    else count(context, queued === 'slab-full' ? 'drop-rx-slab-full' : 'drop-rx-queue-full');
    // Miredo touches the reception time here; doing so for a trusted peer would keep its
    // (other) mapping valid on the word of an unverified packet, so only untrusted ones are.
    if ((table.flags(slot) & PEER_TRUSTED) === 0) table.touchRx(slot, nowSeconds);
    const pacing = pacePing(table.pings(slot), table.lastPing(slot), nowSeconds, context.constants);
    table.setPings(slot, pacing.count, pacing.lastSeconds);
    syncFlags(context, slot, key);
    if (pacing.verdict === 'send') {
      // A trusted peer's packet through another relay: a burst, each with its own identifier, so
      // that their replies come back through several relays, one of them hopefully this packet's.
      // A first contact (which anyone may spoof) draws one ping, like Miredo's.
      const trusted = (table.flags(slot) & PEER_TRUSTED) !== 0;
      const burst = trusted ? PROBE_BURST : 1;
      for (let probe = 0; probe < burst; probe++) {
        const { address, serverIPv4 } = identity;
        context.packets.sendPing(address, packet, source, wallSeconds, serverIPv4, out, trusted);
      }
      count(context, 'ping-sent', burst);
    } else {
      count(context, pacing.verdict === 'wait' ? 'ping-paced' : 'rx-ping-limit');
    }
  }

  /** Whether the packet at `at` is addressed to our own Teredo address (not to an alias of it). */
  function toOurAddress(packet: Uint8Array, at: number): boolean {
    const identity = context.identity;
    return identity !== null && bytesEqual(packet, at + IPV6_DESTINATION_OFFSET, identity.address, 0, 16);
  }

  /**
   * Whether a native peer's connectivity test is under way (a burst went out less than the ping
   * interval ago, for a packet through a relay not yet validated): a packet through the primary
   * relay is then delivered without resetting the ping count or releasing the held packets, so
   * that the peer's packets through the unvalidated relay draw one burst per interval, not one
   * per packet, and wait that long for a reply through their relay.
   */
  function probing(slot: number, nowSeconds: number): boolean {
    const { table } = context;
    if (table.pings(slot) === 0) return false;
    return stampAgeSeconds(nowSeconds, table.lastPing(slot)) * 1000 <= context.constants.pingMinIntervalMs;
  }

  return {
    /**
     * Longer than 80 lines: the receive procedure of RFC 4380 sections 5.2.3, 5.2.5 and 5.4.2
     * (reference section 4.8), its cases in the order listed at the top of this file, so that it reads against the reference case by
     * case; each case's work is in the helpers above.
     */
    receive(datagram, offset, length, srcIPv4, srcPort, nowMs, wallSeconds, out): void {
      if (parseTeredoPayload(datagram, length, payload, offset) !== 'ok') {
        count(context, 'drop-rx-malformed');
        return;
      }
      const packet = datagram;
      const at = payload.ipv6Offset;
      const packetLength = payload.ipv6Length;
      const source = at + IPV6_SOURCE_OFFSET;
      const sourceIsTeredo = isTeredoAt(packet, source, context.prefix);
      const ipv4 = srcIPv4 >>> 0;

      const identity = context.identity;
      if (context.client) {
        if (identity === null) {
          count(context, 'drop-rx-not-qualified');
          return;
        }
        trailers.offer(identity, packet, payload, ipv4, srcPort, nowMs, out);
        if (answerServerRelayedPacket(identity, packet, at, ipv4, srcPort, nowMs, out)) return;
        if (localBubble?.(packet, at, ipv4, srcPort, nowMs, out) === true) return;
        if (isLinkLocalIPv6At(packet, source)) {
          count(context, 'drop-rx-link-local-source');
          return;
        }
      } else if (!sourceIsTeredo) {
        count(context, 'drop-rx-source-not-teredo');
        return;
      }
      if (isMulticastIPv6At(packet, at + IPV6_DESTINATION_OFFSET)) {
        count(context, 'drop-rx-multicast');
        return;
      }

      const { table } = context;
      const nowSeconds = secondsOf(nowMs);
      const key = peerKey(packet, source);
      let slot = table.find(packet, source);
      if (slot >= 0) {
        const match = relayMatch(table, slot, ipv4, srcPort);
        if (match === 'primary') {
          if (!probing(slot, nowSeconds)) {
            trustPeer(context, slot, key, ipv4, srcPort, nowSeconds, out, answersOurBubble(packet, at, slot));
          } else if (context.pingCheck.answersOurPing(packet, at, packetLength, wallSeconds)) {
            // A test for another relay answered through this one: the held packets wait on.
            count(context, 'rx-ping-reply');
            table.touchRx(slot, nowSeconds);
            return;
          } else {
            table.touchRx(slot, nowSeconds);
          }
          deliver(packet, at, packetLength, out);
          return;
        }
        if (match === 'alternate' && context.client && !sourceIsTeredo && toOurAddress(packet, at)) {
          // The peer's packets come through its other validated relay: ours follow them.
          switchToAlternate(table, slot);
          count(context, 'rx-relay-switched');
          trustPeer(context, slot, key, ipv4, srcPort, nowSeconds, out, false);
          deliver(packet, at, packetLength, out);
          return;
        }
        if (context.client && context.pingCheck.answersOurPing(packet, at, packetLength, wallSeconds)) {
          count(context, 'rx-ping-reply');
          let mappedIPv4 = ipv4;
          let mappedPort = srcPort;
          if (!sourceIsTeredo) {
            // A reply to a test from an alias proves the relay, which may not know our own
            // address yet (relays only take packets from clients they have sent to): it joins
            // as the alternate, and becomes the primary once it carries a packet to us.
            const toUs = toOurAddress(packet, at);
            if (adoptRelay(table, slot, ipv4, srcPort, toUs)) count(context, 'rx-relay-validated');
            if (!toUs && (table.flags(slot) & PEER_TRUSTED) !== 0) {
              mappedIPv4 = table.mappedIPv4(slot);
              mappedPort = table.mappedPort(slot);
            }
          }
          trustPeer(context, slot, key, mappedIPv4, mappedPort, nowSeconds, out, true);
          return;
        }
      }

      if (sourceIsTeredo) {
        const direct = teredoMappingMatchesAt(packet, source, ipv4, srcPort);
        // Our interface ID accepts a peer behind a symmetric NAT, and proves a solicited one.
        const ourBubble = direct
          ? answersOurBubble(packet, at, slot)
          : isBubbleAt(packet, at) && carriesOurBubbleId(packet, at);
        const hairpinned =
          !direct &&
          !ourBubble &&
          context.client &&
          context.hairpin.accepts(
            teredoClientAt(packet, source),
            teredoPortAt(packet, source),
            ipv4,
            srcPort,
            nowMs,
          );
        if (direct || ourBubble || hairpinned) {
          if (slot < 0) {
            if (!context.client && !acceptsUnknownClient(context, direct)) {
              // A relay only talks to clients it (or, with a shared address, its fleet) has sent to first.
              count(context, 'drop-rx-unknown-peer');
              return;
            }
            slot = createPeer(context, packet, source, key, nowSeconds, 'network');
            if (slot < 0) {
              count(context, 'drop-rx-table-full');
              return;
            }
          }
          if (!hairpinned) count(context, direct ? 'rx-mapping-learned' : 'rx-hmac-bubble');
          trustPeer(context, slot, key, ipv4, srcPort, nowSeconds, out, ourBubble);
          if (!direct && identity !== null) {
            greetLearntMapping(context, identity, packet, source, ipv4, srcPort, nowMs, out);
          }
          deliver(packet, at, packetLength, out);
          return;
        }
      } else if (context.client && identity !== null) {
        receiveFromNativeHost(
          identity,
          packet,
          at,
          packetLength,
          slot,
          key,
          ipv4,
          srcPort,
          nowSeconds,
          wallSeconds,
          out,
        );
        return;
      }
      count(context, 'drop-rx-unmatched');
    },
  };
}
