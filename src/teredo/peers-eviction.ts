/**
 * Which peer makes room in a full peer table, and how much of it unsolicited packets may hold.
 * Two lists are threaded through the records (words `newer` and `older` hold a slot + 1, 0 for
 * none); a record's flags put it in one of them or in none (listOf):
 *
 * - unproven (PEER_UNPROVEN): peers created by a packet from the network that nobody here asked
 *   for, and peers that became trusted without proving two-way traffic. Anyone can create them
 *   with spoofed sources at any rate, so they hold at most half the table (unprovenLimit): one
 *   more evicts the oldest first. They are also the first to make room for a peer the local side
 *   asks for while they hold that half. Oldest first, with a second chance: a peer heard from
 *   (lastRx) since it was listed, within the last SECOND_CHANCE_SECONDS, goes to the newest end
 *   instead and counts as listed now (its createdAt becomes now), at most SECOND_CHANCES times per
 *   eviction. A flood of fresh sources then turns over its own entries while peers that keep
 *   talking stay; a flooder that keeps its own sources talking gets plain oldest-first.
 * - pending (untrusted, not unproven): peers the local side asked for, waiting for their answer.
 *   Newest first: packets to ever new destinations (a relay's IPv6 side is the Internet) only
 *   ever replace their own latest entry, while older pending peers stay.
 * - neither (trusted, not unproven): peers that proved two-way traffic. Never evicted: they go
 *   only when idle (expire), so a flood cannot touch them.
 *
 * Writer thread only; O(1) per operation (an eviction moves at most SECOND_CHANCES records).
 */
import {
  HEADER_NEWEST_PENDING,
  HEADER_NEWEST_UNPROVEN,
  HEADER_OLDEST_PENDING,
  HEADER_OLDEST_UNPROVEN,
  HEADER_PENDING_COUNT,
  HEADER_UNPROVEN_COUNT,
  PEER_TRUSTED,
  PEER_UNPROVEN,
  RECORD_CREATED_AT,
  RECORD_LAST_RX,
  RECORD_NEWER,
  RECORD_OLDER,
  recordBase,
} from './peers-layout.js';

/** The header words of one list. */
export interface EvictionList {
  readonly newest: number;
  readonly oldest: number;
  readonly count: number;
}

const PENDING: EvictionList = Object.freeze({
  newest: HEADER_NEWEST_PENDING,
  oldest: HEADER_OLDEST_PENDING,
  count: HEADER_PENDING_COUNT,
});
const UNPROVEN: EvictionList = Object.freeze({
  newest: HEADER_NEWEST_UNPROVEN,
  oldest: HEADER_OLDEST_UNPROVEN,
  count: HEADER_UNPROVEN_COUNT,
});

/** Moves an unproven peer heard from lately to the newest end at most this often per eviction. */
export const SECOND_CHANCES = 8;
/** "Lately": within a peer's validity (RFC 4380's 30 s). */
export const SECOND_CHANCE_SECONDS = 30;

/** chooseVictim: there is room, evict nothing. */
export const NO_VICTIM = -1;
/** chooseVictim: the table is full and no peer may make room: refuse the insert. */
export const REFUSED = -2;

/** The list a record with these flags belongs to, or null. */
export function listOf(flags: number): EvictionList | null {
  if ((flags & PEER_UNPROVEN) !== 0) return UNPROVEN;
  return (flags & PEER_TRUSTED) === 0 ? PENDING : null;
}

/** Most unproven peers a table of `capacity` holds before inserting one more evicts one. */
export function unprovenLimit(capacity: number): number {
  return Math.ceil(capacity / 2);
}

export function unprovenCount(words: Int32Array): number {
  return words[UNPROVEN.count]!;
}

/** Makes `slot` the newest of `list`. */
export function linkNewest(words: Int32Array, list: EvictionList, slot: number): void {
  const base = recordBase(slot);
  const previousNewest = words[list.newest]!;
  words[base + RECORD_NEWER] = 0;
  words[base + RECORD_OLDER] = previousNewest;
  if (previousNewest !== 0) words[recordBase(previousNewest - 1) + RECORD_NEWER] = slot + 1;
  else words[list.oldest] = slot + 1;
  words[list.newest] = slot + 1;
  words[list.count] = words[list.count]! + 1;
}

export function unlink(words: Int32Array, list: EvictionList, slot: number): void {
  const base = recordBase(slot);
  const newer = words[base + RECORD_NEWER]!;
  const older = words[base + RECORD_OLDER]!;
  if (newer !== 0) words[recordBase(newer - 1) + RECORD_OLDER] = older;
  else words[list.newest] = older;
  if (older !== 0) words[recordBase(older - 1) + RECORD_NEWER] = newer;
  else words[list.oldest] = newer;
  words[base + RECORD_NEWER] = 0;
  words[base + RECORD_OLDER] = 0;
  words[list.count] = words[list.count]! - 1;
}

/** After a record was copied, links included, to `slot`: point its neighbours (or the ends) there. */
export function relinkMoved(words: Int32Array, list: EvictionList, slot: number): void {
  const base = recordBase(slot);
  const newer = words[base + RECORD_NEWER]!;
  const older = words[base + RECORD_OLDER]!;
  if (newer !== 0) words[recordBase(newer - 1) + RECORD_OLDER] = slot + 1;
  else words[list.newest] = slot + 1;
  if (older !== 0) words[recordBase(older - 1) + RECORD_NEWER] = slot + 1;
  else words[list.oldest] = slot + 1;
}

/**
 * The slot to evict before inserting a peer (the table holds `size` peers), NO_VICTIM when
 * there is room, or REFUSED. `unproven`: the newcomer is unproven (an unsolicited packet made
 * it), so it may only take an unproven peer's place, and only while unproven peers hold less
 * than their limit does it get a free slot. Otherwise the newcomer is one the local side asked
 * for: it takes the oldest unproven peer's place while they hold their limit, else the newest
 * pending peer's, else an unproven one's. May move unproven peers (second chances).
 */
export function chooseVictim(
  words: Int32Array,
  capacity: number,
  size: number,
  unproven: boolean,
  nowSeconds: number,
): number {
  const held = words[UNPROVEN.count]!;
  if (held > 0 && held >= unprovenLimit(capacity) && (unproven || size >= capacity)) {
    return oldestUnproven(words, nowSeconds);
  }
  if (size < capacity) return NO_VICTIM;
  if (!unproven && words[PENDING.newest] !== 0) return words[PENDING.newest]! - 1;
  return held > 0 ? oldestUnproven(words, nowSeconds) : REFUSED;
}

/** The oldest unproven peer after second chances (the list is not empty). */
function oldestUnproven(words: Int32Array, nowSeconds: number): number {
  for (let chance = 0; chance < SECOND_CHANCES; chance++) {
    const slot = words[UNPROVEN.oldest]! - 1;
    const base = recordBase(slot);
    const heard = words[base + RECORD_LAST_RX]!;
    const heardSinceListed = heard !== 0 && ((heard - words[base + RECORD_CREATED_AT]!) | 0) > 0;
    if (!heardSinceListed || ((nowSeconds - heard) | 0) > SECOND_CHANCE_SECONDS) return slot;
    unlink(words, UNPROVEN, slot);
    words[base + RECORD_CREATED_AT] = nowSeconds | 0;
    linkNewest(words, UNPROVEN, slot);
  }
  return words[UNPROVEN.oldest]! - 1;
}
