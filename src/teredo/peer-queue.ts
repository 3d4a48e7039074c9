/**
 * Packets held for peers that have not answered yet (reference section 5: Miredo's per-peer
 * queue of 1280 bytes). Outgoing packets wait for the peer's mapping; incoming packets (from a
 * native host, RFC 4380 receive case 6) wait for the direct connectivity test and are released
 * only if they came from the mapping it finds.
 *
 * Deliberate deviation: Miredo prepends to a singly linked list and so releases packets in
 * reverse order; these queues keep arrival order.
 *
 * Packets are copied in (callers reuse their buffers) to one fixed slab in a SharedArrayBuffer
 * (peers-queue-slab.ts), so all queues together never take more than its size, however many
 * peers there are (Miredo: 1280 bytes for each of up to 1,048,576 peers, 1.3 GB). A packet that
 * does not fit what is left of its peer's byte budget, or of the slab, is refused, and the caller
 * counts the drop under the reason enqueue returns. Queues are keyed by the peer's IPv6
 * address (see peerKey), not by peer-table slot, since slots move. The key map only holds
 * non-empty queues, each owning at least one chunk: it is bounded by the slab too.
 */
import { createQueueSlab } from './peers-queue-slab.js';
import type { QueueDirection } from './peers-queue-slab.js';

export type { QueueDirection } from './peers-queue-slab.js';

/** Default slab: 8 MiB, 30,000-odd chunks of 256 bytes (room for 6,000 full 1280-byte queues). */
export const DEFAULT_PEER_QUEUE_SLAB_BYTES = 8 * 1024 * 1024;

export interface QueuedPacket {
  readonly direction: QueueDirection;
  readonly bytes: Uint8Array;
  /** Incoming packets: the outer UDP source they came from. Outgoing: 0. */
  readonly ipv4: number;
  readonly port: number;
}

/**
 * What became of a packet offered to a queue: `peer-full`, it would take its peer's queue past
 * the per-peer budget; `slab-full`, it fits that budget but the slab shared by every queue has no
 * room left for it; `bad-region`, the region is empty or outside the buffer (a caller's bug).
 */
export type EnqueueResult = 'queued' | 'peer-full' | 'slab-full' | 'bad-region';

export interface PeerQueues {
  /** Copies bytes[offset, offset + length) to the end of `key`'s queue, unless refused. */
  enqueue(
    key: string,
    direction: QueueDirection,
    bytes: Uint8Array,
    offset: number,
    length: number,
    ipv4: number,
    port: number,
  ): EnqueueResult;
  /** Whether `key` has packets waiting. */
  has(key: string): boolean;
  /** Removes `key`'s queue and returns its packets in arrival order (empty if none). */
  take(key: string): readonly QueuedPacket[];
  /** Removes `key`'s queue; returns how many packets were dropped with it. */
  discard(key: string): number;
  /** Removes every queue; returns how many packets were dropped. */
  clear(): number;
  /** Keys that have packets waiting (a snapshot, safe to discard while iterating). */
  keys(): readonly string[];
  readonly packets: number;
  readonly bytes: number;
  /** The slab: its byteLength is all the memory the queued packets take. */
  readonly buffer: SharedArrayBuffer;
}

/** A Map key for the 16-byte IPv6 address at `offset`: eight UTF-16 code units, one per 16-bit group. */
export function peerKey(address: Uint8Array, offset: number): string {
  // One call builds a flat string: a concatenated one would be flattened on every Map lookup.
  // The groups are read inline (no helper closure): this runs for every packet of the slow path.
  return String.fromCharCode(
    addressGroup(address, offset),
    addressGroup(address, offset + 2),
    addressGroup(address, offset + 4),
    addressGroup(address, offset + 6),
    addressGroup(address, offset + 8),
    addressGroup(address, offset + 10),
    addressGroup(address, offset + 12),
    addressGroup(address, offset + 14),
  );
}

/** The 16-bit group at `at` (0 past the end). */
function addressGroup(address: Uint8Array, at: number): number {
  return ((address[at] ?? 0) << 8) | (address[at + 1] ?? 0);
}

/**
 * Queues of at most `budgetBytes` per peer in a slab of at most `slabBytes`. Throws RangeError on
 * a negative or fractional size: they come from the constants and validated configuration.
 */
export function createPeerQueues(
  budgetBytes: number,
  slabBytes: number = DEFAULT_PEER_QUEUE_SLAB_BYTES,
): PeerQueues {
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 0) {
    throw new RangeError(`queue budget must be a non-negative integer, got ${budgetBytes}`);
  }
  const slab = createQueueSlab(slabBytes);
  /** Key to the first chunk of its queue. */
  const heads = new Map<string, number>();
  let packets = 0;
  let bytes = 0;

  function drop(key: string, head: number): number {
    const count = slab.packets(head);
    packets -= count;
    bytes -= slab.bytes(head);
    slab.release(head);
    heads.delete(key);
    return count;
  }

  return {
    enqueue(key, direction, source, offset, length, ipv4, port): EnqueueResult {
      if (!Number.isInteger(length) || length <= 0 || !Number.isInteger(offset) || offset < 0) {
        return 'bad-region';
      }
      if (offset + length > source.length) return 'bad-region';
      const head = heads.get(key) ?? -1;
      if ((head < 0 ? 0 : slab.bytes(head)) + length > budgetBytes) return 'peer-full';
      const queue = slab.append(head, direction, source, offset, length, ipv4, port);
      if (queue < 0) return 'slab-full';
      if (head < 0) heads.set(key, queue);
      packets += 1;
      bytes += length;
      return 'queued';
    },
    has(key): boolean {
      return heads.has(key);
    },
    take(key): readonly QueuedPacket[] {
      const head = heads.get(key);
      if (head === undefined) return [];
      const taken: QueuedPacket[] = [];
      slab.read(head, (direction, from, offset, length, ipv4, port) => {
        taken.push({ direction, bytes: from.slice(offset, offset + length), ipv4, port });
      });
      drop(key, head);
      return taken;
    },
    discard(key): number {
      const head = heads.get(key);
      return head === undefined ? 0 : drop(key, head);
    },
    clear(): number {
      const dropped = packets;
      heads.clear();
      slab.releaseAll();
      packets = 0;
      bytes = 0;
      return dropped;
    },
    keys(): readonly string[] {
      return [...heads.keys()];
    },
    get packets(): number {
      return packets;
    },
    get bytes(): number {
      return bytes;
    },
    buffer: slab.buffer,
  };
}
