/**
 * The TUN → UDP direction's offload path, for a TUN queue with a virtio header: each packet's
 * header says whether it is plain, needs its checksum completed (done in place), or is a TCP or
 * UDP super-packet, which is cut into segments (src/teredo/tun-offload.ts) in a batch of its own
 * and sent from there (UDP GSO merges them again on the wire side), in rounds of SEGMENT_SLOTS.
 * Counted: super-packets, segments, checksums completed, and each refusal by its reason.
 */
import { packetBatchByteLength, packetBatchOver } from '../os/packet-batch.js';
import type { PacketBatch } from '../os/packet-batch.js';
import { TUNNEL_COUNTER } from '../teredo/tunnel-counters.js';
import {
  OFFLOAD_CHECKSUM,
  OFFLOAD_DROP_COUNTERS,
  VNET_HEADER_BYTES,
  completeChecksum,
  offloadKind,
  segmentCount,
  segmentPlan,
  vnetGsoSize,
  writeSegments,
} from '../teredo/tun-offload.js';
import { ENCAPSULATED, SEND_FAILED, routeFromTun, sendMarked } from './tunnel-parts.js';
import type { LoopParts, Sender } from './tunnel-parts.js';

/** Holds a 64 KiB super-packet with its IPv6 header (the kernel's legacy GSO limit is 64 KiB). */
export const OFFLOAD_SLOT_BYTES = 65536 + 64;
/** Segments cut per round; 64 KiB of 1220-byte segments is 54. */
export const SEGMENT_SLOTS = 64;

const GSO_PACKETS = TUNNEL_COUNTER['tun-gso-packets'];
const GSO_SEGMENTS = TUNNEL_COUNTER['tun-gso-segments'];
const CHECKSUMS = TUNNEL_COUNTER['tun-checksums-completed'];

export interface TunOffloadPath {
  /** The batch to read the TUN queue into: its slots hold a super-packet. */
  readonly batch: PacketBatch;
  /** Where readTunBatch puts each slot's virtio_net_hdr. */
  readonly headers: Uint8Array;
  /**
   * Slot i of a read batch, before the fast path: completes its checksum if asked and returns
   * OFFLOAD_SEGMENT (cut it with `segment`), 0 (go on as a plain packet) or a drop reason (< 0,
   * counted).
   */
  prepare(batch: PacketBatch, i: number, length: number): number;
  /** Cuts the super-packet in slot i, routes each segment and sends those for trusted peers. */
  segment(batch: PacketBatch, i: number, length: number): void;
}

/** `readSlots`: the read batch's slots; `segmentBytes`: an output slot, at least the interface MTU. */
export function createTunOffloadPath(
  parts: LoopParts,
  sendUdp: Sender,
  sent: () => void,
  readSlots: number,
  segmentBytes: number,
): TunOffloadPath {
  const headers = new Uint8Array(readSlots * VNET_HEADER_BYTES);
  // One buffer for the read batch and the segments, so that payloads move with copyWithin.
  const readBytes = packetBatchByteLength(readSlots, OFFLOAD_SLOT_BYTES);
  const buffer = new ArrayBuffer(readBytes + packetBatchByteLength(SEGMENT_SLOTS, segmentBytes));
  const readBatch = packetBatchOver(buffer, readSlots, OFFLOAD_SLOT_BYTES);
  const segments = packetBatchOver(buffer, SEGMENT_SLOTS, segmentBytes, readBytes);
  const all = new Uint8Array(buffer);
  const output = { data: all, base: readBytes, slotSize: segmentBytes, lengths: segments.lengths };
  const marks = new Uint8Array(SEGMENT_SLOTS);
  const drop = (reason: number): number => {
    parts.add(OFFLOAD_DROP_COUNTERS[-reason - 1] ?? 0, 1);
    return reason;
  };
  return {
    batch: readBatch,
    headers,
    prepare(batch, i, length) {
      const at = i * VNET_HEADER_BYTES;
      const kind = offloadKind(headers, at);
      if (kind === OFFLOAD_CHECKSUM) {
        const done = completeChecksum(batch.data, i * batch.slotSize, length, headers, at);
        if (done < 0) return drop(done);
        parts.add(CHECKSUMS, 1);
        return 0;
      }
      return kind < 0 ? drop(kind) : kind;
    },
    segment(batch, i, length) {
      const at = i * VNET_HEADER_BYTES;
      const offset = i * batch.slotSize;
      const headerBytes = segmentPlan(batch.data, offset, length, headers, at, segments.slotSize);
      if (headerBytes < 0) {
        drop(headerBytes);
        return;
      }
      const total = segmentCount(length, headerBytes, vnetGsoSize(headers, at));
      parts.add(GSO_PACKETS, 1);
      parts.add(GSO_SEGMENTS, total);
      for (let first = 0; first < total; first += SEGMENT_SLOTS) {
        const count = Math.min(SEGMENT_SLOTS, total - first);
        const from = batch.data.byteOffset + offset;
        writeSegments(all, from, length, headers, at, headerBytes, first, count, output, 0);
        let fast = 0;
        for (let k = 0; k < count; k++)
          fast += routeFromTun(parts, segments, marks, k, segments.lengths[k] ?? 0);
        if (fast > 0) {
          sendMarked(parts, sendUdp, segments, marks, 0, count, ENCAPSULATED, SEND_FAILED);
          sent();
        }
      }
    },
  };
}
