/**
 * A client's native IPv6 peer whose relay has gone silent. RFC 4380 (and Miredo) keep sending to
 * a native peer's relay until 30 s pass without a packet from the peer (isValidAt): a relay
 * that died, or came back on another port, swallows everything the client sends for up to 30 s.
 *
 * Here a native peer that we sent to within the last second, but that has sent nothing for
 * SILENT_RELAY_SECONDS, gets a fresh direct connectivity test (RFC 4380 section 5.2.9) through
 * the server, at most one per SILENT_RELAY_SECONDS. Its authenticated reply comes through the
 * relay that serves the peer now and moves the peer to it (relay-receive.ts, trustPeer: the same
 * proof as any first test). The relay in use keeps carrying our packets meanwhile, and the
 * peer's ping budget is not spent: a flow that is one-way by nature costs one Echo Request per
 * SILENT_RELAY_SECONDS and keeps Miredo's 30 s rule for everything else.
 */
import { isTeredoAt } from './address.js';
import { PEER_TRUSTED } from './peers-layout.js';
import { count } from './relay-context.js';
import { stampAgeSeconds } from './relay-pacing.js';
import type { CoreContext } from './relay-context.js';
import type { TunnelOutput } from './relay-types.js';

export const SILENT_RELAY_SECONDS = 3;
/**
 * Tests per call (per second) at most, for the whole client: the server forwards each one, and a
 * client with many one-way flows must not turn them into a stream of tests. The scan resumes
 * where the budget stopped it, so every silent peer gets its turn.
 */
export const SILENT_RELAY_TESTS_PER_SECOND = 8;

/** Signed, like the table's ages: a stamp a tick ahead of us (another thread's clock) is "now". */
function age(nowSeconds: number, thenSeconds: number): number {
  return (nowSeconds - thenSeconds) | 0;
}

/**
 * Sends a test to each trusted native peer that we still send to but that has been silent for
 * SILENT_RELAY_SECONDS (the table's writer thread, once a second), at most
 * SILENT_RELAY_TESTS_PER_SECOND, visiting the slots from `from` on (wrapping); returns where the
 * next call starts. `scratch` holds 16 bytes. Nothing for a relay, or a client without an address.
 */
export function retestSilentRelays(
  context: CoreContext,
  nowSeconds: number,
  wallSeconds: number,
  scratch: Uint8Array,
  out: TunnelOutput,
  from = 0,
): number {
  const { identity, table } = context;
  if (!context.client || identity === null) return 0;
  const slots = table.slots;
  const start = from >= 0 && from < slots ? from : 0;
  let sent = 0;
  for (let visited = 0; visited < slots; visited++) {
    const slot = start + visited < slots ? start + visited : start + visited - slots;
    if (sent === SILENT_RELAY_TESTS_PER_SECOND) return slot;
    if ((table.flags(slot) & PEER_TRUSTED) === 0) continue;
    if (age(nowSeconds, table.lastTx(slot)) > 1) continue;
    if (age(nowSeconds, table.lastRx(slot)) < SILENT_RELAY_SECONDS) continue;
    if (table.pings(slot) > 0 && stampAgeSeconds(nowSeconds, table.lastPing(slot)) < SILENT_RELAY_SECONDS) {
      continue;
    }
    table.keyInto(slot, scratch, 0);
    // A Teredo peer is reached at the mapping its address embeds: no relay to replace.
    if (isTeredoAt(scratch, 0, context.prefix)) continue;
    table.setPings(slot, Math.max(table.pings(slot), 1), nowSeconds);
    context.packets.sendPing(identity.address, scratch, 0, wallSeconds, identity.serverIPv4, out);
    count(context, 'ping-silent-relay');
    sent++;
  }
  return start;
}
