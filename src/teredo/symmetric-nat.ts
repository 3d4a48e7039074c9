/**
 * RFC 6081 symmetric NAT support extension, on the side of the peer that talks to a client
 * behind a symmetric NAT (the RFC's section 6.1 example, read in its text; the processing
 * sections, 3.1 and 5.2 as we recall the table of contents, could not be read). This follows the
 * example's packet sequence, not the text of its rules; no Nonce trailer is used (Miredo's HMAC
 * interface ID plays its part: see below).
 *
 * B behind a symmetric NAT sends its bubbles towards us from a port that is not the one in its
 * address; our answers to the port in its address are dropped by its NAT. Three rules make the
 * exchange of the example's packets 3, 4 and 7 happen:
 * 0. (packet 2) Our bubbles come from fe80::<HMAC interface ID> (Miredo's way: the answer to one
 *    proves itself), which does not tell the peer who we are; so each round of bubbles from a
 *    client also sends one indirect bubble from our Teredo address, as RFC 4380 bubbles are;
 * 1. (packet 4) An indirect bubble from a Teredo address reaches us through our server while we
 *    have no trusted path to it: besides the RFC 4380 reply bubble to its origin, one indirect
 *    bubble (from our interface ID for the peer) goes back through the peer's server. The peer answers it with a reply bubble straight
 *    to our mapping, from the port its NAT uses towards us, addressed to the interface ID our
 *    bubbles carry for it (relay-receive.ts case 5 then trusts that port).
 * 2. (packet 7) When we accept a peer at a mapping other than the one its address embeds (a
 *    bubble to our interface ID arrived from there), one bubble from our Teredo address goes to
 *    that mapping: it reaches the peer from the mapping in our address, so it trusts us too,
 *    even when it has nothing queued for us.
 *
 * Security (nothing here makes us send to a host we have no bubble exchange with): rule 1 answers
 * only an indirect bubble whose origin, as our server saw it, is the IPv4 the peer's address
 * embeds, and sends to that peer's own server; it is paced with the peer's bubbles (RFC 4380:
 * more than 2 s apart, 4 then a 300 s pause). Rule 2 sends only to the outer source of a bubble
 * that carried our HMAC interface ID for the peer, which only a receiver of our bubbles to that
 * peer can know. Both draw on one per-tunnel budget (`traversalBubblesPerSecond`); every refusal
 * is counted. Rule 0 adds one bubble, to the server of a peer the local side is already
 * bubbling, to each paced round.
 */
import { teredoClientAt, teredoServerAt } from './address.js';
import { peerKey } from './peer-queue.js';
import {
  count,
  createPeer,
  isTrusted,
  isValidAt,
  secondsOf,
  sendBubble,
  syncFlags,
} from './relay-context.js';
import type { CoreContext } from './relay-context.js';
import { paceBubble } from './relay-pacing.js';
import type { ClientIdentity, TunnelOutput } from './relay-types.js';

/** Rule 0, on a client's round of bubbles to the Teredo address at packet[destination..]. */
export function sendIntroduction(
  context: CoreContext,
  identity: ClientIdentity,
  packet: Uint8Array,
  destination: number,
  out: TunnelOutput,
): void {
  const server = teredoServerAt(packet, destination);
  const { port } = context.constants;
  if (context.packets.sendBubbleBetween(identity.address, 0, packet, destination, server, port, out)) {
    count(context, 'bubble-sent');
  } else {
    count(context, 'drop-bubble-not-global');
  }
}

/**
 * Rule 1, for an indirect bubble from the Teredo address at packet[source..] that our server
 * relayed from `originIPv4` (its origin indication).
 */
export function answerIndirectBubble(
  context: CoreContext,
  packet: Uint8Array,
  source: number,
  originIPv4: number,
  nowMs: number,
  out: TunnelOutput,
): void {
  const { table } = context;
  const nowSeconds = secondsOf(nowMs);
  let slot = table.find(packet, source);
  if (slot >= 0 && isTrusted(context, slot) && isValidAt(context, slot, nowSeconds)) return;
  if (teredoClientAt(packet, source) !== originIPv4 >>> 0) {
    count(context, 'bubble-back-refused-origin');
    return;
  }
  const key = peerKey(packet, source);
  if (slot < 0) {
    slot = createPeer(context, packet, source, key, nowSeconds, 'network');
    if (slot < 0) {
      count(context, 'bubble-back-table-full');
      return;
    }
  }
  const pacing = paceBubble(table.bubbles(slot), table.lastBubble(slot), nowSeconds, context.constants);
  if (pacing.verdict !== 'send') {
    count(context, 'bubble-back-paced');
    return;
  }
  if (!context.traversalLimiter.allow(nowMs)) {
    count(context, 'traversal-rate-limited');
    return;
  }
  table.setBubbles(slot, pacing.count, pacing.lastSeconds);
  syncFlags(context, slot, key);
  sendBubble(context, packet, source, true, out);
  count(context, 'bubble-back-sent');
}

/**
 * Rule 2: the peer at packet[source..] was just trusted at (ipv4, port), which its address does
 * not embed.
 */
export function greetLearntMapping(
  context: CoreContext,
  identity: ClientIdentity,
  packet: Uint8Array,
  source: number,
  ipv4: number,
  port: number,
  nowMs: number,
  out: TunnelOutput,
): void {
  if (!context.traversalLimiter.allow(nowMs)) {
    count(context, 'traversal-rate-limited');
    return;
  }
  if (context.packets.sendBubbleBetween(identity.address, 0, packet, source, ipv4, port, out)) {
    count(context, 'learnt-mapping-bubble-sent');
  } else {
    count(context, 'drop-bubble-not-global');
  }
}
