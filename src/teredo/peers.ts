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
 * set*, expire, reset). Any thread may call find, read, size, touchRx and touchTx. Every record
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
 * earlier loads before it) they are Atomics, as the ECMAScript memory model alone requires.
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
import { MAX_PEER_CAPACITY } from './constants.js';
import { halfSipHash128, keyWordAt, slotOfHash } from './peers-hash.js';
import {
  HEADER_CAPACITY,
  HEADER_KEY0,
  HEADER_KEY1,
  HEADER_MAGIC,
  HEADER_NEWEST_PENDING,
  HEADER_SIZE,
  HEADER_SLOTS,
  HEADER_SWEEP_HAND,
  HEADER_WORDS,
  PEER_RECORD_BYTES,
  PEER_TABLE_HEADER_BYTES,
  PEER_TABLE_MAGIC,
  PEER_UNPROVEN,
  PUBLIC_FLAGS_MASK,
  RECORD_COUNTERS,
  RECORD_CREATED_AT,
  RECORD_FLAGS,
  RECORD_KEY,
  RECORD_LAST_BUBBLE,
  RECORD_LAST_PING,
  RECORD_LAST_RX,
  RECORD_LAST_TX,
  RECORD_MAPPED_IPV4,
  RECORD_MAPPED_PORT,
  RECORD_OCCUPIED,
  RECORD_SEQUENCE,
  RECORD_WORDS,
  RECORD_WRITER_ONLY,
  recordBase,
  slotCountFor,
} from './peers-layout.js';
import {
  chooseVictim,
  linkNewest,
  listOf,
  NO_VICTIM,
  REFUSED,
  relinkMoved,
  unlink,
  unprovenCount,
} from './peers-eviction.js';

export {
  PEER_COUNTING,
  PEER_QUEUED,
  PEER_RECORD_BYTES,
  PEER_SOLICITED,
  PEER_TRUSTED,
  PEER_UNPROVEN,
} from './peers-layout.js';
export { unprovenLimit } from './peers-eviction.js';

const COMPRESSION_ROUNDS = 1;
const FINALISATION_ROUNDS = 3;
/** Seqlock retries before a reader gives up (the writer was preempted mid-record): slow path. */
const READ_ATTEMPTS = 64;
/** Whether the CPU keeps plain loads and plain stores in program order (see "Memory order"). */
const PLAIN_ACCESSES_ORDERED = process.arch === 'x64' || process.arch === 'ia32';

export interface PeerSnapshot {
  flags: number;
  mappedIPv4: number;
  mappedPort: number;
  lastRx: number;
  lastTx: number;
}

/** Receives a slot whose record is about to be removed; the record is still intact (keyInto works). */
export type PeerRemovalListener = (slot: number) => void;

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
  /** Small per-peer counters for the control plane (bubbles, pings, 0..65535) and their timestamps (seconds). */
  bubbles(slot: number): number;
  setBubbles(slot: number, count: number, lastSeconds: number): void;
  lastBubble(slot: number): number;
  pings(slot: number): number;
  setPings(slot: number, count: number, lastSeconds: number): void;
  lastPing(slot: number): number;
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
export function sweepBudget(table: PeerTable, roundSeconds: number, tickSeconds = 1): number {
  return Math.max(1, Math.ceil((table.slots * tickSeconds) / Math.max(tickSeconds, roundSeconds)));
}

/** Bytes a table of `capacity` peers occupies (header + records). */
export function peerTableByteLength(capacity: number): number {
  return PEER_TABLE_HEADER_BYTES + slotCountFor(capacity) * PEER_RECORD_BYTES;
}

export function createPeerSnapshot(): PeerSnapshot {
  return { flags: 0, mappedIPv4: 0, mappedPort: 0, lastRx: 0, lastTx: 0 };
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

function checkByteOffset(buffer: SharedArrayBuffer, byteOffset: number): void {
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 4 !== 0) {
    throw new RangeError(`peer table byte offset must be a non-negative multiple of 4, got ${byteOffset}`);
  }
  if (byteOffset + PEER_TABLE_HEADER_BYTES > buffer.byteLength) {
    throw new RangeError('peer table header does not fit in the buffer');
  }
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

const MATCH = 1;
const OTHER = 0;
const EMPTY = -1;

class SharedPeerTable implements PeerTable {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly capacity: number;
  readonly slots: number;
  private readonly key0: number;
  private readonly key1: number;
  private readonly words: Int32Array;
  private readonly stride: number;

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
    this.stride = sweepStride(slots);
  }

  size(): number {
    return Atomics.load(this.words, HEADER_SIZE);
  }

  unproven(): number {
    return unprovenCount(this.words);
  }

  private home(m0: number, m1: number, m2: number, m3: number): number {
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

  private following(slot: number): number {
    return slot + 1 === this.slots ? 0 : slot + 1;
  }

  /** Probe steps from `from` forward to `to`, wrapping around. */
  private distance(from: number, to: number): number {
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
  private locate(m0: number, m1: number, m2: number, m3: number): number {
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

  private inRange(slot: number): boolean {
    return slot >>> 0 === slot && slot < this.slots;
  }

  /** The record base of an occupied slot, or -1. */
  private liveBase(slot: number): number {
    if (!this.inRange(slot)) return -1;
    const base = recordBase(slot);
    return this.words[base + RECORD_FLAGS] !== 0 ? base : -1;
  }

  /** Opens the record's seqlock; returns the sequence value that closes it. */
  private beginWrite(base: number): number {
    const sequence = this.words[base + RECORD_SEQUENCE]!;
    Atomics.store(this.words, base + RECORD_SEQUENCE, (sequence + 1) | 0);
    return (sequence + 2) | 0;
  }

  private endWrite(base: number, sequence: number): void {
    Atomics.store(this.words, base + RECORD_SEQUENCE, sequence);
  }

  /** A store of a word readers see, between beginWrite and endWrite (see "Memory order"). */
  private store(index: number, value: number): void {
    if (PLAIN_ACCESSES_ORDERED) this.words[index] = value;
    else Atomics.store(this.words, index, value);
  }

  insert(
    key: Uint8Array,
    keyOffset: number,
    nowSeconds: number,
    onEvict?: PeerRemovalListener,
    flags = 0,
  ): number {
    const m0 = keyWordAt(key, keyOffset);
    const m1 = keyWordAt(key, keyOffset + 4);
    const m2 = keyWordAt(key, keyOffset + 8);
    const m3 = keyWordAt(key, keyOffset + 12);
    let found = this.locate(m0, m1, m2, m3);
    if (found >= 0) return found;
    const recordFlags = RECORD_OCCUPIED | (flags & PUBLIC_FLAGS_MASK);
    const unproven = (recordFlags & PEER_UNPROVEN) !== 0;
    const victim = chooseVictim(this.words, this.capacity, this.size(), unproven, nowSeconds);
    if (victim === REFUSED) return -1;
    if (victim !== NO_VICTIM) {
      onEvict?.(victim);
      this.removeAt(victim);
      found = this.locate(m0, m1, m2, m3);
    }
    const slot = ~found;
    if (slot >= this.slots) return -1; // no empty slot: impossible while size < capacity < slots
    const words = this.words;
    const base = recordBase(slot);
    const sequence = this.beginWrite(base);
    this.store(base + RECORD_KEY, m0);
    this.store(base + RECORD_KEY + 1, m1);
    this.store(base + RECORD_KEY + 2, m2);
    this.store(base + RECORD_KEY + 3, m3);
    this.store(base + RECORD_MAPPED_IPV4, 0);
    this.store(base + RECORD_MAPPED_PORT, 0);
    this.store(base + RECORD_LAST_RX, 0);
    this.store(base + RECORD_LAST_TX, 0);
    words[base + RECORD_CREATED_AT] = nowSeconds | 0;
    words[base + RECORD_COUNTERS] = 0;
    words[base + RECORD_LAST_BUBBLE] = 0;
    words[base + RECORD_LAST_PING] = 0;
    this.store(base + RECORD_FLAGS, recordFlags);
    this.endWrite(base, sequence);
    const list = listOf(recordFlags);
    if (list !== null) linkNewest(words, list, slot);
    Atomics.store(words, HEADER_SIZE, this.size() + 1);
    return slot;
  }

  remove(slot: number): void {
    if (this.liveBase(slot) >= 0) this.removeAt(slot);
  }

  /** Backward-shift deletion: pulls each later record of the probe chain that may move into the hole. */
  private removeAt(slot: number): void {
    const words = this.words;
    const list = listOf(words[recordBase(slot) + RECORD_FLAGS]!);
    if (list !== null) unlink(words, list, slot);
    let hole = slot;
    let next = slot;
    for (;;) {
      next = this.following(next);
      const base = recordBase(next);
      const flags = words[base + RECORD_FLAGS]!;
      if (flags === 0) break;
      const home = this.home(
        words[base + RECORD_KEY]!,
        words[base + RECORD_KEY + 1]!,
        words[base + RECORD_KEY + 2]!,
        words[base + RECORD_KEY + 3]!,
      );
      // The record may fill the hole only if the hole lies on its probe path, home..next.
      if (this.distance(home, hole) < this.distance(home, next)) {
        this.copyRecord(base, recordBase(hole));
        const movedList = listOf(flags);
        if (movedList !== null) relinkMoved(words, movedList, hole);
        hole = next;
      }
    }
    this.clearRecord(recordBase(hole));
    Atomics.store(words, HEADER_SIZE, this.size() - 1);
  }

  private copyRecord(from: number, to: number): void {
    const words = this.words;
    const sequence = this.beginWrite(to);
    for (let word = RECORD_FLAGS; word < RECORD_WRITER_ONLY; word++)
      this.store(to + word, words[from + word]!);
    for (let word = RECORD_WRITER_ONLY; word < RECORD_WORDS; word++) words[to + word] = words[from + word]!;
    this.endWrite(to, sequence);
  }

  /** Empties a slot. Only the flags word is cleared: nothing reads the other words of an empty slot. */
  private clearRecord(base: number): void {
    const sequence = this.beginWrite(base);
    this.store(base + RECORD_FLAGS, 0);
    this.endWrite(base, sequence);
  }

  setMapping(slot: number, ipv4: number, port: number): void {
    const base = this.liveBase(slot);
    if (base < 0) return;
    const sequence = this.beginWrite(base);
    this.store(base + RECORD_MAPPED_IPV4, ipv4 | 0);
    this.store(base + RECORD_MAPPED_PORT, port & 0xffff);
    this.endWrite(base, sequence);
  }

  setFlags(slot: number, flags: number): void {
    const base = this.liveBase(slot);
    if (base < 0) return;
    const previous = this.words[base + RECORD_FLAGS]!;
    const next = RECORD_OCCUPIED | (flags & PUBLIC_FLAGS_MASK);
    if (next === previous) return;
    const sequence = this.beginWrite(base);
    this.store(base + RECORD_FLAGS, next);
    this.endWrite(base, sequence);
    const from = listOf(previous);
    const to = listOf(next);
    if (from === to) return;
    if (from !== null) unlink(this.words, from, slot);
    if (to !== null) linkNewest(this.words, to, slot);
  }

  flags(slot: number): number {
    const base = this.liveBase(slot);
    return base < 0 ? 0 : this.words[base + RECORD_FLAGS]! & PUBLIC_FLAGS_MASK;
  }

  /** A word of a live record; plain load: single words never tear, and the writer needs no order. */
  private unsignedWord(slot: number, word: number): number {
    const base = this.liveBase(slot);
    return base < 0 ? 0 : this.words[base + word]! >>> 0;
  }

  mappedIPv4(slot: number): number {
    return this.unsignedWord(slot, RECORD_MAPPED_IPV4);
  }

  mappedPort(slot: number): number {
    return this.unsignedWord(slot, RECORD_MAPPED_PORT);
  }

  lastRx(slot: number): number {
    return this.unsignedWord(slot, RECORD_LAST_RX);
  }

  lastTx(slot: number): number {
    return this.unsignedWord(slot, RECORD_LAST_TX);
  }

  createdAt(slot: number): number {
    return this.unsignedWord(slot, RECORD_CREATED_AT);
  }

  bubbles(slot: number): number {
    return this.unsignedWord(slot, RECORD_COUNTERS) & 0xffff;
  }

  pings(slot: number): number {
    return this.unsignedWord(slot, RECORD_COUNTERS) >>> 16;
  }

  lastBubble(slot: number): number {
    return this.unsignedWord(slot, RECORD_LAST_BUBBLE);
  }

  lastPing(slot: number): number {
    return this.unsignedWord(slot, RECORD_LAST_PING);
  }

  setBubbles(slot: number, count: number, lastSeconds: number): void {
    const base = this.liveBase(slot);
    if (base < 0) return;
    const counters = this.words[base + RECORD_COUNTERS]!;
    this.words[base + RECORD_COUNTERS] = (counters & ~0xffff) | clampCount(count);
    this.words[base + RECORD_LAST_BUBBLE] = lastSeconds | 0;
  }

  setPings(slot: number, count: number, lastSeconds: number): void {
    const base = this.liveBase(slot);
    if (base < 0) return;
    const counters = this.words[base + RECORD_COUNTERS]!;
    this.words[base + RECORD_COUNTERS] = (counters & 0xffff) | (clampCount(count) << 16);
    this.words[base + RECORD_LAST_PING] = lastSeconds | 0;
  }

  keyInto(slot: number, out: Uint8Array, outOffset: number): void {
    const base = this.liveBase(slot);
    for (let index = 0; index < 4; index++) {
      const word = base < 0 ? 0 : this.words[base + RECORD_KEY + index]!;
      const at = outOffset + index * 4;
      out[at] = word & 0xff;
      out[at + 1] = (word >>> 8) & 0xff;
      out[at + 2] = (word >>> 16) & 0xff;
      out[at + 3] = word >>> 24;
    }
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

  reset(): void {
    const words = this.words;
    for (let slot = 0; slot < this.slots; slot++) {
      const base = recordBase(slot);
      if (words[base + RECORD_FLAGS] !== 0) this.clearRecord(base);
    }
    words.fill(0, HEADER_NEWEST_PENDING, HEADER_WORDS); // eviction lists and the sweep hand
    Atomics.store(words, HEADER_SIZE, 0);
  }
}

function clampCount(count: number): number {
  return Math.min(0xffff, Math.max(0, Math.trunc(count) || 0));
}
