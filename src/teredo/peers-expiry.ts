/**
 * The peer table's incremental expiry (the control plane's thread only): a clock hand visits a
 * budget of slots per call, scattered over the table, and removes idle peers. SharedPeerTable is
 * the whole table: readers (peers-reader.ts), writer (peers-writer.ts) and this.
 */
import {
  HEADER_SWEEP_HAND,
  RECORD_CREATED_AT,
  RECORD_FLAGS,
  RECORD_LAST_RX,
  RECORD_LAST_TX,
  recordBase,
} from './peers-layout.js';
import { PeerTableWriter } from './peers-writer.js';
import type { PeerRemovalListener } from './peers-writer.js';

/**
 * How far the expiry hand jumps between visits: about 0.618 of the table, coprime with the slot
 * count, so a turn still visits every slot once. A hand moving slot by slot would free a band of
 * slots behind it; new peers would then fill that band whatever their home slots, ages would
 * follow positions, and under a sustained flood at capacity the table would become one cluster
 * that lookups walk end to end (measured: probe chains of 80% of the table). Scattered visits
 * scatter the holes, and clusters stay as short as in a randomly filled table. A record that a
 * removal shifts from an unvisited slot into a visited one waits for the next turn.
 */
export function sweepStride(slots: number): number {
  let stride = Math.max(1, Math.round(slots * 0.6180339887));
  while (greatestCommonDivisor(stride, slots) !== 1) stride++;
  return stride % slots;
}

function greatestCommonDivisor(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** Slots per expire() call, called every `tickSeconds`, for the hand to complete a turn every `roundSeconds`. */
export function sweepBudget(
  table: { readonly slots: number },
  roundSeconds: number,
  tickSeconds = 1,
): number {
  return Math.max(1, Math.ceil((table.slots * tickSeconds) / Math.max(tickSeconds, roundSeconds)));
}

export class SharedPeerTable extends PeerTableWriter {
  private readonly stride: number;

  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    super(buffer, byteOffset);
    this.stride = sweepStride(this.slots);
  }

  expire(nowSeconds: number, idleSeconds: number, budget: number, onRemove?: PeerRemovalListener): number {
    const words = this.words;
    const visits = Math.min(Math.floor(budget), this.slots);
    let hand = words[HEADER_SWEEP_HAND]!;
    if (!this.inRange(hand)) hand = 0;
    let removed = 0;
    for (let visited = 0; visited < visits;) {
      if (words[recordBase(hand) + RECORD_FLAGS] !== 0 && this.idle(hand, nowSeconds, idleSeconds)) {
        onRemove?.(hand);
        this.removeAt(hand);
        removed++;
        continue; // a later record of the chain may have moved into this slot: visit it again
      }
      hand = hand + this.stride >= this.slots ? hand + this.stride - this.slots : hand + this.stride;
      visited++;
    }
    words[HEADER_SWEEP_HAND] = hand;
    return removed;
  }

  private idle(slot: number, nowSeconds: number, idleSeconds: number): boolean {
    const base = recordBase(slot);
    const words = this.words;
    return (
      ((nowSeconds - words[base + RECORD_CREATED_AT]!) | 0) > idleSeconds &&
      ((nowSeconds - words[base + RECORD_LAST_RX]!) | 0) > idleSeconds &&
      ((nowSeconds - words[base + RECORD_LAST_TX]!) | 0) > idleSeconds
    );
  }
}
