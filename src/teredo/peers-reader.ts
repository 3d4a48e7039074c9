/**
 * The peer table's readers (any thread, lock-free): find, read under the record's seqlock, and
 * the single-word timestamp stores. The threads, the memory order and what a reader may miss
 * are in peers.ts; the writer is peers-writer.ts.
 */
import { MAX_PEER_CAPACITY } from './constants.js';
import { unprovenCount } from './peers-eviction.js';
import { halfSipHash128, keyWordAt, slotOfHash } from './peers-hash.js';
import {
  HEADER_CAPACITY,
  HEADER_KEY0,
  HEADER_KEY1,
  HEADER_MAGIC,
  HEADER_SIZE,
  HEADER_SLOTS,
  PEER_TABLE_HEADER_BYTES,
  PEER_TABLE_MAGIC,
  PUBLIC_FLAGS_MASK,
  RECORD_FLAGS,
  RECORD_KEY,
  RECORD_LAST_RX,
  RECORD_LAST_TX,
  RECORD_MAPPED_IPV4,
  RECORD_MAPPED_PORT,
  RECORD_SEQUENCE,
  peerTableByteLength,
  recordBase,
  slotCountFor,
} from './peers-layout.js';

const COMPRESSION_ROUNDS = 1;
const FINALISATION_ROUNDS = 3;
/** Seqlock retries before a reader gives up (the writer was preempted mid-record): slow path. */
const READ_ATTEMPTS = 64;
/** Whether the CPU keeps plain loads and plain stores in program order (see "Memory order"). */
export const PLAIN_ACCESSES_ORDERED = process.arch === 'x64' || process.arch === 'ia32';

export interface PeerSnapshot {
  flags: number;
  mappedIPv4: number;
  mappedPort: number;
  lastRx: number;
  lastTx: number;
}

export function createPeerSnapshot(): PeerSnapshot {
  return { flags: 0, mappedIPv4: 0, mappedPort: 0, lastRx: 0, lastTx: 0 };
}

export function checkByteOffset(buffer: SharedArrayBuffer, byteOffset: number): void {
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
    throw new RangeError(`peer table byte offset must be a non-negative multiple of 4, got ${byteOffset}`);
  }
  if (byteOffset + PEER_TABLE_HEADER_BYTES > buffer.byteLength) {
    throw new RangeError('peer table header does not fit in the buffer');
  }
}

const MATCH = 1;
const OTHER = 0;
const EMPTY = -1;

export class PeerTableReader {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly capacity: number;
  readonly slots: number;
  private readonly key0: number;
  private readonly key1: number;
  protected readonly words: Int32Array;

  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    checkByteOffset(buffer, byteOffset);
    const header = new Int32Array(buffer, byteOffset, PEER_TABLE_HEADER_BYTES / 4);
    const slots = header[HEADER_SLOTS]!;
    const capacity = header[HEADER_CAPACITY]!;
    if (
      Atomics.load(header, HEADER_MAGIC) !== PEER_TABLE_MAGIC ||
      capacity < 0 ||
      slots !== slotCountFor(Math.min(capacity, MAX_PEER_CAPACITY)) ||
      byteOffset + peerTableByteLength(capacity) > buffer.byteLength
    ) {
      throw new TypeError(`no peer table at byte ${byteOffset} of this buffer`);
    }
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.capacity = capacity;
    this.slots = slots;
    this.key0 = header[HEADER_KEY0]!;
    this.key1 = header[HEADER_KEY1]!;
    this.words = new Int32Array(buffer, byteOffset, peerTableByteLength(capacity) / 4);
  }

  size(): number {
    return Atomics.load(this.words, HEADER_SIZE);
  }

  unproven(): number {
    return unprovenCount(this.words);
  }

  protected home(m0: number, m1: number, m2: number, m3: number): number {
    const hash = halfSipHash128(
      this.key0,
      this.key1,
      m0,
      m1,
      m2,
      m3,
      COMPRESSION_ROUNDS,
      FINALISATION_ROUNDS,
    );
    return slotOfHash(hash, this.slots);
  }

  homeSlot(key: Uint8Array, keyOffset: number): number {
    return this.home(
      keyWordAt(key, keyOffset),
      keyWordAt(key, keyOffset + 4),
      keyWordAt(key, keyOffset + 8),
      keyWordAt(key, keyOffset + 12),
    );
  }

  protected following(slot: number): number {
    return slot + 1 === this.slots ? 0 : slot + 1;
  }

  /** Probe steps from `from` forward to `to`, wrapping around. */
  protected distance(from: number, to: number): number {
    return to >= from ? to - from : to - from + this.slots;
  }

  /**
   * Whether the record at `base` holds the key, another key, or nothing. Plain loads, no seqlock:
   * for the writer they are exact, and a reader racing with a rewrite may get a wrong verdict,
   * which read() then catches (it re-checks the key under the seqlock) or which makes it miss.
   */
  private compareAt(base: number, m0: number, m1: number, m2: number, m3: number): number {
    const words = this.words;
    if (words[base + RECORD_FLAGS] === 0) return EMPTY;
    return words[base + RECORD_KEY] === m0 &&
      words[base + RECORD_KEY + 1] === m1 &&
      words[base + RECORD_KEY + 2] === m2 &&
      words[base + RECORD_KEY + 3] === m3
      ? MATCH
      : OTHER;
  }

  /** The key's slot, or ~slot of the empty slot that ended the probe, or ~slots if none did. */
  protected locate(m0: number, m1: number, m2: number, m3: number): number {
    const slots = this.slots;
    let slot = this.home(m0, m1, m2, m3);
    for (let probes = 0; probes < slots; probes++) {
      const verdict = this.compareAt(recordBase(slot), m0, m1, m2, m3);
      if (verdict === MATCH) return slot;
      if (verdict === EMPTY) return ~slot;
      slot = slot + 1 === slots ? 0 : slot + 1;
    }
    return ~slots;
  }

  find(key: Uint8Array, keyOffset: number): number {
    const slot = this.locate(
      keyWordAt(key, keyOffset),
      keyWordAt(key, keyOffset + 4),
      keyWordAt(key, keyOffset + 8),
      keyWordAt(key, keyOffset + 12),
    );
    return slot >= 0 ? slot : -1;
  }

  read(slot: number, key: Uint8Array, keyOffset: number, out: PeerSnapshot): boolean {
    if (!this.inRange(slot)) return false;
    const words = this.words;
    const base = recordBase(slot);
    const m0 = keyWordAt(key, keyOffset);
    const m1 = keyWordAt(key, keyOffset + 4);
    const m2 = keyWordAt(key, keyOffset + 8);
    const m3 = keyWordAt(key, keyOffset + 12);
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const sequence = Atomics.load(words, base + RECORD_SEQUENCE);
      if ((sequence & 1) !== 0) continue;
      let flags: number;
      let sameKey: boolean;
      let mappedIPv4: number;
      let mappedPort: number;
      let lastRx: number;
      let lastTx: number;
      if (PLAIN_ACCESSES_ORDERED) {
        flags = words[base + RECORD_FLAGS]!;
        sameKey =
          flags !== 0 &&
          words[base + RECORD_KEY] === m0 &&
          words[base + RECORD_KEY + 1] === m1 &&
          words[base + RECORD_KEY + 2] === m2 &&
          words[base + RECORD_KEY + 3] === m3;
        mappedIPv4 = words[base + RECORD_MAPPED_IPV4]!;
        mappedPort = words[base + RECORD_MAPPED_PORT]!;
        lastRx = words[base + RECORD_LAST_RX]!;
        lastTx = words[base + RECORD_LAST_TX]!;
      } else {
        flags = Atomics.load(words, base + RECORD_FLAGS);
        sameKey =
          flags !== 0 &&
          Atomics.load(words, base + RECORD_KEY) === m0 &&
          Atomics.load(words, base + RECORD_KEY + 1) === m1 &&
          Atomics.load(words, base + RECORD_KEY + 2) === m2 &&
          Atomics.load(words, base + RECORD_KEY + 3) === m3;
        mappedIPv4 = Atomics.load(words, base + RECORD_MAPPED_IPV4);
        mappedPort = Atomics.load(words, base + RECORD_MAPPED_PORT);
        lastRx = Atomics.load(words, base + RECORD_LAST_RX);
        lastTx = Atomics.load(words, base + RECORD_LAST_TX);
      }
      if (Atomics.load(words, base + RECORD_SEQUENCE) !== sequence) continue;
      if (!sameKey) return false;
      out.flags = flags & PUBLIC_FLAGS_MASK;
      out.mappedIPv4 = mappedIPv4 >>> 0;
      out.mappedPort = mappedPort;
      out.lastRx = lastRx >>> 0;
      out.lastTx = lastTx >>> 0;
      return true;
    }
    return false;
  }

  /**
   * A timestamp is one word, stored alone: a plain aligned Int32 store never tears, and nothing
   * has to be ordered with it. Skipping an unchanged value keeps the record's cache line clean
   * when every packet of a busy peer refreshes it.
   */
  touchRx(slot: number, nowSeconds: number): void {
    if (!this.inRange(slot)) return;
    const index = recordBase(slot) + RECORD_LAST_RX;
    const value = nowSeconds | 0;
    if (this.words[index] !== value) this.words[index] = value;
  }

  touchTx(slot: number, nowSeconds: number): void {
    if (!this.inRange(slot)) return;
    const index = recordBase(slot) + RECORD_LAST_TX;
    const value = nowSeconds | 0;
    if (this.words[index] !== value) this.words[index] = value;
  }

  protected inRange(slot: number): boolean {
    return slot >>> 0 === slot && slot < this.slots;
  }

  /** The record base of an occupied slot, or -1. */
  protected liveBase(slot: number): number {
    if (!this.inRange(slot)) return -1;
    const base = recordBase(slot);
    return this.words[base + RECORD_FLAGS] !== 0 ? base : -1;
  }
}
