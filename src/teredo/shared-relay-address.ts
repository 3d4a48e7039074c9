/**
 * A relay of a fleet whose relays share one IPv4 address and port (SharedRelayAddress, README
 * "Deployment: a relay fleet"): a client then sees one relay mapping whichever relay sends, so a
 * client that trusts one relay mapping per native peer (Miredo) accepts every relay's packets.
 *
 * The price: a relay with native packets for a client it has no state for sends its indirect
 * bubble through the client's server (RFC 4380 section 5.4.1) and waits for the client's direct
 * bubble, but that bubble goes to the shared address, which the routers may deliver to another
 * relay of the fleet. The client's NAT opened its hole for the shared address and port all the
 * same (one hole for every relay of the fleet). So `sharedAddressReleaseMs` after the bubble,
 * a relay that has not heard the client sends its queue to the client's mapping (the one its
 * address embeds, or the one it answered from before) and trusts that mapping, as if the client
 * had answered: the entry expires as usual (peerValidityMs without hearing the client), and the
 * next packet starts another bubble round.
 *
 * The delay: the direct bubble leaves the client's NAT one trip through the server after our
 * indirect bubble (relay to server to client), which is about the client's round trip to its
 * server; 200 ms covers that for most paths. A queue sent too early meets a restricted NAT's
 * closed hole and is lost; the hole opens moments later and the sender's retransmission (TCP's
 * first after 1 s, ping's next echo) passes. Nothing is trusted that the client would not
 * check: it accepts a native peer's packets only from a relay mapping it validated itself
 * (§5.2.9), and a restricted NAT passes them only through the hole the client opened.
 */
import { peerKey } from './peer-queue.js';
import { count, isTrusted, isValidAt, secondsOf, trustPeer } from './relay-context.js';
import type { CoreContext } from './relay-context.js';
import type { TunnelOutput } from './relay-types.js';

/**
 * Receive, a relay: a packet from a Teredo client it has no entry for, whose IPv4 source and port
 * are the mapping its address embeds (`direct`). A relay talks only to clients it sent to first;
 * with a shared address, the client's flow to the shared address reaches whichever relay the
 * routers pick for it, often not the one that sent to it first: the fleet sent first, so the
 * relay takes the client (its entry unproven, so it may be evicted for room). Without the
 * directive, false.
 */
export function acceptsUnknownClient(context: CoreContext, direct: boolean): boolean {
  if (context.unanswered === null || !direct) return false;
  count(context, 'shared-unknown-client-accepted');
  return true;
}

/**
 * Transmit, a relay's bubble round to the Teredo client at packet[destination..] has just gone:
 * with a shared address, its queue goes at the delay unless it answers here first.
 */
export function awaitAnswer(
  context: CoreContext,
  packet: Uint8Array,
  destination: number,
  nowMs: number,
): void {
  const { unanswered } = context;
  if (unanswered === null) return;
  if (unanswered.add(packet, destination, nowMs + context.constants.sharedAddressReleaseMs)) {
    count(context, 'shared-answer-awaited');
  } else {
    count(context, 'shared-list-full');
  }
}

/** The client at address[offset..] did not answer here in time: its queue goes to its embedded mapping. */
function release(
  context: CoreContext,
  address: Uint8Array,
  offset: number,
  nowMs: number,
  out: TunnelOutput,
): void {
  const { table } = context;
  const slot = table.find(address, offset);
  const nowSeconds = secondsOf(nowMs);
  if (slot < 0) return;
  if (isTrusted(context, slot) && isValidAt(context, slot, nowSeconds)) {
    count(context, 'shared-answered-here');
    return;
  }
  count(context, 'shared-released-unanswered');
  // The mapping the client's address embeds, or the one it answered from before (a symmetric NAT's).
  const ipv4 = table.mappedIPv4(slot);
  const port = table.mappedPort(slot);
  trustPeer(context, slot, peerKey(address, offset), ipv4, port, nowSeconds, out, false);
}

/**
 * The clients whose delay has passed at `nowMs`: each queue goes (or the client answered here);
 * returns the milliseconds until the next one is due, or -1 when none is waiting.
 */
export function releaseUnanswered(context: CoreContext, nowMs: number, out: TunnelOutput): number {
  const { unanswered } = context;
  if (unanswered === null || unanswered.size === 0) return -1;
  return unanswered.takeDue(nowMs, (address, offset) => release(context, address, offset, nowMs, out));
}
