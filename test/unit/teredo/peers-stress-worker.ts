/**
 * The reader side of the peer-table stress test, and the record shapes both sides agree on.
 * As a worker thread it attaches to the table and keeps doing find() + read() on random keys
 * until told to stop, checking that every record it gets is one the writer wrote for that key.
 * Imported by the test or run as a test file by `node --test`, it does nothing on its own.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  attachPeerTable,
  createPeerSnapshot,
  PEER_COUNTING,
  PEER_QUEUED,
  PEER_TRUSTED,
} from '../../../src/teredo/peers.js';

export const STRESS_KEYS = 10_000;

export interface StressWorkerData {
  readonly table: SharedArrayBuffer;
  /** Int32 word 0: 1 once the readers must stop. */
  readonly control: SharedArrayBuffer;
  readonly seed: number;
}

export interface StressReport {
  readonly lookups: number;
  readonly found: number;
  readonly reads: number;
  readonly violations: number;
  readonly firstViolation: string;
}

export function stressKey(index: number, out: Uint8Array, offset: number): void {
  out.fill(0, offset, offset + 16);
  out[offset] = 0x20;
  out[offset + 1] = 0x01;
  out[offset + 12] = index >>> 24;
  out[offset + 13] = index >>> 16;
  out[offset + 14] = index >>> 8;
  out[offset + 15] = index;
}

function keyHash(index: number): number {
  let x = Math.imul(index + 1, 0x9e3779b1);
  x ^= x >>> 15;
  return Math.imul(x, 0x85ebca6b) >>> 0;
}

/**
 * The writer's n-th mapping of a key: the port carries the generation and the IPv4 address binds
 * it to the key, so a record mixing two writes or two keys fails `checkRecord`.
 */
export function stressMapping(
  index: number,
  generation: number,
): { readonly ipv4: number; readonly port: number } {
  const port = 1 + (generation % 0xfffe);
  return { ipv4: (keyHash(index) ^ Math.imul(port, 0x27d4eb2d)) >>> 0, port };
}

/** The flags the writer sets after a mapping (never 0, so they tell "set" from "cleared"). */
export function stressFlags(port: number): number {
  return PEER_COUNTING | (port & 1 ? PEER_TRUSTED : 0) | (port & 2 ? PEER_QUEUED : 0);
}

/**
 * Why a record read for key `index` could never have been written by the writer, or '' if it
 * could: a new peer (no mapping, no flags), or a mapping of this key with no flags yet or with
 * the flags of that same mapping.
 */
export function checkRecord(index: number, flags: number, ipv4: number, port: number): string {
  if (port === 0) return ipv4 === 0 && flags === 0 ? '' : `new peer ${index} with ${ipv4}/${flags}`;
  if (ipv4 !== stressMapping(index, port - 1).ipv4)
    return `peer ${index}: address ${ipv4} not from port ${port}`;
  if (flags !== 0 && flags !== stressFlags(port))
    return `peer ${index}: flags ${flags} not from port ${port}`;
  return '';
}

function runReader(data: StressWorkerData): StressReport {
  const table = attachPeerTable(data.table);
  const control = new Int32Array(data.control);
  const key = new Uint8Array(16);
  const snapshot = createPeerSnapshot();
  let random = data.seed | 1;
  let lookups = 0;
  let found = 0;
  let reads = 0;
  let violations = 0;
  let firstViolation = '';
  while ((lookups & 255) !== 0 || Atomics.load(control, 0) === 0) {
    random ^= random << 13;
    random ^= random >>> 17;
    random ^= random << 5;
    const index = (random >>> 0) % STRESS_KEYS;
    stressKey(index, key, 0);
    lookups++;
    const slot = table.find(key, 0);
    if (slot < 0) continue;
    found++;
    if (!table.read(slot, key, 0, snapshot)) continue;
    reads++;
    if ((reads & 7) === 0) table.touchRx(slot, reads);
    const problem = checkRecord(index, snapshot.flags, snapshot.mappedIPv4, snapshot.mappedPort);
    if (problem !== '') {
      violations++;
      if (firstViolation === '') firstViolation = problem;
    }
  }
  return { lookups, found, reads, violations, firstViolation };
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const data = workerData as StressWorkerData;
  port.postMessage('ready');
  port.postMessage(runReader(data));
}
