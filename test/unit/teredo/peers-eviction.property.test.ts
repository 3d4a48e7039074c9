/**
 * The peer table's eviction rule (src/teredo/peers-eviction.ts) against a model, with unproven,
 * pending and proven peers: random inserts from the network (PEER_UNPROVEN) and from the local
 * side, flag changes, receptions, clock ticks, removals and expiry sweeps on small tables. After
 * every step the table holds exactly the model's peers; every eviction takes the peer the rule
 * names. Then, whatever the history: a flood of unproven inserts never evicts a proven or pending
 * peer and never holds more than half the table, and a peer the local side asks for always gets
 * a slot while any unproven or pending peer could make room.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createPeerTable,
  PEER_QUEUED,
  PEER_SOLICITED,
  PEER_TRUSTED,
  PEER_UNPROVEN,
  unprovenLimit,
} from '../../../src/teredo/peers.js';
import type { PeerTable } from '../../../src/teredo/peers.js';
import { SECOND_CHANCE_SECONDS, SECOND_CHANCES } from '../../../src/teredo/peers-eviction.js';

const UNIVERSE = 24;
const IDLE_SECONDS = 30;

function keyFor(index: number): Uint8Array {
  const key = new Uint8Array(16);
  key[0] = 0x20;
  key[1] = 0x01;
  key[14] = index >> 8;
  key[15] = index & 0xff;
  return key;
}

function indexAt(table: PeerTable, slot: number): number {
  const key = new Uint8Array(16);
  table.keyInto(slot, key, 0);
  return (key[14]! << 8) | key[15]!;
}

type Kind = 'unproven' | 'pending' | 'proven';

function kindOf(flags: number): Kind {
  if ((flags & PEER_UNPROVEN) !== 0) return 'unproven';
  return (flags & PEER_TRUSTED) === 0 ? 'pending' : 'proven';
}

interface ModelPeer {
  flags: number;
  createdAt: number;
  lastRx: number;
  lastTx: number;
}

/** The table as the rule sees it: peers, and the two lists oldest first. */
class Model {
  readonly peers = new Map<number, ModelPeer>();
  pending: number[] = [];
  unproven: number[] = [];

  constructor(readonly capacity: number) {}

  listOf(kind: Kind): number[] | null {
    return kind === 'unproven' ? this.unproven : kind === 'pending' ? this.pending : null;
  }

  add(index: number, flags: number, now: number): void {
    this.peers.set(index, { flags, createdAt: now, lastRx: 0, lastTx: 0 });
    this.listOf(kindOf(flags))?.push(index);
  }

  delete(index: number): void {
    this.peers.delete(index);
    this.pending = this.pending.filter((other) => other !== index);
    this.unproven = this.unproven.filter((other) => other !== index);
  }

  setFlags(index: number, flags: number): void {
    const peer = this.peers.get(index);
    if (peer === undefined) return;
    const from = kindOf(peer.flags);
    const to = kindOf(flags);
    peer.flags = flags;
    if (from === to) return;
    const old = this.listOf(from);
    if (old !== null) old.splice(old.indexOf(index), 1);
    this.listOf(to)?.push(index);
  }

  /** The rule, step by step as peers-eviction.ts states it: the victim, null for none, 'refused'. */
  victim(unprovenInsert: boolean, now: number): number | null | 'refused' {
    const held = this.unproven.length;
    const full = this.peers.size >= this.capacity;
    if (held > 0 && held >= unprovenLimit(this.capacity) && (unprovenInsert || full)) {
      return this.oldestUnproven(now);
    }
    if (!full) return null;
    if (!unprovenInsert && this.pending.length > 0) return this.pending.at(-1)!;
    return held > 0 ? this.oldestUnproven(now) : 'refused';
  }

  private oldestUnproven(now: number): number {
    for (let chance = 0; chance < SECOND_CHANCES; chance++) {
      const index = this.unproven[0]!;
      const peer = this.peers.get(index)!;
      const heardSinceListed = peer.lastRx !== 0 && peer.lastRx > peer.createdAt;
      if (!heardSinceListed || now - peer.lastRx > SECOND_CHANCE_SECONDS) return index;
      this.unproven.push(this.unproven.shift()!);
      peer.createdAt = now;
    }
    return this.unproven[0]!;
  }
}

type Command =
  | { readonly kind: 'insert'; readonly key: number; readonly flags: number }
  | { readonly kind: 'remove'; readonly key: number }
  | { readonly kind: 'flags'; readonly key: number; readonly flags: number }
  | { readonly kind: 'touch'; readonly key: number; readonly rx: boolean }
  | { readonly kind: 'tick'; readonly seconds: number }
  | { readonly kind: 'expire'; readonly budget: number };

const key = fc.nat({ max: UNIVERSE - 1 });
/** Local inserts are solicited or plain (0, as the table's older callers insert); network ones unproven. */
const insertFlags = fc.constantFrom(0, PEER_SOLICITED, PEER_UNPROVEN, PEER_UNPROVEN | PEER_QUEUED);
const anyFlags = fc.constantFrom(
  0,
  PEER_TRUSTED,
  PEER_TRUSTED | PEER_SOLICITED,
  PEER_SOLICITED | PEER_QUEUED,
  PEER_UNPROVEN,
  PEER_UNPROVEN | PEER_TRUSTED,
  PEER_UNPROVEN | PEER_TRUSTED | PEER_SOLICITED,
);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('insert' as const), key, flags: insertFlags }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), key }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flags' as const), key, flags: anyFlags }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('touch' as const), key, rx: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds: fc.nat({ max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), budget: fc.nat({ max: 30 }) }) },
);

function checkAgainstModel(table: PeerTable, model: Model): void {
  assert.equal(table.size(), model.peers.size);
  assert.equal(table.unproven(), model.unproven.length);
  for (let index = 0; index < UNIVERSE; index++) {
    const slot = table.find(keyFor(index), 0);
    const peer = model.peers.get(index);
    if (peer === undefined) {
      assert.equal(slot, -1, `key ${index} should be absent`);
      continue;
    }
    assert.ok(slot >= 0, `key ${index} should be present`);
    assert.equal(table.flags(slot), peer.flags);
    assert.equal(table.createdAt(slot), peer.createdAt, `key ${index}: listed at`);
  }
}

/** Runs `commands` on a table of `capacity` and its model, checking every step; returns both. */
function replay(
  capacity: number,
  seed: number,
  commands: readonly Command[],
): { table: PeerTable; model: Model; now: number } {
  const table = createPeerTable(capacity, seed);
  const model = new Model(capacity);
  let now = 1000;
  const slotOf = (index: number): number => table.find(keyFor(index), 0);
  for (const step of commands) {
    switch (step.kind) {
      case 'insert': {
        const evicted: number[] = [];
        const slot = table.insert(
          keyFor(step.key),
          0,
          now,
          (victim) => evicted.push(indexAt(table, victim)),
          step.flags,
        );
        if (model.peers.has(step.key)) {
          assert.equal(slot, slotOf(step.key), 'present keys are returned as they are');
          assert.deepEqual(evicted, []);
          break;
        }
        const victim = model.victim((step.flags & PEER_UNPROVEN) !== 0, now);
        if (victim === 'refused') {
          assert.equal(slot, -1);
          assert.deepEqual(evicted, []);
          break;
        }
        assert.deepEqual(evicted, victim === null ? [] : [victim], 'the rule chose the victim');
        if (victim !== null) {
          assert.notEqual(kindOf(model.peers.get(victim)!.flags), 'proven', 'a proven peer never makes room');
          model.delete(victim);
        }
        assert.ok(slot >= 0);
        model.add(step.key, step.flags, now);
        break;
      }
      case 'remove':
        table.remove(slotOf(step.key));
        model.delete(step.key);
        break;
      case 'flags':
        table.setFlags(slotOf(step.key), step.flags);
        model.setFlags(step.key, step.flags);
        break;
      case 'touch': {
        const peer = model.peers.get(step.key);
        if (peer === undefined) break;
        if (step.rx) {
          table.touchRx(slotOf(step.key), now);
          peer.lastRx = now;
        } else {
          table.touchTx(slotOf(step.key), now);
          peer.lastTx = now;
        }
        break;
      }
      case 'tick':
        now += step.seconds;
        break;
      case 'expire':
        table.expire(now, IDLE_SECONDS, step.budget, (slot) => {
          const index = indexAt(table, slot);
          const peer = model.peers.get(index);
          assert.ok(peer !== undefined);
          assert.ok(
            [peer.createdAt, peer.lastRx, peer.lastTx].every((time) => now - time > IDLE_SECONDS),
            `key ${index} removed while not idle`,
          );
          model.delete(index);
        });
        break;
    }
    checkAgainstModel(table, model);
  }
  return { table, model, now };
}

const capacities = fc.constantFrom(1, 2, 3, 6, 7, 12);

test('eviction follows the rule: unproven oldest first with second chances, then pending newest first, never proven', () => {
  fc.assert(
    fc.property(
      capacities,
      fc.integer(),
      fc.array(command, { maxLength: 160, size: 'max' }),
      (capacity, seed, commands) => {
        replay(capacity, seed, commands);
      },
    ),
    { numRuns: 400 },
  );
});

test('after any history, a flood from the network evicts only unproven peers and holds at most half the table', () => {
  fc.assert(
    fc.property(
      capacities,
      fc.integer(),
      fc.array(command, { maxLength: 100 }),
      (capacity, seed, commands) => {
        const { table, model, now } = replay(capacity, seed, commands);
        const kept = [...model.peers]
          .filter(([, peer]) => kindOf(peer.flags) !== 'unproven')
          .map(([index]) => index);
        const limit = Math.max(unprovenLimit(capacity), model.unproven.length);
        for (let spoofed = 1000; spoofed < 1000 + 4 * capacity + 8; spoofed++) {
          const evicted: number[] = [];
          const slot = table.insert(
            keyFor(spoofed),
            0,
            now,
            (victim) => evicted.push(indexAt(table, victim)),
            PEER_UNPROVEN,
          );
          for (const victim of evicted) assert.ok(!kept.includes(victim), `the flood evicted ${victim}`);
          if (slot >= 0) table.setFlags(slot, PEER_UNPROVEN | PEER_TRUSTED); // self-consistent: trusted at once
          assert.ok(table.unproven() <= limit, `${table.unproven()} unproven peers, limit ${limit}`);
          assert.ok(table.size() <= capacity);
        }
        for (const index of kept)
          assert.ok(table.find(keyFor(index), 0) >= 0, `peer ${index} is still there`);
        // The local side asks for a new peer: it gets a slot, unless every peer is proven.
        const proven = kept.filter((index) => kindOf(model.peers.get(index)!.flags) === 'proven').length;
        const slot = table.insert(keyFor(2000), 0, now, undefined, PEER_SOLICITED);
        assert.equal(slot >= 0, proven < capacity, `${proven} proven peers of ${capacity}`);
      },
    ),
    { numRuns: 400 },
  );
});
