/**
 * What a worker does with a packet the fast path left over: it is copied into a `slow-path`
 * message for the control plane when the worker's budgets (slow-path-budget.ts) allow it and,
 * for datagrams from anyone, while the control plane keeps up with the worker's messages (the
 * backlog, below); otherwise it is dropped and counted. The decision comes before the copy: a
 * flood over budget costs a clock read and a table lookup per packet, nothing more.
 */
import { performance } from 'node:perf_hooks';
import type { WorkerToEngine } from '../ipc/engine-worker-messages.js';
import type { SlowPathBacklog } from '../ipc/slow-path-backlog.js';
import type { PacketBatch } from '../os/packet-batch.js';
import { fromOwnServer, fromSolicitedPeer } from '../teredo/fast-path.js';
import type { FastPathContext } from '../teredo/fast-path.js';
import { TUNNEL_COUNTER } from '../teredo/tunnel-counters.js';
import type { SlowPathBudgets } from './slow-path-budget.js';

/**
 * Messages of one worker that may wait before it drops datagrams from anyone. The budgets cap a
 * rate; they assume the engine's main thread keeps up with it, which it does not when a flood
 * leaves it little CPU (src/ipc/slow-path-backlog.ts). At the 20-50 µs a flood's message costs a
 * starved main thread here, 512 per worker keep the wait under 60 ms with 2 workers, while a
 * burst of returning peers (slow-path-budget.ts) rarely meets the limit.
 */
export const BACKLOG_LIMIT = 512;

const SLOW_PATH = TUNNEL_COUNTER['slow-path'];
const OVER_SLOW_PATH_BUDGET = TUNNEL_COUNTER['drop-slow-path-budget'];
const SLOW_PATH_SOLICITED = TUNNEL_COUNTER['slow-path-solicited'];
const SLOW_PATH_BACKLOG = TUNNEL_COUNTER['drop-slow-path-backlog'];
/** admission(): the packet may go to the control plane (any other value: the counter to drop it under). */
const ADMITTED = -1;

export interface SlowPathOptions {
  readonly workerIndex: number;
  /** The fast path's context: the tunnel state of this batch, the peer table and a scratch peer. */
  readonly context: FastPathContext;
  readonly backlog: SlowPathBacklog;
  readonly budgets: SlowPathBudgets;
  /** This worker's counter row. */
  readonly counters: Float64Array;
  readonly toEngine: (message: WorkerToEngine, transfer?: ArrayBuffer[]) => void;
}

/** Hands the packet in a batch's slot to the control plane, or drops and counts it. */
export type SlowPath = (batch: PacketBatch, slot: number, length: number, from: 'tun' | 'udp') => void;

export function createSlowPath(options: SlowPathOptions): SlowPath {
  const { workerIndex, context, backlog, budgets, counters, toEngine } = options;
  const add = (index: number): void => {
    counters[index] = (counters[index] ?? 0) + 1;
  };

  /** Whether the packet may go to the control plane (it then took a token), else the counter to drop it under. */
  const admission = (batch: PacketBatch, slot: number, length: number, from: 'tun' | 'udp'): number => {
    const nowMs = performance.now();
    if (from === 'tun') return budgets.tun.take(nowMs) ? ADMITTED : OVER_SLOW_PATH_BUDGET;
    const address = batch.addresses[slot] ?? 0;
    const port = batch.ports[slot] ?? 0;
    if (fromOwnServer(context.state, address, port)) {
      return budgets.server.take(nowMs) ? ADMITTED : OVER_SLOW_PATH_BUDGET;
    }
    const behind = backlog.waiting(workerIndex) >= BACKLOG_LIMIT;
    if (!behind && budgets.udp.take(nowMs)) return ADMITTED;
    const refused = behind ? SLOW_PATH_BACKLOG : OVER_SLOW_PATH_BUDGET;
    if (!fromSolicitedPeer(context, batch.data, slot * batch.slotSize, length, address, port)) return refused;
    if (!budgets.solicited.take(nowMs)) return refused;
    add(SLOW_PATH_SOLICITED);
    return ADMITTED;
  };

  return (batch, slot, length, from) => {
    const refused = admission(batch, slot, length, from);
    if (refused !== ADMITTED) {
      add(refused);
      return;
    }
    const start = slot * batch.slotSize;
    const packet = batch.data.slice(start, start + length);
    const address = from === 'udp' ? (batch.addresses[slot] ?? 0) : 0;
    const port = from === 'udp' ? (batch.ports[slot] ?? 0) : 0;
    const localAddress = from === 'udp' ? (batch.localAddresses[slot] ?? 0) : 0;
    add(SLOW_PATH);
    toEngine({ type: 'slow-path', workerIndex, from, packet, address, port, localAddress }, [packet.buffer]);
    backlog.posted(workerIndex);
  };
}
