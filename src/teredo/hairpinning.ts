/**
 * RFC 6081's hairpinning extension (its section 3.5/5.5 by the unconfirmed numbering of our
 * notes): follows the intent; only the Alternate Address trailer's format and its "MUST only
 * appear in bubbles" are confirmed ([MS-TERE] 2.2.2). Two clients behind one NAT that does not
 * hairpin cannot reach each other's public mapping; each tells the other its local address.
 *
 * Sending: our indirect bubbles (through the peer's server) carry an Alternate Address trailer
 * with one entry, our local IPv4 and port, when that address is private (behind a NAT).
 *
 * Receiving, the only case acted upon: a bubble that our own server relayed to us with an origin
 * indication whose IPv4 is our own mapped IPv4 (the server's word that the sender shares our
 * public address). Then, for each private entry, a direct bubble (the reply bubble: our address
 * to the sender's) goes to that entry: at most one per entry every bubbleMinIntervalMs, at most
 * `bubblesPerSecond` for the whole tunnel. After that, packets from the entry whose Teredo source
 * embeds the sender's mapping are accepted (accepts()), for peerValidityMs after the last bubble.
 * The sender, for its part, accepts our bubble by its HMAC interface ID (relay-receive.ts).
 *
 * Every refusal is a named counter: trailer not relayed by our server (not via server), not on
 * a bubble, sender behind another public address (other NAT), ourselves, an entry that is not a
 * private address, paced, over the tunnel's rate. Nothing is sent in any of those cases.
 */
import { buildBubble, BUBBLE_BYTES, isBubbleAt } from './bubble.js';
import type { TeredoConstants } from './constants.js';
import { createIcmpRateLimiter } from './icmp-rate-limiter.js';
import { IPV6_DESTINATION_OFFSET, IPV6_SOURCE_OFFSET } from './ipv6-header.js';
import type { TunnelOutput } from './relay-types.js';
import type { TunnelCounterName } from './tunnel-counters.js';
import { ALTERNATE_ADDRESS_MAX_BYTES, writeAlternateAddressTrailer } from './trailers.js';
import type { Trailers } from './trailers.js';

export const HAIRPIN_LIMITS = Object.freeze({
  /** (peer mapping, alternate address) pairs remembered; the oldest gives way. */
  pairs: 32,
  /** Hairpin bubbles per second, whole tunnel. */
  bubblesPerSecond: 8,
} as const);

/** RFC 1918, and 100.64/10 (a carrier-grade NAT's inside): where a neighbour behind our NAT lives. */
export function isPrivateIPv4(ipv4: number): boolean {
  const value = ipv4 >>> 0;
  return (
    value >>> 24 === 10 ||
    value >>> 20 === 0xac1 ||
    value >>> 16 === 0xc0a8 ||
    value >>> 22 === 0x64400000 >>> 22
  );
}

/** Where a received datagram came from, as the receive path saw it. */
export interface HairpinOrigin {
  /** From our server's address and port with an origin indication. */
  viaServer: boolean;
  originIPv4: number;
  originPort: number;
}

export interface Hairpinning {
  /** Our local IPv4 and port and our mapping; zeros when not qualified (no trailer then). */
  setEndpoints(localIPv4: number, localPort: number, mappedIPv4: number, mappedPort: number): void;
  /** Our Alternate Address trailer at out[offset..] for an indirect bubble; its length, 0 when none. */
  writeTrailer(out: Uint8Array, offset: number): number;
  /** The trailers of a received datagram whose IPv6 packet is at packet[at..]. */
  offer(
    trailers: Readonly<Trailers>,
    packet: Uint8Array,
    at: number,
    origin: Readonly<HairpinOrigin>,
    nowMs: number,
    out: TunnelOutput,
  ): void;
  /** Whether a packet from srcIPv4:srcPort, from the peer mapped at peerIPv4:peerPort, answers a hairpin bubble of ours. */
  accepts(peerIPv4: number, peerPort: number, srcIPv4: number, srcPort: number, nowMs: number): boolean;
  /** Forgets every pair (new identity). */
  forget(): void;
}

/**
 * Longer than 80 lines: the pair table, the trailer and the scratch bubble are shared by offer,
 * accepts and writeTrailer, each short.
 */
export function createHairpinning(
  constants: TeredoConstants,
  count: (name: TunnelCounterName) => void,
): Hairpinning {
  const { pairs } = HAIRPIN_LIMITS;
  const peerIPv4 = new Uint32Array(pairs);
  const peerPort = new Uint16Array(pairs);
  const altIPv4 = new Uint32Array(pairs);
  const altPort = new Uint16Array(pairs);
  const sentAtMs = new Float64Array(pairs).fill(Number.NEGATIVE_INFINITY);
  const limiter = createIcmpRateLimiter(HAIRPIN_LIMITS.bubblesPerSecond);
  const bubble = new Uint8Array(BUBBLE_BYTES);
  const trailer = new Uint8Array(ALTERNATE_ADDRESS_MAX_BYTES);
  let trailerLength = 0;
  let local = { ipv4: 0, port: 0 };
  let mapped = { ipv4: 0, port: 0 };

  /** The pair's slot, or -1. */
  function find(pIPv4: number, pPort: number, aIPv4: number, aPort: number): number {
    for (let i = 0; i < pairs; i++) {
      if (peerIPv4[i] === pIPv4 && peerPort[i] === pPort && altIPv4[i] === aIPv4 && altPort[i] === aPort)
        if (sentAtMs[i] !== Number.NEGATIVE_INFINITY) return i;
    }
    return -1;
  }

  function oldest(): number {
    let slot = 0;
    for (let i = 1; i < pairs; i++) if (sentAtMs[i]! < sentAtMs[slot]!) slot = i;
    return slot;
  }

  /** One entry: a bubble to it, or a refusal counted. */
  function tryEntry(
    packet: Uint8Array,
    at: number,
    origin: Readonly<HairpinOrigin>,
    ipv4: number,
    port: number,
    nowMs: number,
    out: TunnelOutput,
  ): void {
    if (!isPrivateIPv4(ipv4)) return count('hairpin-refused-not-private');
    if (ipv4 === local.ipv4 && port === local.port) return count('hairpin-refused-self');
    let slot = find(origin.originIPv4 >>> 0, origin.originPort, ipv4, port);
    if (slot >= 0 && nowMs - sentAtMs[slot]! <= constants.bubbleMinIntervalMs)
      return count('hairpin-refused-paced');
    if (!limiter.allow(nowMs)) return count('hairpin-refused-rate');
    if (slot < 0) {
      slot = oldest();
      peerIPv4[slot] = origin.originIPv4;
      peerPort[slot] = origin.originPort;
      altIPv4[slot] = ipv4;
      altPort[slot] = port;
    }
    sentAtMs[slot] = nowMs;
    buildBubble(bubble, 0, {
      source: packet,
      sourceOffset: at + IPV6_DESTINATION_OFFSET,
      destination: packet,
      destinationOffset: at + IPV6_SOURCE_OFFSET,
    });
    out.sendUdp(bubble, 0, BUBBLE_BYTES, ipv4, port);
    count('hairpin-bubble-sent');
  }

  return {
    setEndpoints(localIPv4, localPort, mappedIPv4, mappedPort): void {
      local = { ipv4: localIPv4 >>> 0, port: localPort };
      mapped = { ipv4: mappedIPv4 >>> 0, port: mappedPort };
      const behindNat = isPrivateIPv4(local.ipv4) && local.ipv4 !== mapped.ipv4 && local.port !== 0;
      trailerLength = behindNat ? writeAlternateAddressTrailer(trailer, 0, [local]) : 0;
    },

    writeTrailer(out, offset): number {
      if (trailerLength === 0 || offset + trailerLength > out.length) return 0;
      out.set(trailer.subarray(0, trailerLength), offset);
      return trailerLength;
    },

    offer(trailers, packet, at, origin, nowMs, out): void {
      if (!trailers.hasAlternateAddress || trailers.alternateCount === 0) return;
      if (!origin.viaServer) return count('hairpin-refused-not-via-server');
      if (!isBubbleAt(packet, at)) return count('hairpin-refused-not-bubble');
      if (mapped.ipv4 === 0 || origin.originIPv4 >>> 0 !== mapped.ipv4)
        return count('hairpin-refused-other-nat');
      if (origin.originPort === mapped.port) return count('hairpin-refused-self');
      for (let i = 0; i < trailers.alternateCount; i++) {
        tryEntry(packet, at, origin, trailers.alternateIPv4[i]!, trailers.alternatePort[i]!, nowMs, out);
      }
    },

    accepts(pIPv4, pPort, srcIPv4, srcPort, nowMs): boolean {
      const slot = find(pIPv4 >>> 0, pPort, srcIPv4 >>> 0, srcPort);
      if (slot < 0 || nowMs - sentAtMs[slot]! > constants.peerValidityMs) return false;
      count('hairpin-peer-accepted');
      return true;
    },

    forget(): void {
      sentAtMs.fill(Number.NEGATIVE_INFINITY);
      peerIPv4.fill(0);
      peerPort.fill(0);
      altIPv4.fill(0);
      altPort.fill(0);
    },
  };
}
