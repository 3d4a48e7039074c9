/**
 * Transmission, TUN -> UDP (RFC 4380 sections 5.2.4 and 5.4.1; Miredo's teredo_transmit,
 * reference section 4.7), for packets the data plane did not send itself:
 *
 * 1. multicast destination: dropped;
 * 2. client not qualified: ICMPv6 address unreachable;
 * 3. native destination: a relay answers address unreachable; a client, administratively
 *    prohibited unless the source is a Teredo address;
 * 4. Teredo destination whose server IPv4 is 0 or not global unicast: dropped;
 * 5. a trusted peer heard from within 30 s: sent to its mapping; any other peer the packet is for
 *    counts as solicited by the local side (relay-context.ts, solicit and trustPeer);
 * 6. client, native destination: queued, and a direct connectivity ping goes through our server;
 * 7. Teredo destination: queued, and bubbles go to the peer (direct, unless we are a cone relay
 *    or a client holding back its first one: port-preserving-nat.ts) and through its server
 *    (indirect; a client sends a second one from its Teredo address: symmetric-nat.ts rule 0);
 *    a relay sharing its address with its fleet sends the queue anyway after a short delay
 *    (shared-relay-address.ts).
 * Too many unanswered pings or bubbles: address unreachable.
 */
import { isTeredoAt, teredoClientAt, teredoPortAt, teredoServerAt } from './address.js';
import { UNREACHABLE_CODE } from './constants.js';
import { isGlobalUnicastIPv4 } from './ipv4.js';
import { isMulticastIPv6At } from './ipv6-address.js';
import {
  checkIPv6Packet,
  IPV6_DESTINATION_OFFSET,
  IPV6_SOURCE_OFFSET,
  ipv6PacketLength,
} from './ipv6-header.js';
import { peerKey } from './peer-queue.js';
import {
  count,
  createPeer,
  isTrusted,
  isValidAt,
  secondsOf,
  sendBubble,
  sendUnreachable,
  solicit,
  syncFlags,
} from './relay-context.js';
import type { CoreContext } from './relay-context.js';
import { paceBubble, pacePing } from './relay-pacing.js';
import type { TunnelOutput } from './relay-types.js';
import { withholdsDirectBubble } from './port-preserving-nat.js';
import { awaitAnswer } from './shared-relay-address.js';
import { sendIntroduction } from './symmetric-nat.js';

/**
 * Longer than 80 lines: the transmit procedure of RFC 4380 sections 5.2.4 and 5.4.1 (reference
 * section 4.7) for one packet from the TUN device, its cases in the order listed at the top of
 * this file; each case's work is in relay-context.ts and relay-pacing.ts.
 */
export function transmit(
  context: CoreContext,
  packet: Uint8Array,
  offset: number,
  givenLength: number,
  nowMs: number,
  wallSeconds: number,
  out: TunnelOutput,
): void {
  if (checkIPv6Packet(packet, offset, givenLength) !== 'ok') {
    count(context, 'drop-tx-malformed');
    return;
  }
  const length = ipv6PacketLength(packet, offset);
  const destination = offset + IPV6_DESTINATION_OFFSET;
  if (isMulticastIPv6At(packet, destination)) {
    count(context, 'drop-tx-multicast');
    return;
  }
  const identity = context.identity;
  if (context.client && identity === null) {
    count(context, 'tx-not-qualified');
    sendUnreachable(context, UNREACHABLE_CODE.addressUnreachable, packet, offset, length, nowMs, out);
    return;
  }

  const teredoDestination = isTeredoAt(packet, destination, context.prefix);
  if (!teredoDestination) {
    if (!context.client) {
      // Routing sent a native destination into a relay's tunnel: a misconfiguration.
      count(context, 'tx-relay-not-teredo');
      sendUnreachable(context, UNREACHABLE_CODE.addressUnreachable, packet, offset, length, nowMs, out);
      return;
    }
    if (!isTeredoAt(packet, offset + IPV6_SOURCE_OFFSET, context.prefix)) {
      count(context, 'tx-source-not-teredo');
      sendUnreachable(
        context,
        UNREACHABLE_CODE.administrativelyProhibited,
        packet,
        offset,
        length,
        nowMs,
        out,
      );
      return;
    }
  } else {
    const server = teredoServerAt(packet, destination);
    if (server === 0 || !isGlobalUnicastIPv4(server)) {
      count(context, 'drop-tx-bad-server');
      return;
    }
  }

  const { table } = context;
  const nowSeconds = secondsOf(nowMs);
  const key = peerKey(packet, destination);
  let slot = table.find(packet, destination);
  if (slot >= 0) {
    if (isTrusted(context, slot) && isValidAt(context, slot, nowSeconds)) {
      out.sendUdp(packet, offset, length, table.mappedIPv4(slot), table.mappedPort(slot));
      table.touchTx(slot, nowSeconds);
      count(context, 'encapsulated');
      return;
    }
    // Like Miredo's list lookup, using an entry keeps it from expiring.
    table.touchTx(slot, nowSeconds);
    solicit(context, slot);
  } else {
    slot = createPeer(context, packet, destination, key, nowSeconds, 'local');
    if (slot < 0) {
      count(context, 'drop-tx-table-full');
      return;
    }
    // Bubbles go to the mapping the address embeds; a native host's entry stays 0:0 until a
    // ping reply shows which relay serves it.
    if (teredoDestination) {
      table.setMapping(slot, teredoClientAt(packet, destination), teredoPortAt(packet, destination));
    }
  }

  const queued = context.queues.enqueue(key, 'out', packet, offset, length, 0, 0);
  if (queued === 'queued') count(context, 'tx-queued');
  else count(context, queued === 'slab-full' ? 'drop-tx-slab-full' : 'drop-tx-queue-full');

  if (!teredoDestination && identity !== null) {
    const pacing = pacePing(table.pings(slot), table.lastPing(slot), nowSeconds, context.constants);
    table.setPings(slot, pacing.count, pacing.lastSeconds);
    syncFlags(context, slot, key);
    if (pacing.verdict === 'send') {
      context.packets.sendPing(identity.address, packet, destination, wallSeconds, identity.serverIPv4, out);
      count(context, 'ping-sent');
    } else if (pacing.verdict === 'wait') {
      count(context, 'ping-paced');
    } else {
      count(context, 'tx-ping-limit');
      sendUnreachable(context, UNREACHABLE_CODE.addressUnreachable, packet, offset, length, nowMs, out);
    }
    return;
  }

  const pacing = paceBubble(table.bubbles(slot), table.lastBubble(slot), nowSeconds, context.constants);
  table.setBubbles(slot, pacing.count, pacing.lastSeconds);
  syncFlags(context, slot, key);
  if (pacing.verdict === 'send') {
    if (!context.cone && !withholdsDirectBubble(context, packet, destination, pacing.count, nowMs)) {
      sendBubble(context, packet, destination, false, out);
    }
    sendBubble(context, packet, destination, true, out);
    if (identity !== null) sendIntroduction(context, identity, packet, destination, out);
    else awaitAnswer(context, packet, destination, nowMs);
  } else if (pacing.verdict === 'wait') {
    count(context, 'bubble-paced');
  } else {
    count(context, 'tx-bubble-limit');
    sendUnreachable(context, UNREACHABLE_CODE.addressUnreachable, packet, offset, length, nowMs, out);
  }
}
