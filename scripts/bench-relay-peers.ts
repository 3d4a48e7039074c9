/**
 * Peer-table figures at a million peers (src/teredo/peers.ts): table bytes per peer, inserts/s
 * on the control-plane thread, and find()+read() lookups/s in worker threads, one alone (hits,
 * then misses) and N at once (hits), each attached to the same SharedArrayBuffer like the data
 * plane's workers. The table is allocated as the daemon allocates it (createTunnelShared, with
 * transparent huge pages asked for). Keys are random Teredo addresses, so their records lie at
 * random in the table and most lookups miss the CPU caches, as a relay with a million peers
 * would; a worker takes the keys in array order from a random start, because the data plane's
 * key is the packet's address, already in the cache when it looks it up (a random pick in the
 * 16 MB key array would add a cache miss that the relay does not have).
 *
 * This module is also the lookup worker's script (new Worker(this file)): see the bottom.
 */
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { attachTunnelShared, createTunnelShared } from '../src/ipc/tunnel-shared.js';
import { createPeerSnapshot, peerTableByteLength } from '../src/teredo/peers.js';

export interface PeerTableOptions {
  readonly peers: number;
  readonly capacity: number;
  /** Threads for the parallel lookup run. */
  readonly workers: number;
  readonly lookupSeconds: number;
}

export interface LookupRun {
  readonly workers: number;
  readonly lookupsPerSecond: number;
  readonly perWorker: readonly number[];
  /** Lookups that found their key and read a consistent record (hits) or found nothing (misses). */
  readonly expectedFraction: number;
}

export interface PeerTableFigures {
  readonly capacity: number;
  readonly peers: number;
  readonly tableBytes: number;
  /**
   * This process's memory in transparent huge pages once the table is filled (AnonHugePages):
   * what the kernel gave for the table's advice, not just that it accepted it (with THP
   * "never" it accepts and gives none).
   */
  readonly hugePageBytes: number;
  readonly bytesPerPeer: number;
  readonly insertsPerSecond: number;
  readonly hitsOneWorker: LookupRun;
  readonly missesOneWorker: LookupRun;
  readonly hitsAllWorkers: LookupRun;
}

interface LookupJob {
  readonly job: 'peer-lookups';
  readonly table: SharedArrayBuffer;
  readonly keys: SharedArrayBuffer;
  readonly keyCount: number;
  readonly expectHits: boolean;
  readonly seed: number;
  /** Int32 go flag: workers attach, warm up, say 'ready', and wait for it to start together. */
  readonly control: SharedArrayBuffer;
  readonly seconds: number;
}

interface LookupCount {
  readonly lookups: number;
  readonly expected: number;
  readonly seconds: number;
}

const TEREDO_PREFIX = [0x20, 0x01, 0x00, 0x00] as const;
const CHUNK = 4096;
const MISS_KEYS = 65_536;

/** `count` random Teredo addresses, 16 bytes each, in shared memory for the workers. */
function randomTeredoKeys(count: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(count * 16);
  const keys = new Uint8Array(buffer);
  randomFillSync(keys);
  for (let i = 0; i < count; i++) keys.set(TEREDO_PREFIX, i * 16);
  return buffer;
}

/** Addresses outside the Teredo prefix cannot collide with the table's keys: sure misses. */
function missKeys(count: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(count * 16);
  const keys = new Uint8Array(buffer);
  randomFillSync(keys);
  for (let i = 0; i < count; i++) keys.set([0x20, 0x01, 0x0d, 0xb8], i * 16);
  return buffer;
}

/** The worker's loop: keys in array order from a seeded start, find() then read() each, for `seconds`. */
function countLookups(job: LookupJob): LookupCount {
  const table = attachTunnelShared(job.table).table;
  const keys = new Uint8Array(job.keys);
  const snapshot = createPeerSnapshot();
  const go = new Int32Array(job.control);
  let index = (job.seed >>> 0) % job.keyCount;
  const lookupBatch = (): number => {
    let expected = 0;
    for (let i = 0; i < CHUNK; i++) {
      index = index + 1 === job.keyCount ? 0 : index + 1;
      const offset = index * 16;
      const slot = table.find(keys, offset);
      if (job.expectHits) {
        if (slot >= 0 && table.read(slot, keys, offset, snapshot)) expected++;
      } else if (slot < 0) {
        expected++;
      }
    }
    return expected;
  };
  for (let i = 0; i < 64; i++) lookupBatch(); // warm-up: JIT
  parentPort?.postMessage('ready');
  Atomics.wait(go, 0, 0);
  let lookups = 0;
  let expected = 0;
  const start = performance.now();
  const end = start + job.seconds * 1000;
  let now = start;
  while (now < end) {
    expected += lookupBatch();
    lookups += CHUNK;
    now = performance.now();
  }
  return { lookups, expected, seconds: (now - start) / 1000 };
}

async function lookupRun(base: Omit<LookupJob, 'control' | 'seed'>, workers: number): Promise<LookupRun> {
  const control = new SharedArrayBuffer(4);
  const go = new Int32Array(control);
  const script = fileURLToPath(import.meta.url);
  const threads = Array.from(
    { length: workers },
    (_, i) => new Worker(script, { workerData: { ...base, control, seed: 0x9e3779b9 * (i + 1) } }),
  );
  let ready = 0;
  let allReady: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    allReady = resolve;
  });
  const results = threads.map(
    (thread) =>
      new Promise<LookupCount>((resolve, reject) => {
        thread.on('message', (message: LookupCount | 'ready') => {
          if (message !== 'ready') resolve(message);
          else if (++ready === workers) allReady();
        });
        thread.once('error', reject);
        thread.once('exit', (code) => reject(new Error(`lookup worker exited with ${code}`)));
      }),
  );
  try {
    await Promise.race([started, Promise.all(results)]);
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    const counts = await Promise.all(results);
    const perWorker = counts.map((count) => Math.round(count.lookups / count.seconds));
    const lookups = counts.reduce((sum, count) => sum + count.lookups, 0);
    const expected = counts.reduce((sum, count) => sum + count.expected, 0);
    return {
      workers,
      lookupsPerSecond: perWorker.reduce((sum, rate) => sum + rate, 0),
      perWorker,
      expectedFraction: lookups > 0 ? expected / lookups : 0,
    };
  } finally {
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
}

function anonHugePageBytes(): number {
  const match = /^AnonHugePages:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

export async function benchPeerTable(options: PeerTableOptions): Promise<PeerTableFigures> {
  if (options.peers > options.capacity) throw new Error('more peers than the table holds');
  const keys = randomTeredoKeys(options.peers);
  const keyBytes = new Uint8Array(keys);
  const shared = createTunnelShared(options.capacity);
  const table = shared.table;
  const start = performance.now();
  for (let i = 0; i < options.peers; i++) {
    if (table.insert(keyBytes, i * 16, 1) < 0) throw new Error(`insert ${i} refused`);
  }
  const insertSeconds = (performance.now() - start) / 1000;
  // Random keys could repeat (2^-96 odds): the size tells.
  const peers = table.size();
  const tableBytes = peerTableByteLength(options.capacity);
  const hits: Omit<LookupJob, 'control' | 'seed'> = {
    job: 'peer-lookups',
    table: shared.buffer,
    keys,
    keyCount: options.peers,
    expectHits: true,
    seconds: options.lookupSeconds,
  };
  const misses = { ...hits, keys: missKeys(MISS_KEYS), keyCount: MISS_KEYS, expectHits: false };
  return {
    capacity: options.capacity,
    peers,
    tableBytes,
    bytesPerPeer: tableBytes / peers,
    hugePageBytes: anonHugePageBytes(),
    insertsPerSecond: Math.round(options.peers / insertSeconds),
    hitsOneWorker: await lookupRun(hits, 1),
    missesOneWorker: await lookupRun(misses, 1),
    hitsAllWorkers: await lookupRun(hits, options.workers),
  };
}

function isLookupJob(data: unknown): data is LookupJob {
  return typeof data === 'object' && data !== null && (data as { job?: unknown }).job === 'peer-lookups';
}

if (!isMainThread && isLookupJob(workerData)) {
  parentPort?.postMessage(countLookups(workerData));
}
