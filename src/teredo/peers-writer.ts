/**
 * The peer table's writer (the control plane's thread only): insert with eviction
 * (peers-eviction.ts), removal by backward shift, the record setters and the writer's getters,
 * reset. Every record change goes under the record's seqlock (peers.ts, "Threads" and "Memory
 * order"); words readers never read are plain stores.
 */
import {
  chooseVictim,
  linkNewest,
  listOf,
  NO_VICTIM,
  REFUSED,
  relinkMoved,
  unlink,
} from './peers-eviction.js';
import {
  HEADER_NEWEST_PENDING,
  HEADER_SIZE,
  HEADER_WORDS,
  PEER_UNPROVEN,
  PUBLIC_FLAGS_MASK,
  RECORD_COUNTERS,
  RECORD_CREATED_AT,
  RECORD_FLAGS,
  RECORD_KEY,
  RECORD_LAST_RX,
  RECORD_LAST_TX,
  RECORD_MAPPED_IPV4,
  RECORD_MAPPED_PORT,
  RECORD_OCCUPIED,
  RECORD_ALTERNATE_IPV4,
  RECORD_PACING_STAMPS,
  RECORD_SEQUENCE,
  RECORD_WORDS,
  RECORD_WRITER_ONLY,
  recordBase,
} from './peers-layout.js';
import { keyWordAt } from './peers-hash.js';
import { PeerTableReader, PLAIN_ACCESSES_ORDERED } from './peers-reader.js';

/** Receives a slot whose record is about to be removed; the record is still intact (keyInto works). */
export type PeerRemovalListener = (slot: number) => void;

export class PeerTableWriter extends PeerTableReader {
  protected beginWrite(base: number): number {
    const sequence = this.words[base + RECORD_SEQUENCE]!;
    Atomics.store(this.words, base + RECORD_SEQUENCE, (sequence + 1) | 0);
    return (sequence + 2) | 0;
  }

  protected endWrite(base: number, sequence: number): void {
    Atomics.store(this.words, base + RECORD_SEQUENCE, sequence);
  }

  /** A store of a word readers see, between beginWrite and endWrite (see "Memory order"). */
  protected store(index: number, value: number): void {
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
    words[base + RECORD_PACING_STAMPS] = 0;
    words[base + RECORD_ALTERNATE_IPV4] = 0;
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
  protected removeAt(slot: number): void {
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
    return this.unsignedWord(slot, RECORD_COUNTERS) & 0xff;
  }

  pings(slot: number): number {
    return (this.unsignedWord(slot, RECORD_COUNTERS) >>> 8) & 0xff;
  }

  lastBubble(slot: number): number {
    return this.unsignedWord(slot, RECORD_PACING_STAMPS) & 0xffff;
  }

  lastPing(slot: number): number {
    return this.unsignedWord(slot, RECORD_PACING_STAMPS) >>> 16;
  }

  setBubbles(slot: number, count: number, lastSeconds: number): void {
    const base = this.liveBase(slot);
    if (base < 0) return;
    const words = this.words;
    words[base + RECORD_COUNTERS] = (words[base + RECORD_COUNTERS]! & ~0xff) | clampCount(count);
    words[base + RECORD_PACING_STAMPS] =
      (words[base + RECORD_PACING_STAMPS]! & ~0xffff) | (lastSeconds & 0xffff);
  }

  setPings(slot: number, count: number, lastSeconds: number): void {
    const base = this.liveBase(slot);
    if (base < 0) return;
    const words = this.words;
    words[base + RECORD_COUNTERS] = (words[base + RECORD_COUNTERS]! & ~0xff00) | (clampCount(count) << 8);
    words[base + RECORD_PACING_STAMPS] = (words[base + RECORD_PACING_STAMPS]! & 0xffff) | (lastSeconds << 16);
  }

  alternateIPv4(slot: number): number {
    return this.unsignedWord(slot, RECORD_ALTERNATE_IPV4);
  }

  alternatePort(slot: number): number {
    return this.unsignedWord(slot, RECORD_COUNTERS) >>> 16;
  }

  setAlternate(slot: number, ipv4: number, port: number): void {
    const base = this.liveBase(slot);
    if (base < 0) return;
    const words = this.words;
    words[base + RECORD_ALTERNATE_IPV4] = ipv4 | 0;
    words[base + RECORD_COUNTERS] = (words[base + RECORD_COUNTERS]! & 0xffff) | (port << 16);
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
  return Math.min(0xff, Math.max(0, Math.trunc(count) || 0));
}
