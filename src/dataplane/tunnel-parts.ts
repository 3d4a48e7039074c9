/**
 * What the tunnel loop's two directions (tunnel-loop.ts) and its TUN offload path
 * (tun-offload-path.ts) share: the per-worker parts, the batched senders, and the fast-path
 * decision for one packet read from the TUN device. No allocation per packet.
 */
import type { PacketBatch } from '../os/packet-batch.js';
import { TUNNEL_COUNTER } from '../teredo/tunnel-counters.js';
import { fastPathFromTun } from '../teredo/fast-path.js';
import type { FastPathContext } from '../teredo/fast-path.js';
import { ipv6PacketLength } from '../teredo/ipv6-header.js';
import type { TunnelShared } from '../ipc/tunnel-shared.js';
import type { TunnelSnapshot } from '../ipc/tunnel-state.js';
import type { SlowPath } from './slow-path.js';

export const ENCAPSULATED = TUNNEL_COUNTER['encapsulated'];
export const SEND_FAILED = TUNNEL_COUNTER['send-failed'];
/** Reported with length 0: longer than a slot, so longer than any IPv6 packet or UDP payload. */
export const TX_OVERSIZED = TUNNEL_COUNTER['drop-tx-malformed'];

export type Sender = (batch: PacketBatch, first: number, count: number) => number;

/** What both directions of one worker's loop share. */
export interface LoopParts {
  readonly shared: TunnelShared;
  /** The published tunnel state, read into this copy once per batch (the context's state). */
  readonly snapshot: TunnelSnapshot;
  readonly context: FastPathContext;
  /** Per slot: 1 when the fast path moves the packet, 0 when it went to the slow path or was dropped. */
  readonly marks: Uint8Array;
  readonly slowPath: SlowPath;
  readonly add: (index: number, amount: number) => void;
}

/**
 * Sends slots first..first+count-1 with `send`, going on after a failed slot; returns how many
 * went out. A full kernel buffer (0) drops the rest: UDP and the TUN device are lossy anyway.
 */
function sendRun(send: Sender, batch: PacketBatch, first: number, count: number): number {
  let done = 0;
  let next = first;
  let left = count;
  while (left > 0) {
    const sent = send(batch, next, left);
    if (sent === 0) break;
    const step = sent > 0 ? sent : 1;
    if (sent > 0) done += sent;
    next += step;
    left -= step;
  }
  return done;
}

/**
 * Sends every maximal run of marked slots among from..to-1 and counts them under `sentCounter`
 * and `failedCounter`; returns how many went out.
 */
export function sendMarked(
  parts: LoopParts,
  send: Sender,
  batch: PacketBatch,
  marks: Uint8Array,
  from: number,
  to: number,
  sentCounter: number,
  failedCounter: number,
): number {
  let sent = 0;
  let tried = 0;
  let i = from;
  while (i < to) {
    if (marks[i] === 0) {
      i += 1;
      continue;
    }
    let end = i + 1;
    while (end < to && marks[end] === 1) end += 1;
    sent += sendRun(send, batch, i, end - i);
    tried += end - i;
    i = end;
  }
  parts.add(sentCounter, sent);
  parts.add(failedCounter, tried - sent);
  return sent;
}

/**
 * The packet read from the TUN device into slot i: marks it (1) and sets its destination when a
 * trusted peer's mapping takes it, else hands it to the slow path or drops it (0). Returns the mark.
 */
export function routeFromTun(
  parts: LoopParts,
  batch: PacketBatch,
  marks: Uint8Array,
  i: number,
  length: number,
): number {
  const { context } = parts;
  const offset = i * batch.slotSize;
  const slot = length === 0 ? -1 : fastPathFromTun(context, batch.data, offset, length);
  if (slot < 0) {
    marks[i] = 0;
    if (length > 0) parts.slowPath(batch, i, length, 'tun');
    else parts.add(TX_OVERSIZED, 1);
    return 0;
  }
  marks[i] = 1;
  batch.lengths[i] = ipv6PacketLength(batch.data, offset);
  batch.addresses[i] = context.peer.mappedIPv4;
  batch.ports[i] = context.peer.mappedPort;
  context.table.touchTx(slot, context.now);
  return 1;
}
