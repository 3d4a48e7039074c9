/**
 * The peer table: every Teredo peer we talk to, keyed by its IPv6 address, in ONE
 * SharedArrayBuffer that the control plane writes and the data-plane workers read without locks.
 * Layout: see peers-layout.ts (64-byte records after a 64-byte header).
 *
 * Structure. Open addressing with linear probing (wrapping around) over `slots` = capacity * 8/7
 * records, so the load never exceeds 7/8: 73 bytes per peer, 76.7 MB at the default capacity.
 * The home slot is a keyed HalfSipHash of the address (peers-hash.ts) scaled to the slot count:
 * the 64-bit key is random unless a seed is given, so remote hosts cannot aim addresses at one
 * probe chain. Deletion shifts the rest of the chain back (no tombstones), so probe chains never
 * grow with churn.
 *
 * Threads. Exactly one thread, the control plane, calls the writer methods (insert, remove,
 * set*, reset: peers-writer.ts; expire: peers-expiry.ts). Any thread may call find, read, size,
 * touchRx and touchTx (peers-reader.ts). This file formats and attaches tables. Every record
 * has a seqlock (odd while the writer rewrites it); read() copies the fields under it and checks
 * the key inside the same consistent copy, so it never returns a torn record or another peer's
 * record. A reader racing with the writer may miss a peer that is being moved or inserted (find
 * returns -1, or read returns false): the caller then takes the slow path, which is always right.
 *
 * Memory order. Atomics.load/store cost about 10 ns each in Node 20 (a builtin call, not inlined):
 * ten of them per read() would be most of a lookup. ECMAScript forbids compilers to reorder plain
 * accesses with Atomics ("atomics are carved in stone"), and x86 (TSO) keeps loads in order with
 * loads and stores with stores, so there the record's words between the seqlock's two atomic
 * sequence accesses are plain loads and stores. Elsewhere (arm64: an acquire load does not keep
 * earlier loads before it) they are Atomics, as the ECMAScript memory model alone requires
 * (PLAIN_ACCESSES_ORDERED, in read() and in the writer's store()).
 *
 * Slots. A slot number is valid only until the writer's next insert(), remove() or expire():
 * removals shift records back to fill the hole, and a full table evicts on insert. The control
 * plane re-finds a peer by its key after any of those. touchRx/touchTx are single stores that do
 * not check the key: a worker holding a slot across such a move may refresh another peer's
 * timestamp once, which at worst delays that peer's expiry or re-validation by a moment; mappings,
 * flags and keys are never affected.
 *
 * Time. Callers pass whole seconds of one shared monotonic clock (u32). Ages are compared as signed
 * 32-bit differences, so a timestamp slightly ahead of `now` (another thread's clock tick) reads as
 * "just now", never as "ancient". A new peer has lastRx = lastTx = 0 ("never") and createdAt = now;
 * an unproven peer given a second chance at eviction counts as created then (peers-eviction.ts).
 *
 * Eviction. A full table makes room by the rules of peers-eviction.ts: unproven peers (anyone can
 * create them with spoofed packets) hold at most half of it and go first, oldest first; then
 * pending peers, newest first; peers that proved two-way traffic never.
 */
import {
  HEADER_CAPACITY,
  HEADER_KEY0,
  HEADER_KEY1,
  HEADER_MAGIC,
  HEADER_SLOTS,
  PEER_TABLE_MAGIC,
  peerTableByteLength,
  slotCountFor,
} from './peers-layout.js';
import { checkByteOffset } from './peers-reader.js';
import type { PeerSnapshot } from './peers-reader.js';
import type { PeerRemovalListener } from './peers-writer.js';
import { SharedPeerTable } from './peers-expiry.js';

export {
  PEER_COUNTING,
  PEER_QUEUED,
  PEER_RECORD_BYTES,
  PEER_SOLICITED,
  PEER_TRUSTED,
  PEER_UNPROVEN,
  peerTableByteLength,
} from './peers-layout.js';
export { unprovenLimit } from './peers-eviction.js';
export { createPeerSnapshot } from './peers-reader.js';
export type { PeerSnapshot } from './peers-reader.js';
export type { PeerRemovalListener } from './peers-writer.js';
export { sweepBudget, sweepStride } from './peers-expiry.js';

export interface PeerTable {
  /** The whole SharedArrayBuffer (the table may sit at `byteOffset` inside a larger one). */
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  /** Most peers held at once. */
  readonly capacity: number;
  /** Record slots, about 8/7 of `capacity` and always more (see slotCountFor). */
  readonly slots: number;
  size(): number;
  /** Peers flagged PEER_UNPROVEN (the writer's count: exact on its thread, a hint elsewhere). */
  unproven(): number;

  // Readers: any thread, lock-free.
  /**
   * The slot holding `key` (16 bytes at keyOffset), or -1. Exact on the writer's thread; for other
   * threads a hint that read() confirms (it may also miss a peer the writer is moving).
   */
  find(key: Uint8Array, keyOffset: number): number;
  /** Consistent copy of the slot's fields into `out`; false if the slot no longer holds `key`. */
  read(slot: number, key: Uint8Array, keyOffset: number, out: PeerSnapshot): boolean;
  /** One store of one word (never torn), any thread; ignored for a slot number out of range. */
  touchRx(slot: number, nowSeconds: number): void;
  touchTx(slot: number, nowSeconds: number): void;
  /** Where probing for `key` starts (diagnostics and tests). */
  homeSlot(key: Uint8Array, keyOffset: number): number;

  // Writer: the control-plane thread only. Setters ignore an out-of-range or empty slot; getters return 0.
  /**
   * The slot of `key`, inserted with `flags` (no mapping, createdAt = now) if absent; an existing
   * peer is returned as it is. A newcomer flagged PEER_UNPROVEN may evict the oldest unproven
   * peer, and does once unproven peers hold half the capacity; any other newcomer, when the
   * table is full, evicts an unproven peer (while they hold that half) or the newest pending
   * one, else an unproven one (peers-eviction.ts). onEvict sees the victim before it goes; it
   * must not change the table. With nothing to evict, returns -1. Slots of other peers may change.
   */
  insert(
    key: Uint8Array,
    keyOffset: number,
    nowSeconds: number,
    onEvict?: PeerRemovalListener,
    flags?: number,
  ): number;
  /** Removes the slot's peer; other peers' slots may change. */
  remove(slot: number): void;
  setMapping(slot: number, ipv4: number, port: number): void;
  /**
   * Sets the low 16 flag bits. A peer that joins an eviction list (losing PEER_TRUSTED, gaining
   * PEER_UNPROVEN) joins it as its newest member.
   */
  setFlags(slot: number, flags: number): void;
  flags(slot: number): number;
  mappedIPv4(slot: number): number;
  mappedPort(slot: number): number;
  lastRx(slot: number): number;
  lastTx(slot: number): number;
  createdAt(slot: number): number;
  /**
   * Small per-peer counters for the control plane (bubbles, pings, 0..255) and their timestamps
   * (seconds mod 65536: compare them as signed 16-bit ages, as relay-pacing.ts does).
   */
  bubbles(slot: number): number;
  setBubbles(slot: number, count: number, lastSeconds: number): void;
  lastBubble(slot: number): number;
  pings(slot: number): number;
  setPings(slot: number, count: number, lastSeconds: number): void;
  lastPing(slot: number): number;
  /**
   * A native peer's alternate relay (native-relays.ts): a second validated mapping, besides
   * the one packets go to. 0:0 if none. Writer only, like the counters: data-plane workers
   * never read it.
   */
  alternateIPv4(slot: number): number;
  alternatePort(slot: number): number;
  setAlternate(slot: number, ipv4: number, port: number): void;
  keyInto(slot: number, out: Uint8Array, outOffset: number): void;
  /**
   * Incremental expiry: a clock hand visits the next `budget` slots (at most one full turn) and
   * removes each peer idle for MORE than `idleSeconds`, that is with nothing received, nothing
   * sent and no creation within the last `idleSeconds` (now - t > idleSeconds for createdAt,
   * lastRx and lastTx). onRemove(slot) runs before each removal, with the record intact; it must
   * not change the table. Returns the number removed. Called every second with
   * sweepBudget(table, 30) and idleSeconds 30, a peer goes 30 to 60 s after its last activity,
   * like Miredo's two-generation collector (rarely a turn later: see sweepStride).
   */
  expire(nowSeconds: number, idleSeconds: number, budget: number, onRemove?: PeerRemovalListener): number;
  /** Forgets every peer (a new Teredo identity); keeps the hash key. */
  reset(): void;
}

/** A bijective 32-bit mixer ("lowbias32"), to spread a small seed over both key words. */
function mix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x | 0;
}

function hashKeyWords(seed: number | undefined): readonly [number, number] {
  if (seed === undefined) {
    const random = crypto.getRandomValues(new Int32Array(2));
    return [random[0]!, random[1]!];
  }
  return [mix32(seed ^ 0x9e3779b9), mix32(seed ^ 0x85ebca6b)];
}

/**
 * Formats a table of `capacity` peers in `buffer` from `byteOffset` (needs
 * peerTableByteLength(capacity) bytes; a multiple of 64 keeps records on cache lines). `seed`
 * fixes the hash key, for reproducible tests; without it the key is 64 random bits.
 * `fresh`: the buffer was just allocated, so its table bytes are known to be zero and are not
 * scanned (at the default capacity the scan costs 30-50 ms of a client's start).
 */
export function initPeerTable(
  buffer: SharedArrayBuffer,
  byteOffset: number,
  capacity: number,
  seed?: number,
  fresh = false,
): PeerTable {
  return formatPeerTable(buffer, byteOffset, capacity, seed, !fresh);
}

/** Allocates a SharedArrayBuffer holding an empty table of `capacity` peers (see initPeerTable). */
export function createPeerTable(capacity: number, seed?: number): PeerTable {
  // A new buffer is already zero.
  return formatPeerTable(new SharedArrayBuffer(peerTableByteLength(capacity)), 0, capacity, seed, false);
}

function formatPeerTable(
  buffer: SharedArrayBuffer,
  byteOffset: number,
  capacity: number,
  seed: number | undefined,
  zero: boolean,
): PeerTable {
  const byteLength = peerTableByteLength(capacity);
  checkByteOffset(buffer, byteOffset);
  if (byteOffset + byteLength > buffer.byteLength) {
    throw new RangeError(`a table of ${capacity} peers needs ${byteLength} bytes from offset ${byteOffset}`);
  }
  const words = new Int32Array(buffer, byteOffset, byteLength / 4);
  if (zero) {
    // Writing only non-zero words keeps a fresh buffer's untouched pages out of resident memory
    // (fill(0) would commit all of them: 128 MiB at the default capacity).
    for (let index = 0; index < words.length; index++) if (words[index] !== 0) words[index] = 0;
  }
  const [key0, key1] = hashKeyWords(seed);
  words[HEADER_SLOTS] = slotCountFor(capacity);
  words[HEADER_CAPACITY] = capacity;
  words[HEADER_KEY0] = key0;
  words[HEADER_KEY1] = key1;
  Atomics.store(words, HEADER_MAGIC, PEER_TABLE_MAGIC);
  return new SharedPeerTable(buffer, byteOffset);
}

/**
 * Another thread's view of a table formatted by createPeerTable/initPeerTable. Throws if the
 * bytes there are not one (a programming error: the buffer comes from our own control plane).
 */
export function attachPeerTable(buffer: SharedArrayBuffer, byteOffset = 0): PeerTable {
  return new SharedPeerTable(buffer, byteOffset);
}
