import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attachPeerTable,
  createPeerSnapshot,
  createPeerTable,
  initPeerTable,
  PEER_COUNTING,
  PEER_QUEUED,
  PEER_RECORD_BYTES,
  PEER_TRUSTED,
  peerTableByteLength,
  sweepBudget,
  sweepStride,
} from '../../../src/teredo/peers.js';
import { DEFAULT_PEER_CAPACITY } from '../../../src/teredo/constants.js';
import type { PeerTable } from '../../../src/teredo/peers.js';

const SEED = 0x5eed;

/** A Teredo-looking address whose last four bytes carry `index`. */
function keyFor(index: number): Uint8Array {
  const key = Uint8Array.of(0x20, 0x01, 0, 0, 0xc0, 0x00, 0x02, 0x01, 0x80, 0, 0xf2, 0x27, 0, 0, 0, 0);
  new DataView(key.buffer).setUint32(12, index);
  return key;
}

/** `count` keys whose probing starts at `home`, found by search (the hash is keyed by the seed). */
function keysWithHome(table: PeerTable, home: number, count: number, skip = 0): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (let index = skip; keys.length < count; index++) {
    const key = keyFor(index);
    if (table.homeSlot(key, 0) === home) keys.push(key);
  }
  return keys;
}

function insertOrFail(table: PeerTable, key: Uint8Array, now = 100): number {
  const slot = table.insert(key, 0, now);
  assert.ok(slot >= 0, 'insert failed');
  return slot;
}

test('records are 64 bytes; the table is a 64-byte header plus capacity * 8/7 records, one more at least', () => {
  assert.equal(PEER_RECORD_BYTES, 64);
  for (const capacity of [0, 1, 6, 7, 8, 100, 65_536, 1_000_000, DEFAULT_PEER_CAPACITY, 2 ** 24]) {
    const slots = (peerTableByteLength(capacity) - 64) / PEER_RECORD_BYTES;
    assert.ok(Number.isInteger(slots), `${slots} slots for ${capacity}`);
    assert.ok(slots > capacity, 'always one empty slot');
    assert.ok(capacity <= (slots * 7) / 8 || capacity === 0, 'load at most 7/8');
    assert.ok(slots <= Math.max(capacity + 1, (capacity * 8) / 7 + 1), `${slots} slots: no more than needed`);
  }
  assert.equal(peerTableByteLength(DEFAULT_PEER_CAPACITY), 64 + 1_198_373 * 64);
  // Issue 6's goal: a million peers in at most 128 MB (decimal) of table.
  assert.ok(peerTableByteLength(1_000_000) <= 128_000_000);
  assert.ok(peerTableByteLength(1_000_000) / 1_000_000 <= 128);
  assert.equal(createPeerTable(0, SEED).slots, 1);
  assert.equal(createPeerTable(6, SEED).slots, 7);
  assert.equal(createPeerTable(7, SEED).slots, 8);
  assert.equal(createPeerTable(8, SEED).slots, 10);
});

test('home slots cover a table whose size is not a power of two evenly', () => {
  const table = createPeerTable(600, SEED);
  assert.equal(table.slots, 686);
  const hits = new Uint32Array(table.slots);
  const rounds = 200;
  for (let index = 0; index < table.slots * rounds; index++) hits[table.homeSlot(keyFor(index), 0)]!++;
  // Binomial with mean 200, sd ~14: every slot is reached, none twice as often as the mean.
  assert.ok(Math.min(...hits) > rounds / 2, `least used slot: ${Math.min(...hits)}`);
  assert.ok(Math.max(...hits) < rounds * 1.5, `most used slot: ${Math.max(...hits)}`);
  const lastThird = hits.subarray(Math.floor((table.slots * 2) / 3)).reduce((sum, value) => sum + value, 0);
  assert.ok(Math.abs(lastThird / (table.slots * rounds) - 1 / 3) < 0.01, 'the top slots get their share');
});

test('capacities outside 0..2^24 or not integers are programming errors', () => {
  for (const capacity of [-1, 1.5, Number.NaN, 2 ** 24 + 1]) {
    assert.throws(() => createPeerTable(capacity), RangeError);
    assert.throws(() => peerTableByteLength(capacity), RangeError);
  }
});

test('insert creates an untrusted, unmapped peer; inserting it again returns the same slot', () => {
  const table = createPeerTable(16, SEED);
  const key = keyFor(1);
  const slot = table.insert(key, 0, 1234);
  assert.ok(slot >= 0 && slot < table.slots);
  assert.equal(table.size(), 1);
  assert.equal(table.find(key, 0), slot);
  assert.equal(table.insert(key, 0, 9999), slot);
  assert.equal(table.size(), 1);
  assert.equal(table.flags(slot), 0);
  assert.equal(table.mappedIPv4(slot), 0);
  assert.equal(table.mappedPort(slot), 0);
  assert.equal(table.createdAt(slot), 1234, 'the second insert did not reset the peer');
  assert.equal(table.lastRx(slot), 0);
  assert.equal(table.lastTx(slot), 0);
  assert.equal(table.bubbles(slot), 0);
  assert.equal(table.pings(slot), 0);
  const copy = new Uint8Array(20);
  table.keyInto(slot, copy, 2);
  assert.deepEqual(copy.subarray(2, 18), key);
});

test('keys are read at any offset of a larger buffer', () => {
  const table = createPeerTable(16, SEED);
  const packet = new Uint8Array(64);
  packet.set(keyFor(7), 24);
  const slot = table.insert(packet, 24, 1);
  assert.equal(table.find(keyFor(7), 0), slot);
  assert.equal(table.find(packet, 8), -1);
});

test('find misses absent keys; remove forgets one peer and keeps the others', () => {
  const table = createPeerTable(16, SEED);
  for (let index = 0; index < 10; index++) insertOrFail(table, keyFor(index));
  assert.equal(table.find(keyFor(10), 0), -1);
  table.remove(table.find(keyFor(3), 0));
  assert.equal(table.size(), 9);
  assert.equal(table.find(keyFor(3), 0), -1);
  for (let index = 0; index < 10; index++) {
    if (index !== 3) assert.ok(table.find(keyFor(index), 0) >= 0, `peer ${index} still there`);
  }
  table.remove(-1);
  table.remove(table.slots);
  table.remove(0.5);
  assert.equal(table.size(), 9, 'invalid slots are ignored');
});

test('colliding keys take consecutive slots; removing the first shifts the chain back', () => {
  const table = createPeerTable(12, SEED);
  const home = 3;
  const [a, b, c] = keysWithHome(table, home, 3) as [Uint8Array, Uint8Array, Uint8Array];
  assert.equal(table.insert(a, 0, 1), home);
  assert.equal(table.insert(b, 0, 2), home + 1);
  assert.equal(table.insert(c, 0, 3), home + 2);
  const slotB = table.find(b, 0);
  table.setMapping(slotB, 0xc6336401, 4000);
  table.setFlags(slotB, PEER_TRUSTED);
  table.touchRx(slotB, 50);
  table.setBubbles(slotB, 2, 40);
  table.remove(table.find(a, 0));
  assert.equal(table.find(b, 0), home, 'b moved into the hole');
  assert.equal(table.find(c, 0), home + 1, 'c followed');
  assert.equal(table.find(a, 0), -1);
  const moved = table.find(b, 0);
  assert.equal(table.mappedIPv4(moved), 0xc6336401, 'the whole record moved');
  assert.equal(table.mappedPort(moved), 4000);
  assert.equal(table.flags(moved), PEER_TRUSTED);
  assert.equal(table.lastRx(moved), 50);
  assert.equal(table.createdAt(moved), 2);
  assert.equal(table.bubbles(moved), 2);
  assert.equal(table.lastBubble(moved), 40);
  assert.equal(table.flags(home + 2), 0, 'the last slot of the chain is empty again');
});

test('backward shift never moves a record before its home slot', () => {
  const table = createPeerTable(12, SEED);
  const [a] = keysWithHome(table, 5, 1) as [Uint8Array];
  const [b] = keysWithHome(table, 6, 1) as [Uint8Array];
  const [c] = keysWithHome(table, 5, 1, keyIndexAfter(a)) as [Uint8Array];
  assert.equal(table.insert(a, 0, 1), 5);
  assert.equal(table.insert(b, 0, 1), 6);
  assert.equal(table.insert(c, 0, 1), 7, 'home 5, pushed past b');
  table.remove(5);
  assert.equal(table.find(b, 0), 6, 'b stays at its home');
  assert.equal(table.find(c, 0), 5, 'c jumps over b into the hole');
  assert.equal(table.flags(7), 0);
});

/** The index after `key`'s, for searching further keys with keysWithHome. */
function keyIndexAfter(key: Uint8Array): number {
  return new DataView(key.buffer).getUint32(12) + 1;
}

test('probing wraps around the end of the table, and so does the backward shift', () => {
  const table = createPeerTable(12, SEED);
  const last = table.slots - 1;
  const [a, b, c] = keysWithHome(table, last, 3) as [Uint8Array, Uint8Array, Uint8Array];
  const [d] = keysWithHome(table, 0, 1) as [Uint8Array];
  assert.equal(table.insert(a, 0, 1), last);
  assert.equal(table.insert(b, 0, 1), 0);
  assert.equal(table.insert(c, 0, 1), 1);
  assert.equal(table.insert(d, 0, 1), 2, 'home 0 is taken by the wrapped chain');
  table.remove(last);
  assert.equal(table.find(b, 0), last);
  assert.equal(table.find(c, 0), 0);
  assert.equal(table.find(d, 0), 1);
  assert.equal(table.flags(2), 0);
  table.remove(table.find(b, 0));
  assert.equal(table.find(c, 0), last);
  assert.equal(table.find(d, 0), 0);
});

test('read copies the fields of the peer it was asked for, and refuses any other key or slot', () => {
  const table = createPeerTable(16, SEED);
  const key = keyFor(42);
  const slot = insertOrFail(table, key);
  table.setMapping(slot, 0xcb007105, 0xf00d);
  table.setFlags(slot, PEER_TRUSTED | PEER_QUEUED | 0x30000);
  table.touchRx(slot, 77);
  table.touchTx(slot, 78);
  const out = createPeerSnapshot();
  assert.equal(table.read(slot, key, 0, out), true);
  assert.deepEqual(out, {
    flags: PEER_TRUSTED | PEER_QUEUED,
    mappedIPv4: 0xcb007105,
    mappedPort: 0xf00d,
    lastRx: 77,
    lastTx: 78,
  });
  const untouched = createPeerSnapshot();
  assert.equal(table.read(slot, keyFor(43), 0, untouched), false);
  assert.equal(table.read((slot + 1) % table.slots, key, 0, untouched), false);
  assert.equal(table.read(-1, key, 0, untouched), false);
  assert.equal(table.read(table.slots, key, 0, untouched), false);
  assert.deepEqual(untouched, createPeerSnapshot(), 'a refused read leaves out alone');
  table.remove(slot);
  assert.equal(table.read(slot, key, 0, out), false);
});

test('timestamps are whole seconds as uint32', () => {
  const table = createPeerTable(4, SEED);
  const slot = table.insert(keyFor(1), 0, 0xfffffff0);
  table.touchRx(slot, 0xfffffffe);
  table.touchTx(slot, 0x80000000);
  assert.equal(table.createdAt(slot), 0xfffffff0);
  assert.equal(table.lastRx(slot), 0xfffffffe);
  assert.equal(table.lastTx(slot), 0x80000000);
  table.touchRx(table.slots, 1);
  table.touchRx(-1, 1);
});

test('bubble and ping counters are independent, clamped to 0..255, with their timestamps', () => {
  const table = createPeerTable(4, SEED);
  const slot = insertOrFail(table, keyFor(1));
  table.setBubbles(slot, 3, 11);
  table.setPings(slot, 4, 12);
  assert.equal(table.bubbles(slot), 3);
  assert.equal(table.pings(slot), 4);
  assert.equal(table.lastBubble(slot), 11);
  assert.equal(table.lastPing(slot), 12);
  table.setBubbles(slot, 70_000, 13);
  table.setPings(slot, -5, 14);
  assert.equal(table.bubbles(slot), 0xff);
  assert.equal(table.pings(slot), 0);
  table.setPings(slot, 65_535, 0x10000 + 15);
  assert.equal(table.bubbles(slot), 0xff);
  assert.equal(table.pings(slot), 0xff);
  assert.equal(table.lastPing(slot), 15, 'stamps are kept mod 65536');
  assert.equal(table.lastBubble(slot), 13);
  table.setAlternate(slot, 0xc0000201, 3544);
  assert.equal(table.alternateIPv4(slot), 0xc0000201);
  assert.equal(table.alternatePort(slot), 3544);
  assert.equal(table.bubbles(slot), 0xff, 'the alternate leaves the counters alone');
  assert.equal(table.pings(slot), 0xff);
  table.setBubbles(slot, 0, 1);
  table.setPings(slot, 0, 2);
  assert.equal(table.alternatePort(slot), 3544, 'and the counters leave the alternate alone');
});

test('setters ignore empty slots and getters return 0 for them', () => {
  const table = createPeerTable(4, SEED);
  const slot = insertOrFail(table, keyFor(1));
  const empty = (slot + 1) % table.slots;
  table.setMapping(empty, 1, 2);
  table.setFlags(empty, PEER_TRUSTED);
  table.setBubbles(empty, 1, 1);
  assert.equal(table.flags(empty), 0, 'still empty');
  assert.equal(table.mappedIPv4(empty), 0);
  assert.equal(table.size(), 1);
  const copy = new Uint8Array(16).fill(9);
  table.keyInto(empty, copy, 0);
  assert.deepEqual(copy, new Uint8Array(16));
});

test('another thread attaches to the same buffer, here or at an offset inside a larger one', () => {
  const table = createPeerTable(32, SEED);
  const slot = insertOrFail(table, keyFor(5));
  table.setMapping(slot, 0xc0000201, 3544);
  const view = attachPeerTable(table.buffer);
  assert.equal(view.capacity, 32);
  assert.equal(view.slots, table.slots);
  assert.equal(view.size(), 1);
  assert.equal(view.find(keyFor(5), 0), slot);
  assert.equal(view.homeSlot(keyFor(9), 0), table.homeSlot(keyFor(9), 0), 'same hash key');
  view.touchRx(slot, 99);
  assert.equal(table.lastRx(slot), 99);

  const shared = new SharedArrayBuffer(128 + peerTableByteLength(8));
  const embedded = initPeerTable(shared, 128, 8, SEED);
  insertOrFail(embedded, keyFor(1));
  const embeddedView = attachPeerTable(shared, 128);
  assert.equal(embeddedView.byteOffset, 128);
  assert.ok(embeddedView.find(keyFor(1), 0) >= 0);
  assert.equal(
    new Int32Array(shared, 0, 32).every((word) => word === 0),
    true,
    'bytes before the table untouched',
  );
});

test('initPeerTable clears whatever the region held before', () => {
  const shared = new SharedArrayBuffer(peerTableByteLength(16));
  new Uint8Array(shared).fill(0xff);
  const table = initPeerTable(shared, 0, 16, SEED);
  assert.equal(table.size(), 0);
  for (let slot = 0; slot < table.slots; slot++) assert.equal(table.flags(slot), 0);
  assert.equal(table.find(keyFor(1), 0), -1);
  const slot = insertOrFail(table, keyFor(1), 5);
  assert.equal(table.read(slot, keyFor(1), 0, createPeerSnapshot()), true, 'no odd sequence left behind');
});

test('initPeerTable on a fresh buffer skips the clearing scan and gives an empty, working table', () => {
  const shared = new SharedArrayBuffer(64 + peerTableByteLength(1024));
  const table = initPeerTable(shared, 64, 1024, SEED, true);
  assert.equal(table.size(), 0);
  assert.equal(table.find(keyFor(1), 0), -1);
  const slot = insertOrFail(table, keyFor(1), 5);
  assert.equal(attachPeerTable(shared, 64).find(keyFor(1), 0), slot);
  // The promise it relies on (and the reason it exists): bytes it was told are zero stay as
  // they were, so a region that was not fresh keeps its garbage. Only fresh buffers qualify.
  const dirty = new SharedArrayBuffer(peerTableByteLength(16));
  new Uint8Array(dirty).fill(0xff);
  const unscanned = initPeerTable(dirty, 0, 16, SEED, true);
  assert.notEqual(unscanned.flags(0), 0);
});

test('attaching to something that is not a peer table throws', () => {
  assert.throws(() => attachPeerTable(new SharedArrayBuffer(4096)), TypeError);
  assert.throws(() => attachPeerTable(new SharedArrayBuffer(16)), RangeError);
  const table = createPeerTable(64, SEED);
  assert.throws(() => attachPeerTable(table.buffer, 2), RangeError);
  assert.throws(() => attachPeerTable(table.buffer.slice(0, 1024)), TypeError, 'truncated');
  assert.throws(() => initPeerTable(new SharedArrayBuffer(256), 0, 64), RangeError, 'too small');
});

test('tables with different seeds place the same keys differently; unseeded keys are random', () => {
  const first = createPeerTable(1024, 1);
  const second = createPeerTable(1024, 2);
  const unseeded = [createPeerTable(1024), createPeerTable(1024)];
  let sameSeeded = 0;
  let sameUnseeded = 0;
  for (let index = 0; index < 200; index++) {
    const key = keyFor(index);
    if (first.homeSlot(key, 0) === second.homeSlot(key, 0)) sameSeeded++;
    if (unseeded[0]!.homeSlot(key, 0) === unseeded[1]!.homeSlot(key, 0)) sameUnseeded++;
  }
  assert.ok(sameSeeded < 10, `${sameSeeded} of 200 homes agree`);
  assert.ok(sameUnseeded < 10, `${sameUnseeded} of 200 homes agree`);
  assert.equal(
    createPeerTable(1024, 1).homeSlot(keyFor(3), 0),
    first.homeSlot(keyFor(3), 0),
    'a seed is reproducible',
  );
});

test('a full table evicts the most recently inserted untrusted peer, never a trusted one', () => {
  const table = createPeerTable(4, SEED);
  const keys = [0, 1, 2, 3].map(keyFor);
  for (const key of keys) insertOrFail(table, key);
  table.setFlags(table.find(keys[0]!, 0), PEER_TRUSTED);
  table.setFlags(table.find(keys[2]!, 0), PEER_TRUSTED | PEER_QUEUED);

  const evicted: string[] = [];
  const onEvict = (slot: number): void => {
    const key = new Uint8Array(16);
    table.keyInto(slot, key, 0);
    evicted.push(Buffer.from(key).toString('hex'));
  };
  const hex = (key: Uint8Array): string => Buffer.from(key).toString('hex');

  assert.ok(table.insert(keyFor(4), 0, 200, onEvict) >= 0);
  assert.deepEqual(evicted, [hex(keys[3]!)], 'the newest untrusted peer went');
  assert.equal(table.size(), 4);
  assert.ok(table.insert(keyFor(5), 0, 201, onEvict) >= 0);
  assert.deepEqual(evicted, [hex(keys[3]!), hex(keyFor(4))], 'then the newcomer itself');
  assert.ok(table.find(keys[1]!, 0) >= 0, 'the older untrusted peer survived the flood');
  assert.ok(table.find(keys[0]!, 0) >= 0 && table.find(keys[2]!, 0) >= 0, 'trusted peers survived');

  table.setFlags(table.find(keyFor(5), 0), PEER_TRUSTED);
  table.setFlags(table.find(keys[1]!, 0), PEER_TRUSTED);
  const before = [0, 1, 2, 5].map((index) => table.find(keyFor(index), 0));
  assert.equal(table.insert(keyFor(6), 0, 202, onEvict), -1, 'all trusted: refused');
  assert.equal(evicted.length, 2);
  assert.deepEqual(
    [0, 1, 2, 5].map((index) => table.find(keyFor(index), 0)),
    before,
    'a refused insert changes nothing',
  );

  table.setFlags(table.find(keys[0]!, 0), 0);
  table.setFlags(table.find(keys[1]!, 0), PEER_COUNTING);
  assert.ok(table.insert(keyFor(7), 0, 203, onEvict) >= 0);
  assert.equal(evicted.at(-1), hex(keys[1]!), 'a peer that lost trust last counts as the newest untrusted');
  assert.equal(
    table.insert(keyFor(0), 0, 204, onEvict),
    table.find(keyFor(0), 0),
    'present keys never evict',
  );
  assert.equal(evicted.length, 3);
});

test('a table of capacity 0 refuses every peer', () => {
  const table = createPeerTable(0, SEED);
  assert.equal(table.insert(keyFor(1), 0, 1), -1);
  assert.equal(table.find(keyFor(1), 0), -1);
  assert.equal(table.size(), 0);
});

test('expiry removes peers idle MORE than the limit on all of createdAt, lastRx and lastTx', () => {
  const table = createPeerTable(16, SEED);
  insertOrFail(table, keyFor(1), 100); // only created
  table.touchRx(insertOrFail(table, keyFor(2), 10), 100);
  table.touchTx(insertOrFail(table, keyFor(3), 10), 100);
  table.touchRx(insertOrFail(table, keyFor(4), 10), 99);
  table.touchRx(insertOrFail(table, keyFor(5), 10), 140); // ahead of "now": another thread's clock
  const removed: number[] = [];
  const onRemove = (slot: number): void => {
    const key = new Uint8Array(16);
    table.keyInto(slot, key, 0);
    removed.push(new DataView(key.buffer).getUint32(12));
  };
  assert.equal(table.expire(130, 30, table.slots, onRemove), 1);
  assert.deepEqual(removed, [4], 'exactly 30 s idle stays; 31 s goes');
  assert.equal(table.expire(131, 30, table.slots, onRemove), 3);
  assert.deepEqual(removed.slice(1).sort(), [1, 2, 3]);
  assert.ok(table.find(keyFor(5), 0) >= 0, 'a timestamp in the future is not ancient');
  assert.equal(table.size(), 1);
});

test('expiry is incremental: each call visits `budget` slots and a full turn catches every idle peer', () => {
  const table = createPeerTable(448, SEED);
  assert.equal(table.slots, 512);
  for (let index = 0; index < 400; index++) insertOrFail(table, keyFor(index), index % 2 === 0 ? 10 : 1000);
  const budget = sweepBudget(table, 8);
  assert.equal(budget, 64);
  let total = 0;
  const perCall: number[] = [];
  for (let call = 0; call < 8; call++) {
    const removed = table.expire(1000, 30, budget);
    perCall.push(removed);
    total += removed;
    assert.ok(removed < 200, `call ${call} removed ${removed}: not everything at once`);
  }
  assert.equal(total, 200, `${perCall.join('+')}: one turn removed every idle peer`);
  for (let index = 0; index < 400; index++) {
    assert.equal(table.find(keyFor(index), 0) >= 0, index % 2 === 1, `peer ${index}`);
  }
  assert.equal(table.expire(1000, 30, 0), 0);
  assert.equal(table.expire(1000, 30, Number.NaN), 0);
  assert.equal(
    table.expire(2000, 30, Number.POSITIVE_INFINITY),
    200,
    'at most one turn per call, always complete',
  );
  assert.equal(table.size(), 0);
});

test('the expiry hand jumps by a stride coprime with the slot count: a turn visits every slot once', () => {
  for (const slots of [1, 2, 3, 7, 10, 686, 1171, 74_899, 1_198_373]) {
    const stride = sweepStride(slots);
    assert.ok(stride >= 0 && stride < slots, `stride ${stride} for ${slots} slots`);
    if (slots > 3) assert.ok(stride > slots / 3, 'visits far apart');
    if (slots > 2000) continue;
    const seen = new Set<number>();
    for (let step = 0, slot = 0; step < slots; step++, slot = (slot + stride) % slots) seen.add(slot);
    assert.equal(seen.size, slots);
  }
});

test('a sustained flood at capacity with expiry keeps probe chains as short as in a random table', () => {
  // Regression: a hand moving slot by slot freed a band behind it, new peers filled the band
  // whatever their homes, and the table became one cluster (displacements of 70% of the table).
  const table = createPeerTable(4096, SEED);
  const key = new Uint8Array(16);
  let now = 1000;
  for (let index = 0; index < 4096 * 8; index++) {
    key.set(keyFor(index));
    key[8] = index >>> 16;
    table.insert(key, 0, now);
    if ((index + 1) % 600 === 0) table.expire(++now, 30, sweepBudget(table, 30));
  }
  assert.equal(table.size(), 4096, 'full');
  let largest = 0;
  let total = 0;
  for (let slot = 0; slot < table.slots; slot++) {
    if (table.createdAt(slot) === 0) continue;
    table.keyInto(slot, key, 0);
    const displacement = (slot - table.homeSlot(key, 0) + table.slots) % table.slots;
    largest = Math.max(largest, displacement);
    total += displacement;
  }
  // Linear probing at load 7/8 averages 3.5 probes per hit; the banded sweep gave about 1,500.
  assert.ok(total / table.size() < 10, `mean displacement ${total / table.size()}`);
  assert.ok(largest < 400, `largest displacement ${largest} of ${table.slots} slots`);
});

test('onRemove sees the record intact, before it goes', () => {
  const table = createPeerTable(8, SEED);
  const slot = insertOrFail(table, keyFor(1), 1);
  table.setFlags(slot, PEER_QUEUED);
  table.setMapping(slot, 7, 8);
  let seen = '';
  table.expire(100, 30, table.slots, (removedSlot) => {
    const key = new Uint8Array(16);
    table.keyInto(removedSlot, key, 0);
    seen = `${Buffer.from(key).toString('hex')} ${table.flags(removedSlot)} ${table.mappedPort(removedSlot)}`;
    assert.equal(table.size(), 1);
  });
  assert.equal(seen, `${Buffer.from(keyFor(1)).toString('hex')} ${PEER_QUEUED} 8`);
  assert.equal(table.size(), 0);
});

test('reset forgets every peer and the table works again afterwards', () => {
  const table = createPeerTable(64, SEED);
  for (let index = 0; index < 50; index++) insertOrFail(table, keyFor(index));
  table.setFlags(table.find(keyFor(3), 0), PEER_TRUSTED);
  table.reset();
  assert.equal(table.size(), 0);
  for (let index = 0; index < 50; index++) assert.equal(table.find(keyFor(index), 0), -1);
  for (let slot = 0; slot < table.slots; slot++) assert.equal(table.flags(slot), 0);
  for (let index = 0; index < 64; index++) insertOrFail(table, keyFor(1000 + index));
  assert.equal(table.size(), 64);
  assert.ok(table.insert(keyFor(5000), 0, 1) >= 0, 'eviction list was reset consistently');
});
