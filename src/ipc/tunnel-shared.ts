/**
 * The ONE SharedArrayBuffer the client's and relay's control plane shares with its data-plane
 * workers (DataplaneTask.shared):
 *
 *   bytes 0..63    tunnel state (tunnel-state.ts): seqlocked identity words and the coarse clock
 *   bytes 64..575  slow-path backlog (slow-path-backlog.ts): messages posted and taken, per worker
 *   bytes 576..    peer table (src/teredo/peers.ts), formatted in place by the control plane
 *
 * Multiples of 64 bytes keep the table's records on cache lines. The control plane writes the
 * state and the table; workers read them lock-free and touch peers' rx/tx times.
 */
import { adviseHugePages } from '../os/memory.js';
import type { HugePageAdvice } from '../os/memory.js';
import { attachPeerTable, initPeerTable, peerTableByteLength } from '../teredo/peers.js';
import type { PeerTable } from '../teredo/peers.js';
import { SLOW_PATH_BACKLOG_BYTES, slowPathBacklogOver } from './slow-path-backlog.js';
import type { SlowPathBacklog } from './slow-path-backlog.js';
import { TUNNEL_STATE_BYTES, tunnelStateOver } from './tunnel-state.js';
import type { TunnelState } from './tunnel-state.js';

export { createPeerSnapshot } from '../teredo/peers.js';

export const BACKLOG_OFFSET = TUNNEL_STATE_BYTES;
export const PEER_TABLE_OFFSET = BACKLOG_OFFSET + SLOW_PATH_BACKLOG_BYTES;

export interface TunnelShared {
  readonly buffer: SharedArrayBuffer;
  readonly state: TunnelState;
  readonly backlog: SlowPathBacklog;
  readonly table: PeerTable;
}

export interface NewTunnelShared extends TunnelShared {
  /** Whether the kernel took the huge-page advice for the buffer (workers look peers up at random in it). */
  readonly hugePages: HugePageAdvice;
}

/**
 * A new buffer: inactive state, empty table of `capacity` peers (`seed` fixes its hash key, for
 * tests), with transparent huge pages asked for before any of its pages is touched: at a million
 * peers that raises a worker's lookups from about 2.2 M/s to 3 M/s here (fewer TLB misses).
 */
export function createTunnelShared(capacity: number, seed?: number): NewTunnelShared {
  const buffer = new SharedArrayBuffer(PEER_TABLE_OFFSET + peerTableByteLength(capacity));
  const hugePages = adviseHugePages(buffer);
  return {
    buffer,
    state: tunnelStateOver(buffer, 0),
    backlog: slowPathBacklogOver(buffer, BACKLOG_OFFSET),
    table: initPeerTable(buffer, PEER_TABLE_OFFSET, capacity, seed, true),
    hugePages,
  };
}

/** A worker's view of a buffer made by createTunnelShared; throws if it is not one. */
export function attachTunnelShared(buffer: SharedArrayBuffer): TunnelShared {
  return {
    buffer,
    state: tunnelStateOver(buffer, 0),
    backlog: slowPathBacklogOver(buffer, BACKLOG_OFFSET),
    table: attachPeerTable(buffer, PEER_TABLE_OFFSET),
  };
}
