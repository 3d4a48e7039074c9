/**
 * The fixed slab that holds every queued packet of the peer queues (peer-queue.ts), in one
 * SharedArrayBuffer: total queue memory is set once, whatever the number of peers. Writer thread
 * only (the control plane); nothing here is read by other threads.
 *
 * Layout, all Int32 words:
 *   header (64 bytes)       magic, chunk count, free-list head + 1, chunks never used yet,
 *                           chunks free (free list + never used)
 *   descriptors             4 words per chunk, meaningful for a queue's first chunk only:
 *                           last chunk, next free word in it, packets, bytes
 *   chunks (256 bytes)      word 0: next chunk of the queue (or of the free list) + 1, 0 = none;
 *                           words 1..63: the queue's packets as one stream
 * A packet in the stream: three words (length, outer IPv4, port | direction << 16), then its
 * bytes padded to a whole word. Both may straddle chunks, so a queue wastes less than one chunk.
 * Chunks never used yet are handed out from a counter, so the pages of an idle slab are never
 * touched (and never become resident).
 */
import { TEREDO_CONSTANTS } from './constants.js';

export const QUEUE_CHUNK_BYTES = 256;
const CHUNK_WORDS = QUEUE_CHUNK_BYTES / 4;
/** Words of packet stream per chunk. */
const DATA_WORDS = CHUNK_WORDS - 1;
const PACKET_HEADER_WORDS = 3;
const DESCRIPTOR_WORDS = 4;
const HEADER_WORDS = 16;
const SLAB_MAGIC = 0x51554555; // 'QUEU'

const HEADER_MAGIC = 0;
const HEADER_CHUNKS = 1;
const HEADER_FREE_LIST = 2;
const HEADER_NEVER_USED = 3;
const HEADER_FREE = 4;

const DESCRIPTOR_TAIL = 0;
const DESCRIPTOR_TAIL_WORD = 1;
const DESCRIPTOR_PACKETS = 2;
const DESCRIPTOR_BYTES = 3;

/** Slab bytes each chunk costs: the chunk and its descriptor. */
const BYTES_PER_CHUNK = QUEUE_CHUNK_BYTES + DESCRIPTOR_WORDS * 4;

export type QueueDirection = 'out' | 'in';

/** Where the next word of a stream is read or written. */
interface Cursor {
  chunk: number;
  word: number;
}

/** Chunks in a slab of at most `slabBytes` bytes. */
export function queueSlabChunks(slabBytes: number): number {
  return Math.max(0, Math.floor((slabBytes - HEADER_WORDS * 4) / BYTES_PER_CHUNK));
}

/** A packet read back from the slab, handed to the visitor of QueueSlab.read. */
export type PacketVisitor = (
  direction: QueueDirection,
  source: Uint8Array,
  offset: number,
  length: number,
  ipv4: number,
  port: number,
) => void;

export interface QueueSlab {
  readonly buffer: SharedArrayBuffer;
  readonly chunks: number;
  /** Chunks not holding any packet. */
  freeChunks(): number;
  /**
   * Appends a packet to the queue starting at `head` (-1: a new queue). Returns the queue's head
   * (the new one if head was -1), or -1 if the slab has not enough free chunks (nothing changes).
   * The caller has checked `length` > 0 and the bounds of source[offset, offset + length).
   */
  append(
    head: number,
    direction: QueueDirection,
    source: Uint8Array,
    offset: number,
    length: number,
    ipv4: number,
    port: number,
  ): number;
  packets(head: number): number;
  bytes(head: number): number;
  /** Visits the queue's packets in arrival order; `source` is only valid during the call. */
  read(head: number, visit: PacketVisitor): void;
  /** Returns the queue's chunks to the free list. */
  release(head: number): void;
  /** Frees every chunk at once. */
  releaseAll(): void;
}

/** Throws RangeError for a slab size that is not a non-negative safe integer (programming error). */
/**
 * Longer than 80 lines: one allocator over one Int32Array: the free list, the queue descriptors and
 * the packet cursors are words of that array that all its methods share; split, each part would
 * pass the same views around on every queued packet.
 */
export function createQueueSlab(slabBytes: number): QueueSlab {
  if (!Number.isSafeInteger(slabBytes) || slabBytes < 0) {
    throw new RangeError(`queue slab size must be a non-negative integer, got ${slabBytes}`);
  }
  const chunks = queueSlabChunks(slabBytes);
  const descriptorsAt = HEADER_WORDS;
  const chunksAt = descriptorsAt + chunks * DESCRIPTOR_WORDS;
  const buffer = new SharedArrayBuffer((chunksAt + chunks * CHUNK_WORDS) * 4);
  const words = new Int32Array(buffer);
  const bytes = new Uint8Array(buffer);
  words[HEADER_MAGIC] = SLAB_MAGIC;
  words[HEADER_CHUNKS] = chunks;
  words[HEADER_FREE] = chunks;
  const cursor: Cursor = { chunk: 0, word: 0 };

  const chunkBase = (chunk: number): number => chunksAt + chunk * CHUNK_WORDS;
  const descriptor = (head: number): number => descriptorsAt + head * DESCRIPTOR_WORDS;

  /** A free chunk, unlinked; the caller has checked that one is free. */
  function allocate(): number {
    words[HEADER_FREE]!--;
    const listed = words[HEADER_FREE_LIST]! - 1;
    let chunk: number;
    if (listed >= 0) {
      chunk = listed;
      words[HEADER_FREE_LIST] = words[chunkBase(chunk)]!;
    } else {
      chunk = words[HEADER_NEVER_USED]!++;
    }
    words[chunkBase(chunk)] = 0;
    return chunk;
  }

  /** Moves the cursor to the next chunk when its own is full: the next one of the chain, or a new one. */
  function roomAt(at: Cursor, grow: boolean): void {
    if (at.word < CHUNK_WORDS) return;
    const base = chunkBase(at.chunk);
    let next = words[base]! - 1;
    if (next < 0 && grow) {
      next = allocate();
      words[base] = next + 1;
    }
    at.chunk = next;
    at.word = 1;
  }

  function writeWord(at: Cursor, value: number): void {
    roomAt(at, true);
    words[chunkBase(at.chunk) + at.word] = value;
    at.word++;
  }

  function readWord(at: Cursor): number {
    roomAt(at, false);
    return words[chunkBase(at.chunk) + at.word++]!;
  }

  /** Copies source[offset, offset + length) into the stream at the cursor, padded to whole words. */
  function writeBytes(at: Cursor, source: Uint8Array, offset: number, length: number): void {
    for (let done = 0; done < length;) {
      roomAt(at, true);
      const count = Math.min(length - done, (CHUNK_WORDS - at.word) * 4);
      bytes.set(source.subarray(offset + done, offset + done + count), (chunkBase(at.chunk) + at.word) * 4);
      at.word += Math.ceil(count / 4);
      done += count;
    }
  }

  function readBytes(at: Cursor, target: Uint8Array, length: number): void {
    for (let done = 0; done < length;) {
      roomAt(at, false);
      const count = Math.min(length - done, (CHUNK_WORDS - at.word) * 4);
      const from = (chunkBase(at.chunk) + at.word) * 4;
      target.set(bytes.subarray(from, from + count), done);
      at.word += Math.ceil(count / 4);
      done += count;
    }
  }

  let readScratch = new Uint8Array(0);

  return {
    buffer,
    chunks,
    freeChunks: () => words[HEADER_FREE]!,

    append(head, direction, source, offset, length, ipv4, port): number {
      const streamWords = PACKET_HEADER_WORDS + Math.ceil(length / 4);
      const room = head < 0 ? 0 : CHUNK_WORDS - words[descriptor(head) + DESCRIPTOR_TAIL_WORD]!;
      const needed = Math.ceil(Math.max(0, streamWords - room) / DATA_WORDS);
      if (needed > words[HEADER_FREE]!) return -1;
      let queue = head;
      if (queue < 0) {
        queue = allocate();
        const at = descriptor(queue);
        words[at + DESCRIPTOR_TAIL] = queue;
        words[at + DESCRIPTOR_TAIL_WORD] = 1;
        words[at + DESCRIPTOR_PACKETS] = 0;
        words[at + DESCRIPTOR_BYTES] = 0;
      }
      const at = descriptor(queue);
      cursor.chunk = words[at + DESCRIPTOR_TAIL]!;
      cursor.word = words[at + DESCRIPTOR_TAIL_WORD]!;
      writeWord(cursor, length);
      writeWord(cursor, ipv4 | 0);
      writeWord(cursor, (port & 0xffff) | (direction === 'in' ? 0x10000 : 0));
      writeBytes(cursor, source, offset, length);
      words[at + DESCRIPTOR_TAIL] = cursor.chunk;
      words[at + DESCRIPTOR_TAIL_WORD] = cursor.word;
      words[at + DESCRIPTOR_PACKETS]!++;
      words[at + DESCRIPTOR_BYTES]! += length;
      return queue;
    },

    packets: (head) => words[descriptor(head) + DESCRIPTOR_PACKETS]!,
    bytes: (head) => words[descriptor(head) + DESCRIPTOR_BYTES]!,

    read(head, visit): void {
      const packets = words[descriptor(head) + DESCRIPTOR_PACKETS]!;
      const at: Cursor = { chunk: head, word: 1 };
      for (let packet = 0; packet < packets; packet++) {
        const length = readWord(at);
        const ipv4 = readWord(at) >>> 0;
        const portAndDirection = readWord(at);
        if (readScratch.length < length)
          readScratch = new Uint8Array(Math.max(length, TEREDO_CONSTANTS.minMtu));
        readBytes(at, readScratch, length);
        const direction = (portAndDirection & 0x10000) !== 0 ? 'in' : 'out';
        visit(direction, readScratch, 0, length, ipv4, portAndDirection & 0xffff);
      }
    },

    release(head): void {
      const tail = words[descriptor(head) + DESCRIPTOR_TAIL]!;
      let count = 1;
      for (let chunk = head; chunk !== tail; chunk = words[chunkBase(chunk)]! - 1) count++;
      words[chunkBase(tail)] = words[HEADER_FREE_LIST]!;
      words[HEADER_FREE_LIST] = head + 1;
      words[HEADER_FREE]! += count;
    },

    releaseAll(): void {
      words[HEADER_FREE_LIST] = 0;
      words[HEADER_NEVER_USED] = 0;
      words[HEADER_FREE] = chunks;
    },
  };
}
