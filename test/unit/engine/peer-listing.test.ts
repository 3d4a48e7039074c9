/**
 * `miredo-ctl peers` on the control plane (src/engine/peer-listing.ts): every peer is counted,
 * at most `limit` are described, the filter keeps exactly the peers inside its prefix, and a long
 * table is read a chunk at a time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { listNativePeers, listPeers } from '../../../src/engine/peer-listing.js';
import { PEER_QUEUED, PEER_TRUSTED, PEER_UNPROVEN, createPeerTable } from '../../../src/teredo/peers.js';
import { formatIPv6, parseIPv6 } from '../../../src/teredo/ipv6-text.js';
import { matchesPeerFilter, parsePeerFilter } from '../../../src/ipc/control-protocol.js';

function teredoKey(index: number): Uint8Array {
  const key = parseIPv6('2001:0:c633:6401::')!;
  key[8] = (index >>> 8) & 0xff;
  key[9] = index & 0xff;
  key[15] = 1;
  return key;
}

test('counts every match, describes at most the limit, filters by prefix, reads in chunks', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 1, max: 50 }),
      fc.constantFrom(
        null,
        '2001:0:c633:6401::/72',
        '2001:0:c633:6401:100::/72',
        '2001:db8::/32',
        '2001::/32',
      ),
      async (count, limit, filterText) => {
        const table = createPeerTable(1024, 7);
        const keys = Array.from({ length: count }, (_, i) => teredoKey(i));
        for (const key of keys) table.insert(key, 0, 100);
        const filter = filterText === null ? null : parsePeerFilter(filterText);
        const expected = keys.filter((key) => filter === null || matchesPeerFilter(filter, key));
        const reply = await listPeers(table, { filter, limit, nowSeconds: 100 }, 97);
        assert.equal(reply.total, count);
        assert.equal(reply.matched, expected.length);
        assert.equal(reply.peers.length, Math.min(limit, expected.length));
        const wanted = new Set(expected.map((key) => formatIPv6(key)));
        for (const row of reply.peers) assert.ok(wanted.has(row.address), row.address);
        assert.equal(new Set(reply.peers.map((row) => row.address)).size, reply.peers.length);
      },
    ),
    { numRuns: 40 },
  );
});

test('describes a peer: mapping, flags and ages (null: never)', async () => {
  const table = createPeerTable(1024, 1);
  const key = teredoKey(5);
  const slot = table.insert(key, 0, 100, undefined, PEER_UNPROVEN);
  table.setMapping(slot, 0xc0000201, 40000);
  table.setFlags(slot, PEER_TRUSTED | PEER_QUEUED);
  table.touchRx(slot, 110);
  const reply = await listPeers(table, { filter: null, limit: 10, nowSeconds: 130 });
  assert.deepEqual(reply.peers, [
    {
      address: formatIPv6(key),
      mapping: '192.0.2.1:40000',
      alternate: null,
      trusted: true,
      proven: true,
      solicited: false,
      queued: true,
      lastInSecondsAgo: 20,
      lastOutSecondsAgo: null,
    },
  ]);
});

test('a table of 100,000 peers is listed without holding the event loop more than a chunk', async () => {
  const table = createPeerTable(100_000, 3);
  for (let i = 0; i < 100_000; i += 1) {
    const key = teredoKey(i);
    key[10] = i >>> 16;
    table.insert(key, 0, 1);
  }
  let turns = 0;
  const ticker = setInterval(() => (turns += 1), 0);
  const reply = await listPeers(table, { filter: null, limit: 100, nowSeconds: 1 });
  clearInterval(ticker);
  assert.equal(reply.matched, 100_000);
  assert.equal(reply.peers.length, 100);
  assert.ok(turns > 0, 'timers ran while the table was listed');
});

test('a client status names each native peer and the relay its packets come through', async () => {
  const table = createPeerTable(1024, 5);
  const teredo = Array.from({ length: 40 }, (_, i) => teredoKey(i));
  for (const key of teredo) table.setMapping(table.insert(key, 0, 1), 0xcb007101, 1000);
  const native = Array.from({ length: 40 }, (_, i) => parseIPv6(`2001:db8:${i + 1}::2`)!);
  const relayed = native.map((key, i) => {
    const slot = table.insert(key, 0, 1);
    // Every third one waits for its ping test: no relay known yet.
    if (i % 3 !== 0) table.setMapping(slot, 0xc6336403, 3544 + i);
    return [formatIPv6(key), i % 3 === 0 ? null : `198.51.100.3:${3544 + i}`] as const;
  });
  const prefix = { prefix: teredoKey(0), length: 32 };
  const all = await listNativePeers(table, prefix, 100, 50);
  assert.equal(all.matched, 40);
  assert.deepEqual(
    new Map(all.peers.map((peer) => [peer.address, peer.relay])),
    new Map(relayed),
    'only the native peers, each with its relay (null: not known yet)',
  );
  const some = await listNativePeers(table, prefix, 7, 50);
  assert.ok(
    all.peers.every((peer) => peer.alternate === null),
    'no alternate yet',
  );
  assert.equal(some.matched, 40);
  assert.equal(some.peers.length, 7);
});

test('a native peer with two validated relays lists its alternate too (peers and status)', async () => {
  const table = createPeerTable(64, 9);
  const key = parseIPv6('2001:db8:7::2')!;
  const slot = table.insert(key, 0, 1);
  table.setMapping(slot, 0xc6336403, 3544);
  table.setFlags(slot, PEER_TRUSTED);
  table.setAlternate(slot, 0xc6336404, 3545);
  const reply = await listPeers(table, { filter: null, limit: 10, nowSeconds: 1 });
  assert.equal(reply.peers[0]?.mapping, '198.51.100.3:3544');
  assert.equal(reply.peers[0]?.alternate, '198.51.100.4:3545');
  const native = await listNativePeers(table, { prefix: teredoKey(0), length: 32 }, 10);
  assert.deepEqual(native.peers, [
    { address: '2001:db8:7::2', relay: '198.51.100.3:3544', alternate: '198.51.100.4:3545' },
  ]);
});
