/**
 * Packets held for peers that have not answered yet (reference section 5: Miredo's per-peer
 * queue of 1280 bytes). Outgoing packets wait for the peer's mapping; incoming packets (from a
 * native host, RFC 4380 receive case 6) wait for the direct connectivity test and are released
 * only if they came from the mapping it finds.
 *
 * Deliberate deviation: Miredo prepends to a singly linked list and so releases packets in
 * reverse order; these queues keep arrival order.
 *
 * Packets are copied in (callers reuse their buffers). A packet that does not fit what is left
 * of its peer's byte budget is refused, and the caller counts the drop. Queues are keyed by the
 * peer's IPv6 address (see peerKey), not by peer-table slot, since slots move.
 */

export type QueueDirection = 'out' | 'in';

export interface QueuedPacket {
  readonly direction: QueueDirection;
  readonly bytes: Uint8Array;
  /** Incoming packets: the outer UDP source they came from. Outgoing: 0. */
  readonly ipv4: number;
  readonly port: number;
}

export interface PeerQueues {
  /** Copies bytes[offset, offset + length) to the end of `key`'s queue; false if it does not fit. */
  enqueue(
    key: string,
    direction: QueueDirection,
    bytes: Uint8Array,
    offset: number,
    length: number,
    ipv4: number,
    port: number,
  ): boolean;
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
}

/** A Map key for the 16-byte IPv6 address at `offset`: eight UTF-16 code units, one per 16-bit group. */
export function peerKey(address: Uint8Array, offset: number): string {
  let key = '';
  for (let i = 0; i < 16; i += 2) {
    key += String.fromCharCode(((address[offset + i] ?? 0) << 8) | (address[offset + i + 1] ?? 0));
  }
  return key;
}

interface Queue {
  readonly items: QueuedPacket[];
  bytes: number;
}

/** Throws RangeError on a negative or fractional budget: it comes from the constants. */
export function createPeerQueues(budgetBytes: number): PeerQueues {
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 0) {
    throw new RangeError(`queue budget must be a non-negative integer, got ${budgetBytes}`);
  }
  const queues = new Map<string, Queue>();
  let packets = 0;
  let bytes = 0;

  function drop(queue: Queue): number {
    packets -= queue.items.length;
    bytes -= queue.bytes;
    return queue.items.length;
  }

  return {
    enqueue(key, direction, source, offset, length, ipv4, port): boolean {
      const queue = queues.get(key) ?? { items: [], bytes: 0 };
      if (!(length > 0) || queue.bytes + length > budgetBytes) return false;
      const copy = source.slice(offset, offset + length);
      if (copy.length !== length) return false;
      queue.items.push({ direction, bytes: copy, ipv4: ipv4 >>> 0, port });
      queue.bytes += length;
      queues.set(key, queue);
      packets += 1;
      bytes += length;
      return true;
    },
    has(key): boolean {
      return queues.has(key);
    },
    take(key): readonly QueuedPacket[] {
      const queue = queues.get(key);
      if (queue === undefined) return [];
      queues.delete(key);
      drop(queue);
      return queue.items;
    },
    discard(key): number {
      const queue = queues.get(key);
      if (queue === undefined) return 0;
      queues.delete(key);
      return drop(queue);
    },
    clear(): number {
      const dropped = packets;
      queues.clear();
      packets = 0;
      bytes = 0;
      return dropped;
    },
    keys(): readonly string[] {
      return [...queues.keys()];
    },
    get packets(): number {
      return packets;
    },
    get bytes(): number {
      return bytes;
    },
  };
}
