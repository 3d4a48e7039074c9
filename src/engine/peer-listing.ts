/**
 * `miredo-ctl peers`: the peer table read on the control-plane thread (the table's only writer,
 * so its getters are exact there), a chunk of slots at a time with the event loop free in
 * between: a million-peer relay keeps forwarding while it is listed. Every match is counted, at
 * most `limit` are described, so a reply never grows with the table.
 */
import { formatIPv4 } from '../teredo/ipv4.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import { PEER_QUEUED, PEER_SOLICITED, PEER_TRUSTED, PEER_UNPROVEN } from '../teredo/peers.js';
import type { PeerTable } from '../teredo/peers.js';
import { matchesPeerFilter } from '../ipc/control-protocol.js';
import type { NativePeer, NativePeers, PeerFilter, PeerRow, PeersReply } from '../ipc/control-protocol.js';

/** Slots visited per turn of the event loop (about 2 ms here). */
export const SLOTS_PER_TURN = 16_384;

export interface PeerListingRequest {
  readonly filter: PeerFilter | null;
  readonly limit: number;
  /** The table's clock (whole seconds), for the ages. */
  readonly nowSeconds: number;
}

const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function ageOf(nowSeconds: number, at: number): number | null {
  return at === 0 ? null : Math.max(0, (nowSeconds - at) | 0);
}

function mappingOf(table: PeerTable, slot: number): string | null {
  const ipv4 = table.mappedIPv4(slot);
  const port = table.mappedPort(slot);
  return ipv4 === 0 && port === 0 ? null : `${formatIPv4(ipv4)}:${port}`;
}

/** A native peer's alternate relay (native-relays.ts); Teredo peers never have one. */
function alternateOf(table: PeerTable, slot: number): string | null {
  const ipv4 = table.alternateIPv4(slot);
  return ipv4 === 0 ? null : `${formatIPv4(ipv4)}:${table.alternatePort(slot)}`;
}

function rowOf(table: PeerTable, slot: number, key: Uint8Array, nowSeconds: number): PeerRow {
  const flags = table.flags(slot);
  return {
    address: formatIPv6(key),
    mapping: mappingOf(table, slot),
    alternate: alternateOf(table, slot),
    trusted: (flags & PEER_TRUSTED) !== 0,
    proven: (flags & PEER_UNPROVEN) === 0,
    solicited: (flags & PEER_SOLICITED) !== 0,
    queued: (flags & PEER_QUEUED) !== 0,
    lastInSecondsAgo: ageOf(nowSeconds, table.lastRx(slot)),
    lastOutSecondsAgo: ageOf(nowSeconds, table.lastTx(slot)),
  };
}

/** An empty slot reads as the all-zero key, which no Teredo peer has (2001::/32 and the like). */
function isZero(key: Uint8Array): boolean {
  for (let i = 0; i < key.length; i += 1) if (key[i] !== 0) return false;
  return true;
}

/**
 * Visits every occupied slot whose key `match` accepts, a chunk of slots per turn of the event
 * loop. The writer may move peers between turns: a peer can be missed or seen twice, as with any
 * listing of a live table.
 */
async function scanPeers(
  table: PeerTable,
  match: (key: Uint8Array) => boolean,
  visit: (slot: number, key: Uint8Array) => void,
  slotsPerTurn: number,
): Promise<void> {
  const key = new Uint8Array(16);
  for (let start = 0; start < table.slots; start += slotsPerTurn) {
    if (start > 0) await yieldTurn();
    const end = Math.min(table.slots, start + slotsPerTurn);
    for (let slot = start; slot < end; slot += 1) {
      table.keyInto(slot, key, 0);
      if (!isZero(key) && match(key)) visit(slot, key);
    }
  }
}

export async function listPeers(
  table: PeerTable,
  request: PeerListingRequest,
  slotsPerTurn = SLOTS_PER_TURN,
): Promise<PeersReply> {
  const { filter, limit, nowSeconds } = request;
  const peers: PeerRow[] = [];
  let matched = 0;
  await scanPeers(
    table,
    (key) => filter === null || matchesPeerFilter(filter, key),
    (slot, key) => {
      matched += 1;
      if (peers.length < limit) peers.push(rowOf(table, slot, key, nowSeconds));
    },
    slotsPerTurn,
  );
  return { total: table.size(), matched, peers };
}

/**
 * `miredo-ctl status` of a client: its native IPv6 peers (outside its Teredo prefix) and the
 * relay each one's packets come through (RFC 4380 5.2.4: the relay the direct IPv6 connectivity
 * test found; null while the test has not answered).
 */
export async function listNativePeers(
  table: PeerTable,
  teredoPrefix: PeerFilter,
  limit: number,
  slotsPerTurn = SLOTS_PER_TURN,
): Promise<NativePeers> {
  const peers: NativePeer[] = [];
  let matched = 0;
  await scanPeers(
    table,
    (key) => !matchesPeerFilter(teredoPrefix, key),
    (slot, key) => {
      matched += 1;
      if (peers.length < limit)
        peers.push({
          address: formatIPv6(key),
          relay: mappingOf(table, slot),
          alternate: alternateOf(table, slot),
        });
    },
    slotsPerTurn,
  );
  return { matched, peers };
}
