/**
 * The peer table against a model: random sequences of insert, remove, flag and mapping updates,
 * touches, expiry sweeps and resets on small tables (many collisions, wrap-around, evictions),
 * compared after every step with a Map and an insertion-ordered list of untrusted keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createPeerSnapshot, createPeerTable, PEER_QUEUED, PEER_TRUSTED } from '../../../src/teredo/peers.js';
import type { PeerTable } from '../../../src/teredo/peers.js';

const UNIVERSE = 20;
const IDLE_SECONDS = 30;

function keyFor(index: number): Uint8Array {
  const key = new Uint8Array(16);
  key[0] = 0x20;
  key[1] = 0x01;
  key[15] = index;
  return key;
}

function indexAt(table: PeerTable, slot: number): number {
  const key = new Uint8Array(16);
  table.keyInto(slot, key, 0);
  return key[15]!;
}

interface ModelPeer {
  flags: number;
  ipv4: number;
  port: number;
  createdAt: number;
  lastRx: number;
  lastTx: number;
}

type Command =
  | { readonly kind: 'insert'; readonly key: number }
  | { readonly kind: 'remove'; readonly key: number }
  | { readonly kind: 'flags'; readonly key: number; readonly flags: number }
  | { readonly kind: 'map'; readonly key: number; readonly ipv4: number; readonly port: number }
  | { readonly kind: 'touch'; readonly key: number; readonly rx: boolean }
  | { readonly kind: 'tick'; readonly seconds: number }
  | { readonly kind: 'expire'; readonly budget: number }
  | { readonly kind: 'reset' };

const key = fc.nat({ max: UNIVERSE - 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('insert' as const), key }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), key }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('flags' as const),
      key,
      flags: fc.constantFrom(0, PEER_TRUSTED, PEER_TRUSTED | PEER_QUEUED, PEER_QUEUED),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('map' as const),
      key,
      ipv4: fc.nat({ max: 0xffffffff }),
      port: fc.nat({ max: 0xffff }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('touch' as const), key, rx: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds: fc.nat({ max: 25 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('expire' as const), budget: fc.nat({ max: 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
);

function isIdle(peer: ModelPeer, now: number): boolean {
  return [peer.createdAt, peer.lastRx, peer.lastTx].every((time) => now - time > IDLE_SECONDS);
}

function checkAgainstModel(table: PeerTable, model: Map<number, ModelPeer>): void {
  assert.equal(table.size(), model.size);
  const snapshot = createPeerSnapshot();
  for (let index = 0; index < UNIVERSE; index++) {
    const slot = table.find(keyFor(index), 0);
    const peer = model.get(index);
    if (peer === undefined) {
      assert.equal(slot, -1, `key ${index} should be absent`);
      continue;
    }
    assert.ok(slot >= 0, `key ${index} should be present`);
    assert.ok(table.read(slot, keyFor(index), 0, snapshot));
    assert.deepEqual(snapshot, {
      flags: peer.flags,
      mappedIPv4: peer.ipv4,
      mappedPort: peer.port,
      lastRx: peer.lastRx,
      lastTx: peer.lastTx,
    });
    assert.equal(table.createdAt(slot), peer.createdAt);
  }
  // Linear probing's invariant: no empty slot between a record's home and the record. Every
  // peer here was created at 1000 s or later, so createdAt tells occupied slots apart.
  let occupied = 0;
  for (let slot = 0; slot < table.slots; slot++) {
    if (table.createdAt(slot) === 0) continue;
    occupied++;
    const peerKey = keyFor(indexAt(table, slot));
    assert.equal(table.find(peerKey, 0), slot, `record at ${slot} is reachable`);
    for (let probe = table.homeSlot(peerKey, 0); probe !== slot; probe = (probe + 1) % table.slots) {
      assert.notEqual(table.createdAt(probe), 0, `hole at ${probe} between the home and slot ${slot}`);
    }
  }
  assert.equal(occupied, model.size, 'one record per peer');
}

test('random insert/remove/update/expire sequences match a Map model', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 3, 6, 7, 12),
      fc.integer(),
      fc.array(command, { maxLength: 150, size: 'max' }),
      (capacity, seed, commands) => {
        const table = createPeerTable(capacity, seed);
        const model = new Map<number, ModelPeer>();
        let untrusted: number[] = []; // oldest first
        let now = 1000;
        for (const step of commands) {
          const slotOf = (index: number): number => table.find(keyFor(index), 0);
          switch (step.kind) {
            case 'insert': {
              const evicted: number[] = [];
              const slot = table.insert(keyFor(step.key), 0, now, (victim) =>
                evicted.push(indexAt(table, victim)),
              );
              if (model.has(step.key)) {
                assert.equal(slot, slotOf(step.key));
                assert.deepEqual(evicted, []);
                break;
              }
              if (model.size >= capacity) {
                const victim = untrusted.pop();
                if (victim === undefined) {
                  assert.equal(slot, -1);
                  assert.deepEqual(evicted, []);
                  break;
                }
                assert.deepEqual(evicted, [victim]);
                model.delete(victim);
              }
              assert.ok(slot >= 0);
              model.set(step.key, { flags: 0, ipv4: 0, port: 0, createdAt: now, lastRx: 0, lastTx: 0 });
              untrusted.push(step.key);
              break;
            }
            case 'remove':
              table.remove(slotOf(step.key));
              model.delete(step.key);
              untrusted = untrusted.filter((index) => index !== step.key);
              break;
            case 'flags': {
              const peer = model.get(step.key);
              table.setFlags(slotOf(step.key), step.flags);
              if (peer === undefined) break;
              const wasTrusted = (peer.flags & PEER_TRUSTED) !== 0;
              const isTrusted = (step.flags & PEER_TRUSTED) !== 0;
              if (wasTrusted && !isTrusted) untrusted.push(step.key);
              if (!wasTrusted && isTrusted) untrusted = untrusted.filter((index) => index !== step.key);
              peer.flags = step.flags;
              break;
            }
            case 'map': {
              table.setMapping(slotOf(step.key), step.ipv4, step.port);
              const peer = model.get(step.key);
              if (peer !== undefined) Object.assign(peer, { ipv4: step.ipv4, port: step.port });
              break;
            }
            case 'touch': {
              const slot = slotOf(step.key);
              const peer = model.get(step.key);
              if (peer === undefined) break;
              if (step.rx) {
                table.touchRx(slot, now);
                peer.lastRx = now;
              } else {
                table.touchTx(slot, now);
                peer.lastTx = now;
              }
              break;
            }
            case 'tick':
              now += step.seconds;
              break;
            case 'expire': {
              const sweep = (budget: number): number => {
                const removed: number[] = [];
                const count = table.expire(now, IDLE_SECONDS, budget, (slot) =>
                  removed.push(indexAt(table, slot)),
                );
                assert.equal(count, removed.length);
                for (const index of removed) {
                  const peer = model.get(index);
                  assert.ok(peer !== undefined && isIdle(peer, now), `key ${index} removed while not idle`);
                  model.delete(index);
                  untrusted = untrusted.filter((other) => other !== index);
                }
                return count;
              };
              sweep(step.budget);
              if (step.budget >= table.slots) {
                // A record that a removal shifts back into an already visited slot waits for the
                // next turn (see sweepStride), so full turns continue until one removes nothing;
                // each turn that removes something removes at least one record, so this ends.
                for (let turn = 0; turn <= capacity && sweep(table.slots) > 0; turn++);
                for (const [index, peer] of model)
                  assert.ok(!isIdle(peer, now), `idle key ${index} survived full turns`);
              }
              break;
            }
            case 'reset':
              table.reset();
              model.clear();
              untrusted = [];
              break;
          }
          checkAgainstModel(table, model);
        }
        // Drain: fill the table with trusted newcomers; each must evict the then newest untrusted
        // peer, which walks the whole eviction list in order after the random history above.
        for (let newcomer = 100; newcomer < 100 + capacity + 1; newcomer++) {
          const evicted: number[] = [];
          const slot = table.insert(keyFor(newcomer), 0, now, (victim) =>
            evicted.push(indexAt(table, victim)),
          );
          if (model.size >= capacity) {
            const victim = untrusted.pop();
            assert.deepEqual(evicted, victim === undefined ? [] : [victim], 'eviction order');
            if (victim === undefined) {
              assert.equal(slot, -1);
              continue;
            }
            model.delete(victim);
          }
          table.setFlags(slot, PEER_TRUSTED);
          model.set(newcomer, {
            flags: PEER_TRUSTED,
            ipv4: 0,
            port: 0,
            createdAt: now,
            lastRx: 0,
            lastTx: 0,
          });
        }
        assert.deepEqual(untrusted, []);
        assert.equal(table.size(), capacity);
      },
    ),
    { numRuns: 300 },
  );
});
