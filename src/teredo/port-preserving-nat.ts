/**
 * RFC 6081 port-preserving symmetric NAT extension (the RFC's section 3.3 overview and 5.4
 * processing, numbers as we recall its table of contents; the text of neither could be read
 * here). This follows the extension's intent, not its text.
 *
 * A port-preserving symmetric NAT gives its client's port to every new destination, unless that
 * destination already sent to the port: the unsolicited datagram's connection-tracking entry then
 * holds the port towards that sender, and the client's own flow to it leaves from another port
 * (the lab shows it: nat-kinds.test.ts). Under RFC 4380 our first direct bubble reaches the peer's
 * NAT before the peer has sent anything to us, so a peer behind such a NAT answers from a port
 * our NAT does not expect. Hence, on the first bubble of a round to a Teredo peer, a client sends
 * only the indirect bubble and holds the direct one back until:
 * - an indirect bubble from the peer reaches us through our server (our peers send one back:
 *   symmetric-nat.ts rule 1): its reply bubble to our mapping, sent just before, has left its
 *   NAT; or
 * - `directBubbleFallbackMs` has passed (a peer that sends none, such as Miredo 1.2.6): then
 *   the direct bubble and a second indirect one go, and the answer to that indirect bubble
 *   passes our NAT, which the direct bubble has just opened.
 * Either way the withheld bubble goes once, to the mapping in the peer's own address.
 *
 * Only when the NAT type probe found that no stranger can take our port at our NAT (nat-type.ts,
 * portSurvivesStrangers: 'cone', or 'cone-port-preserving' through the stranger test). Behind a
 * port-preserving symmetric NAT the rule turns against us: the peer's answer then reaches our NAT
 * before our direct bubble and holds our port towards the peer (the lab shows it: our client
 * behind one, speaking first, no longer reaches Miredo behind a full or address-restricted cone,
 * nor ours behind a port-restricted cone). Only the stranger test tells the two NATs apart (both
 * keep our port for both server addresses); where it could not run, the direct bubble goes first,
 * as in RFC 4380.
 */
import { isTeredoAt } from './address.js';
import { portSurvivesStrangers } from './nat-type.js';
import { isTrusted, isValidAt, count, secondsOf, sendBubble } from './relay-context.js';
import type { CoreContext } from './relay-context.js';
import type { TunnelOutput } from './relay-types.js';

/**
 * Transmit, on a bubble round to the Teredo address at packet[destination..]: whether its direct
 * bubble is held back (true: send only the indirect one). `roundCount` is the bubble count the
 * pacing just took: 1 for the first bubble of a round.
 */
export function withholdsDirectBubble(
  context: CoreContext,
  packet: Uint8Array,
  destination: number,
  roundCount: number,
  nowMs: number,
): boolean {
  if (!context.client || context.identity === null || !portSurvivesStrangers(context.natType)) return false;
  if (roundCount !== 1) {
    // A later bubble of the round carries its direct bubble: nothing is left to release.
    context.withheld.take(packet, destination);
    return false;
  }
  if (!context.withheld.add(packet, destination, nowMs + context.constants.directBubbleFallbackMs)) {
    count(context, 'withheld-list-full');
    return false;
  }
  count(context, 'direct-bubble-withheld');
  return true;
}

/** The withheld bubbles to the peer at packet[address..]: direct, and indirect once more, unless it answered. */
function release(
  context: CoreContext,
  packet: Uint8Array,
  address: number,
  nowMs: number,
  out: TunnelOutput,
): boolean {
  const slot = context.table.find(packet, address);
  if (slot < 0 || (isTrusted(context, slot) && isValidAt(context, slot, secondsOf(nowMs)))) {
    count(context, 'withheld-dropped');
    return false;
  }
  sendBubble(context, packet, address, false, out);
  sendBubble(context, packet, address, true, out);
  return true;
}

/**
 * Receive, an indirect bubble through our server from (originIPv4, originPort), its source at
 * packet[source..]: if the direct bubble to that peer was held back, it goes now; true then
 * (the peer needs no bubble back). The peer is the bubble's Teredo source or, for a bubble
 * from an interface ID (ours and Miredo's), the held peer whose address embeds the origin.
 */
export function releaseOnPeerBubble(
  context: CoreContext,
  packet: Uint8Array,
  source: number,
  originIPv4: number,
  originPort: number,
  nowMs: number,
  out: TunnelOutput,
): boolean {
  const { withheld } = context;
  if (withheld.size === 0) return false;
  const released = (address: Uint8Array, offset: number): void => {
    if (release(context, address, offset, nowMs, out)) count(context, 'withheld-released-by-peer');
  };
  if (isTeredoAt(packet, source, context.prefix)) {
    if (!withheld.take(packet, source)) return false;
    released(packet, source);
    return true;
  }
  return withheld.takeMapping(originIPv4, originPort, released);
}

/**
 * The withheld bubbles whose fallback delay has passed at `nowMs` go out; returns the
 * milliseconds until the next one is due, or -1 when none is held.
 */
export function sendDueDirectBubbles(context: CoreContext, nowMs: number, out: TunnelOutput): number {
  if (context.withheld.size === 0) return -1;
  return context.withheld.takeDue(nowMs, (address, offset) => {
    if (release(context, address, offset, nowMs, out)) count(context, 'withheld-released-on-timeout');
  });
}
