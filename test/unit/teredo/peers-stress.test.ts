/**
 * Issue 6 acceptance: two worker threads read the peer table lock-free while this thread churns
 * 10,000 peers through it (insert with eviction, mapping and flag updates, removal with backward
 * shifts, expiry); every successful read must be a record the writer wrote for that key. Then a
 * single-thread measurement at 1,000,000 peers (reported, not asserted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createPeerSnapshot, createPeerTable, PEER_RECORD_BYTES } from '../../../src/teredo/peers.js';
import { checkRecord, STRESS_KEYS, stressFlags, stressKey, stressMapping } from './peers-stress-worker.js';
import type { StressReport, StressWorkerData } from './peers-stress-worker.js';

const CHURN_MS = 3000;
const READERS = 2;

test('readers never see a torn or foreign record while the writer churns 10,000 peers', async (t) => {
  // Room for fewer peers than keys: the table is full most of the time, so inserts evict too.
  const table = createPeerTable(4096);
  const control = new Int32Array(new SharedArrayBuffer(4));
  const workers = Array.from({ length: READERS }, (_, index) => {
    const workerData: StressWorkerData = {
      table: table.buffer,
      control: control.buffer as SharedArrayBuffer,
      seed: 0x1234567 * (index + 1),
    };
    return new Worker(new URL('./peers-stress-worker.js', import.meta.url), { workerData });
  });
  try {
    await Promise.all(workers.map(async (worker) => once(worker, 'message'))); // 'ready'
    // Each reader's report is its second message, sent once it sees the stop flag.
    const pending = workers.map(async (worker) => (await once(worker, 'message')) as [StressReport]);

    const key = new Uint8Array(16);
    const generations = new Uint32Array(STRESS_KEYS);
    let random = 0x2545f491;
    let operations = 0;
    let inserted = 0;
    let evicted = 0;
    let removed = 0;
    let refused = 0;
    const deadline = performance.now() + CHURN_MS;
    let now = 1;
    while (performance.now() < deadline) {
      for (let batch = 0; batch < 1000; batch++) {
        random ^= random << 13;
        random ^= random >>> 17;
        random ^= random << 5;
        const index = (random >>> 0) % STRESS_KEYS;
        stressKey(index, key, 0);
        operations++;
        const slot = table.find(key, 0);
        if (slot < 0) {
          const created = table.insert(key, 0, now, () => evicted++);
          if (created < 0) {
            refused++;
            continue;
          }
          inserted++;
          const mapping = stressMapping(index, ++generations[index]!);
          table.setMapping(created, mapping.ipv4, mapping.port);
          table.setFlags(created, stressFlags(mapping.port));
        } else if ((random & 0xf00) === 0) {
          table.remove(slot);
          removed++;
        } else {
          table.setFlags(slot, 0);
          const mapping = stressMapping(index, ++generations[index]!);
          table.setMapping(slot, mapping.ipv4, mapping.port);
          table.setFlags(slot, stressFlags(mapping.port));
        }
      }
      now++;
      removed += table.expire(now, 20, 64);
    }
    Atomics.store(control, 0, 1);
    const results = (await Promise.all(pending)).map(([report]) => report);

    let reads = 0;
    for (const [index, report] of results.entries()) {
      t.diagnostic(
        `reader ${index}: ${report.lookups} lookups, ${report.found} found, ${report.reads} consistent reads, ${report.violations} violations`,
      );
      assert.equal(report.violations, 0, report.firstViolation);
      assert.ok(report.reads > 1000, `reader ${index} read only ${report.reads} records`);
      reads += report.reads;
    }
    t.diagnostic(
      `writer: ${operations} operations in ${CHURN_MS} ms (${inserted} inserts, ${evicted} evictions, ${removed} removals, ${refused} refused); readers: ${reads} reads`,
    );
    assert.ok(evicted > 0 && removed > 0, 'the churn exercised eviction and backward-shift removal');

    // The table the writer left is exactly consistent.
    const snapshot = createPeerSnapshot();
    let present = 0;
    for (let index = 0; index < STRESS_KEYS; index++) {
      stressKey(index, key, 0);
      const slot = table.find(key, 0);
      if (slot < 0) continue;
      present++;
      assert.ok(table.read(slot, key, 0, snapshot));
      const mapping = stressMapping(index, generations[index]!);
      assert.deepEqual(
        [snapshot.mappedIPv4, snapshot.mappedPort, snapshot.flags],
        [mapping.ipv4, mapping.port, stressFlags(mapping.port)],
      );
      assert.equal(checkRecord(index, snapshot.flags, snapshot.mappedIPv4, snapshot.mappedPort), '');
    }
    assert.equal(present, table.size());
  } finally {
    Atomics.store(control, 0, 1);
    await Promise.all(workers.map(async (worker) => worker.terminate()));
  }
});

test('measure: bytes per peer, inserts/s and lookups/s at 1,000,000 peers on one thread', (t) => {
  const peers = 1_000_000;
  const table = createPeerTable(1_048_576);
  const keys = new Uint8Array(peers * 16);
  const view = new DataView(keys.buffer);
  let random = 0x9e3779b9;
  for (let index = 0; index < peers; index++) {
    const at = index * 16;
    keys[at] = 0x20;
    keys[at + 1] = 0x01;
    for (let byte = 4; byte < 16; byte += 4) {
      random ^= random << 13;
      random ^= random >>> 17;
      random ^= random << 5;
      view.setInt32(at + byte, random);
    }
  }
  // CPU time, not wall time: other processes share this machine's cores.
  const cpuMs = (): number => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  };

  let start = cpuMs();
  for (let index = 0; index < peers; index++) table.insert(keys, index * 16, 1);
  const insertMs = cpuMs() - start;
  assert.equal(table.size(), peers);

  // Keys in insertion order (a packet's address is in cache), records in hash order (they are not).
  const snapshot = createPeerSnapshot();
  let hits = 0;
  let lookupMs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    start = cpuMs();
    for (let index = 0; index < peers; index++) {
      const at = index * 16;
      const slot = table.find(keys, at);
      if (slot >= 0 && table.read(slot, keys, at, snapshot)) hits++;
    }
    lookupMs = Math.min(lookupMs, cpuMs() - start);
  }
  assert.equal(hits, peers * 3);

  const missKey = new Uint8Array(16);
  missKey[0] = 0x3f;
  let misses = 0;
  let missMs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    start = cpuMs();
    for (let index = 0; index < peers; index++) {
      missKey[15] = index;
      missKey[14] = index >>> 8;
      missKey[13] = index >>> 16;
      if (table.find(missKey, 0) < 0) misses++;
    }
    missMs = Math.min(missMs, cpuMs() - start);
  }
  assert.equal(misses, peers * 3);

  start = cpuMs();
  const expired = table.expire(100, 30, table.slots);
  const sweepMs = cpuMs() - start;
  assert.equal(expired, peers);

  const rate = (count: number, ms: number): string => `${((count / ms) * 1000).toExponential(2)}/s`;
  t.diagnostic(
    `${PEER_RECORD_BYTES} B/record, ${table.slots} slots, ${table.buffer.byteLength} B total = ${(table.buffer.byteLength / peers).toFixed(1)} B/peer at ${peers} peers`,
  );
  t.diagnostic(
    `CPU time: inserts ${rate(peers, insertMs)}, lookups (find+read, hits) ${rate(peers, lookupMs)}, misses ${rate(peers, missMs)}, full expiry of ${peers} peers ${sweepMs.toFixed(0)} ms`,
  );
});
