/**
 * The peer table's eviction rule (src/teredo/peers-eviction.ts) by example: unproven peers hold
 * at most half the table and go first, oldest first, except one heard from lately; a peer the
 * local side asks for takes an unproven one's place; pending and proven peers are never taken by
 * a newcomer from the network. The property test (peers-eviction.property.test.ts) checks the
 * same rule on random histories.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPeerTable,
  PEER_SOLICITED,
  PEER_TRUSTED,
  PEER_UNPROVEN,
  unprovenLimit,
} from '../../../src/teredo/peers.js';
import type { PeerTable } from '../../../src/teredo/peers.js';

const SEED = 0x5eed;

function keyFor(index: number): Uint8Array {
  const key = Uint8Array.of(0x20, 0x01, 0, 0, 0xc0, 0x00, 0x02, 0x01, 0x80, 0, 0xf2, 0x27, 0, 0, 0, 0);
  new DataView(key.buffer).setUint32(12, index);
  return key;
}

/** Inserts key `index` with `flags` at `now`; returns the indexes of the peers it evicted. */
function insert(table: PeerTable, index: number, flags: number, now: number): number[] {
  const evicted: number[] = [];
  const key = new Uint8Array(16);
  const slot = table.insert(
    keyFor(index),
    0,
    now,
    (victim) => {
      table.keyInto(victim, key, 0);
      evicted.push(new DataView(key.buffer).getUint32(12));
    },
    flags,
  );
  if (slot >= 0) return evicted;
  return [-1];
}

const present = (table: PeerTable, index: number): boolean => table.find(keyFor(index), 0) >= 0;

test('unproven peers hold at most half the table: one more evicts the oldest, even with room left', () => {
  const table = createPeerTable(8, SEED);
  assert.equal(unprovenLimit(8), 4);
  assert.equal(unprovenLimit(7), 4, 'half, rounded up');
  for (const index of [1, 2, 3, 4]) assert.deepEqual(insert(table, index, PEER_UNPROVEN, 100), []);
  assert.deepEqual(insert(table, 5, PEER_UNPROVEN, 101), [1], 'the oldest went');
  assert.deepEqual(insert(table, 6, PEER_UNPROVEN | PEER_TRUSTED, 102), [2]);
  assert.deepEqual([table.size(), table.unproven()], [4, 4], 'four slots stay free');
  // The local side's peers use the other half without evicting anything.
  for (const index of [10, 11, 12, 13]) assert.deepEqual(insert(table, index, PEER_SOLICITED, 103), []);
  assert.equal(table.size(), 8);
});

test('the local side takes an unproven peer’s place; a pending or proven peer is never taken by the network', () => {
  const table = createPeerTable(4, SEED);
  insert(table, 1, PEER_SOLICITED, 100); // pending: we wait for its answer
  insert(table, 2, PEER_SOLICITED, 100);
  table.setFlags(table.find(keyFor(2), 0), PEER_SOLICITED | PEER_TRUSTED); // proven
  insert(table, 3, PEER_UNPROVEN, 100);
  insert(table, 4, PEER_UNPROVEN | PEER_TRUSTED, 101);
  assert.deepEqual(insert(table, 5, PEER_UNPROVEN, 102), [3], 'the network evicts its own, oldest first');
  assert.deepEqual(insert(table, 6, PEER_UNPROVEN, 102), [4]);
  assert.ok(present(table, 1) && present(table, 2));
  assert.deepEqual(insert(table, 7, PEER_SOLICITED, 103), [5], 'the local side takes the oldest unproven');
  assert.deepEqual(insert(table, 8, PEER_UNPROVEN, 104), [6]);
  // With the last unproven peer gone, the network finds no room at all.
  table.remove(table.find(keyFor(8), 0));
  insert(table, 9, PEER_SOLICITED, 105);
  assert.deepEqual(insert(table, 10, PEER_UNPROVEN, 106), [-1], 'refused');
  // The local side still gets one: the newest pending peer makes room, as before.
  assert.deepEqual(insert(table, 11, 0, 107), [9]);
  assert.ok(present(table, 1) && present(table, 2) && present(table, 7));
});

test('second chance: an unproven peer heard from since it was listed goes to the back, once', () => {
  const table = createPeerTable(4, SEED); // two unproven at most
  insert(table, 1, PEER_UNPROVEN | PEER_TRUSTED, 100);
  insert(table, 2, PEER_UNPROVEN | PEER_TRUSTED, 100);
  const talker = table.find(keyFor(1), 0);
  table.touchRx(talker, 103);
  assert.deepEqual(insert(table, 3, PEER_UNPROVEN, 104), [2], 'the talker was spared');
  assert.equal(table.createdAt(table.find(keyFor(1), 0)), 104, 'and counts as listed now');
  assert.deepEqual(insert(table, 4, PEER_UNPROVEN, 105), [1], 'not heard from since: its turn');

  // Heard from, but not lately (more than 30 s ago): no second chance.
  insert(table, 5, PEER_UNPROVEN, 105);
  const silent = table.find(keyFor(4), 0);
  table.touchRx(silent, 106);
  assert.deepEqual(insert(table, 6, PEER_UNPROVEN, 137), [4]);
  // A peer that lost its place in the list (trusted and proven) leaves it: it is never chosen.
  table.setFlags(table.find(keyFor(5), 0), PEER_SOLICITED | PEER_TRUSTED);
  assert.equal(table.unproven(), 1);
  assert.deepEqual(insert(table, 7, PEER_UNPROVEN, 138), []);
  assert.deepEqual(insert(table, 8, PEER_UNPROVEN, 139), [6]);
  assert.ok(present(table, 5));
});
