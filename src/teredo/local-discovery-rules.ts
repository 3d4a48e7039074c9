/**
 * The fixed values and pure checks of local client discovery (RFC 4380 section 5.2.8, "Optional
 * Local Client Discovery Procedure"; the procedure itself is local-discovery.ts). What is
 * confirmed where (README, "RFC conformance"): the group 224.0.0.253, port 3544, a bubble from
 * the client's Teredo address to ff02::1 (all nodes) sent from its service socket, and the
 * randomized interval are what Miredo's later releases do (read in its source, not copied); the
 * RFC's own text was not at hand. The on-link and same-NAT rules and the probe are ours.
 */
import { teredoClientAt } from './address.js';
import { isBubbleAt } from './bubble.js';
import { IPV6_DESTINATION_OFFSET } from './ipv6-header.js';

/** The discovery group (224.0.0.253, Miredo's TEREDO_DISCOVERY_IPV4) as a uint32. */
export const DISCOVERY_GROUP_IPV4 = 0xe00000fd;

export const LOCAL_DISCOVERY = Object.freeze({
  /**
   * Announcements go every intervalMs × [0.75, 1.5): at most 15 s apart, so a peer learnt from
   * them stays valid (30 s after its last reception) even when one is lost; randomized so that
   * clients started together (after a power cut) do not send in step. Miredo's later releases
   * wait 200-300 s, but keep local peers by other means; here one 48-byte datagram every
   * 11 s on average per client is the whole cost.
   */
  intervalMs: 10_000,
  /** An announcement answering a newcomer waits at least this long after the previous one. */
  answerDelayMs: 1_000,
  /** Discovery bubbles and local probes taken per source IPv4: sustained per second, burst. */
  perSourcePerSecond: 1,
  perSourceBurst: 4,
  /** ... and from every source together. */
  totalPerSecond: 20,
  totalBurst: 40,
  /** Buckets of the per-source limiter (sources on one link: a few hundred at most). */
  sourceBuckets: 256,
  /** A probe's answer counts only this long after the probe. */
  probeLifetimeMs: 10_000,
  /** Probes waiting for an answer; the oldest is forgotten beyond this. */
  maxPendingProbes: 64,
});

/** The IPv4 subnet of the interface discovery runs on. */
export interface LocalLink {
  /** The interface's own IPv4 (uint32). */
  readonly ipv4: number;
  /** Its prefix length, 0-32. */
  readonly prefixLength: number;
}

function maskOf(prefixLength: number): number {
  return prefixLength <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefixLength, 32))) >>> 0;
}

/**
 * Whether ipv4 is a host of the link's subnet: inside its prefix, not its network or broadcast
 * address (a /31 or /32 has neither), nor a multicast or zero address. Port 0 never is a peer.
 */
export function isOnLink(link: LocalLink, ipv4: number, port: number): boolean {
  const mask = maskOf(link.prefixLength);
  const address = ipv4 >>> 0;
  if (port === 0 || address === 0 || address >>> 28 === 0xe) return false;
  if (((address ^ link.ipv4) & mask) !== 0) return false;
  if (link.prefixLength >= 31) return true;
  const host = address & ~mask;
  return host !== 0 && host >>> 0 !== ~mask >>> 0;
}

/** Whether the checked IPv6 packet at `at` is a discovery bubble: a bubble to ff02::1. */
export function isDiscoveryBubbleAt(packet: Uint8Array, at: number): boolean {
  if (!isBubbleAt(packet, at)) return false;
  const destination = at + IPV6_DESTINATION_OFFSET;
  if (packet[destination] !== 0xff || packet[destination + 1] !== 0x02) return false;
  for (let i = 2; i < 15; i++) if (packet[destination + i] !== 0) return false;
  return packet[destination + 15] === 1;
}

/** ff02::1 into out[offset..+16). */
export function writeAllNodesMulticast(out: Uint8Array, offset: number): void {
  out.fill(0, offset, offset + 16);
  out[offset] = 0xff;
  out[offset + 1] = 0x02;
  out[offset + 15] = 0x01;
}

/**
 * Which Teredo addresses a datagram from srcIPv4 on our link may claim: those whose mapping is
 * our own NAT's public address (a client behind the same NAT) or the sender's own address (a
 * client with no NAT). Anything else would let a stranger on the link redirect our traffic to an
 * Internet peer towards itself.
 */
export function mayClaim(
  packet: Uint8Array,
  sourceOffset: number,
  ourMappedIPv4: number,
  srcIPv4: number,
): boolean {
  const mapped = teredoClientAt(packet, sourceOffset);
  return mapped === ourMappedIPv4 >>> 0 || mapped === srcIPv4 >>> 0;
}
