/**
 * Where the peer table keeps things in its SharedArrayBuffer. Everything is an Int32 word.
 *
 * Header (64 bytes):
 *   word 0  magic        'PEER' (0x50454552): attachPeerTable refuses anything else
 *   word 1  slots        record count, greater than the capacity (see slotCountFor)
 *   word 2  capacity     most peers the table holds (insert evicts or refuses beyond it)
 *   word 3  key0         HalfSipHash key, low word
 *   word 4  key1         HalfSipHash key, high word
 *   word 5  size         peers held (Atomics: readers in other threads may ask)
 *   word 6  pending      newest pending peer's slot + 1, 0 if none       (writer only)
 *   word 7  hand         the expiry sweep's next slot (it jumps: sweepStride) (writer only)
 *   word 8  pending      oldest pending peer's slot + 1, 0 if none       (writer only)
 *   word 9  pending      how many pending peers                           (writer only)
 *   words 10-12 unproven newest, oldest, how many unproven peers         (writer only)
 *   (pending and unproven: the eviction lists, see peers-eviction.ts)
 *
 * Record (64 bytes, one per slot, following the header):
 *   word 0  sequence     seqlock: odd while the writer rewrites the record
 *   word 1  flags        public flags in the low 16 bits, RECORD_OCCUPIED above; 0 = empty slot
 *   words 2-5 key        the IPv6 address as four little-endian words
 *   word 6  mappedIPv4   uint32
 *   word 7  mappedPort
 *   word 8  lastRx       seconds; stored on its own by any thread (touchRx), no seqlock
 *   word 9  lastTx       seconds; likewise (touchTx)
 *   word 10 createdAt    seconds
 *   word 11 counters     bubbles in bits 0-7, pings in bits 8-15, the alternate relay's
 *                        port in bits 16-31                                 (writer only)
 *   word 12 stamps       seconds mod 65536 of the last bubble (low 16 bits) and the last
 *                        ping (high 16 bits); compared as signed 16-bit ages (writer only)
 *   word 13 alternate    a native peer's alternate relay IPv4 (native-relays.ts), 0 if none
 *                                                                           (writer only)
 *   word 14 newer        its eviction list's next newer slot + 1, 0 if none (writer only)
 *   word 15 older        its eviction list's next older slot + 1, 0 if none (writer only)
 * Words 1-9 are what readers see: the writer stores them with Atomics inside the seqlock. The
 * "writer only" words are never read by data-plane workers, so plain stores do. An empty slot
 * (flags 0) keeps stale bytes in its other words: nothing reads them, and insert rewrites them all.
 */
import { MAX_PEER_CAPACITY } from './constants.js';

export const PEER_TABLE_MAGIC = 0x50454552;
export const HEADER_WORDS = 16;
export const RECORD_WORDS = 16;

export const HEADER_MAGIC = 0;
export const HEADER_SLOTS = 1;
export const HEADER_CAPACITY = 2;
export const HEADER_KEY0 = 3;
export const HEADER_KEY1 = 4;
export const HEADER_SIZE = 5;
export const HEADER_NEWEST_PENDING = 6;
export const HEADER_SWEEP_HAND = 7;
export const HEADER_OLDEST_PENDING = 8;
export const HEADER_PENDING_COUNT = 9;
export const HEADER_NEWEST_UNPROVEN = 10;
export const HEADER_OLDEST_UNPROVEN = 11;
export const HEADER_UNPROVEN_COUNT = 12;

export const RECORD_SEQUENCE = 0;
export const RECORD_FLAGS = 1;
export const RECORD_KEY = 2;
export const RECORD_MAPPED_IPV4 = 6;
export const RECORD_MAPPED_PORT = 7;
export const RECORD_LAST_RX = 8;
export const RECORD_LAST_TX = 9;
export const RECORD_CREATED_AT = 10;
export const RECORD_COUNTERS = 11;
export const RECORD_PACING_STAMPS = 12;
export const RECORD_ALTERNATE_IPV4 = 13;
export const RECORD_NEWER = 14;
export const RECORD_OLDER = 15;
/** Words from here on are read and written by the writer thread only. */
export const RECORD_WRITER_ONLY = RECORD_CREATED_AT;

/** Flag bits (the low 16 bits of a record's flags word are the caller's; these are the ones in use). */
/** The peer's mapping is trusted (RFC 4380): packets go to it and are accepted from it. */
export const PEER_TRUSTED = 1;
/** The control plane holds queued packets for this peer. */
export const PEER_QUEUED = 2;
/** The peer's bubble or ping counters are non-zero: the fast path must defer to the control plane. */
export const PEER_COUNTING = 4;
/** The local side (the TUN device) asked for this peer: it sent it a packet that had no trusted path. */
export const PEER_SOLICITED = 8;
/**
 * The peer has not proven two-way traffic (see relay-context.ts, trustPeer): it was created by an
 * unsolicited packet from the network, or answered us without proof. Such peers make room first.
 */
export const PEER_UNPROVEN = 16;

/** The flag bits callers may set; RECORD_OCCUPIED sits above them so a live record is never 0. */
export const PUBLIC_FLAGS_MASK = 0xffff;
export const RECORD_OCCUPIED = 0x10000;

export const PEER_RECORD_BYTES = RECORD_WORDS * 4;
export const PEER_TABLE_HEADER_BYTES = HEADER_WORDS * 4;

/** First Int32 index of `slot`'s record. */
export function recordBase(slot: number): number {
  return HEADER_WORDS + slot * RECORD_WORDS;
}

/** The most peers a table holds per record slot: 7/8 (see slotCountFor). */
export const MAX_LOAD_NUMERATOR = 7;
export const MAX_LOAD_DENOMINATOR = 8;

/**
 * Records for a table of `capacity` peers: enough for a load of at most 7/8 (linear probing
 * degrades sharply beyond that), and always one slot more than the capacity, so every probe
 * sequence ends at an empty slot. Not a power of two: slots are reached by multiply-high range
 * reduction (slotOfHash), so the table costs 64 * 8/7 = 73 bytes per peer at any capacity
 * instead of up to twice that. Throws RangeError outside 0..MAX_PEER_CAPACITY (a programming
 * error: capacities come from validated configuration).
 */
export function slotCountFor(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 0 || capacity > MAX_PEER_CAPACITY) {
    throw new RangeError(
      `peer table capacity must be an integer in 0..${MAX_PEER_CAPACITY}, got ${capacity}`,
    );
  }
  return Math.max(capacity + 1, Math.ceil((capacity * MAX_LOAD_DENOMINATOR) / MAX_LOAD_NUMERATOR));
}

/** Bytes a table of `capacity` peers occupies (header + records). */
export function peerTableByteLength(capacity: number): number {
  return PEER_TABLE_HEADER_BYTES + slotCountFor(capacity) * PEER_RECORD_BYTES;
}
