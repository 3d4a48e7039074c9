import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPeerQueues, DEFAULT_PEER_QUEUE_SLAB_BYTES, peerKey } from '../../../src/teredo/peer-queue.js';
import { QUEUE_CHUNK_BYTES, queueSlabChunks } from '../../../src/teredo/peers-queue-slab.js';

/** The key of 2001:db8::n. */
function keyOf(index: number): string {
  const address = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  new DataView(address.buffer).setUint32(12, index);
  return peerKey(address, 0);
}

/** `length` bytes counting up from `first`. */
function pattern(length: number, first: number): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => (first + index) & 0xff);
}

test('the slab is one SharedArrayBuffer no larger than asked, 256-byte chunks plus 16 bytes each', () => {
  const queues = createPeerQueues(1280, 64 * 1024);
  assert.ok(queues.buffer instanceof SharedArrayBuffer);
  assert.ok(queues.buffer.byteLength <= 64 * 1024);
  assert.equal(QUEUE_CHUNK_BYTES, 256);
  assert.equal(queueSlabChunks(64 * 1024), Math.floor((64 * 1024 - 64) / 272));
  assert.equal(queueSlabChunks(10), 0);
  assert.ok(createPeerQueues(1280).buffer.byteLength <= DEFAULT_PEER_QUEUE_SLAB_BYTES);
  assert.ok(createPeerQueues(1280).buffer.byteLength > DEFAULT_PEER_QUEUE_SLAB_BYTES - 272 - 64);
});

test('sizes that are negative or not integers are programming errors', () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => createPeerQueues(bad), RangeError);
    assert.throws(() => createPeerQueues(1280, bad), RangeError);
  }
});

test('packets that straddle chunks come back whole, in arrival order, with their direction and source', () => {
  const queues = createPeerQueues(1280, 64 * 1024);
  const key = keyOf(1);
  // 3 header words + 249 bytes end exactly at the first chunk's end; the rest straddle.
  const lengths = [249, 1, 250, 3, 500, 61, 216];
  let total = 0;
  for (const [index, length] of lengths.entries()) {
    const buffer = new Uint8Array(length + 10).fill(0xee);
    buffer.set(pattern(length, index * 17), 5);
    const inbound = index % 2 === 1;
    const accepted = queues.enqueue(
      key,
      inbound ? 'in' : 'out',
      buffer,
      5,
      length,
      inbound ? 0xc6336401 + index : 0,
      index,
    );
    assert.equal(accepted, 'queued', `packet ${index}`);
    buffer.fill(0); // the queue holds a copy
    total += length;
  }
  assert.deepEqual([queues.packets, queues.bytes], [lengths.length, total]);
  const taken = queues.take(key);
  assert.equal(taken.length, lengths.length);
  for (const [index, item] of taken.entries()) {
    const inbound = index % 2 === 1;
    assert.deepEqual(item.bytes, pattern(lengths[index]!, index * 17), `bytes of packet ${index}`);
    assert.equal(item.direction, inbound ? 'in' : 'out');
    assert.equal(item.ipv4, inbound ? 0xc6336401 + index : 0);
    assert.equal(item.port, index);
  }
  assert.deepEqual([queues.packets, queues.bytes, queues.has(key)], [0, 0, false]);
});

test('a full slab refuses new packets as slab-full; freed chunks are used again', () => {
  const chunks = 10;
  const queues = createPeerQueues(1280, 64 + chunks * 272);
  const packet = pattern(200, 0); // 3 + 50 words: one chunk each
  for (let index = 0; index < chunks; index++) {
    assert.equal(queues.enqueue(keyOf(index), 'out', packet, 0, 200, 0, 0), 'queued', `peer ${index}`);
  }
  assert.equal(queues.enqueue(keyOf(99), 'out', packet, 0, 200, 0, 0), 'slab-full', 'no chunk left');
  // 10 words are left in each chunk: a 28-byte packet (3 + 7 words) fills one exactly.
  assert.equal(queues.enqueue(keyOf(0), 'out', packet, 0, 28, 0, 0), 'queued', 'still room in its own chunk');
  assert.equal(queues.enqueue(keyOf(0), 'out', packet, 0, 1, 0, 0), 'slab-full', 'its chunk is full now');
  assert.equal(
    queues.enqueue(keyOf(0), 'out', pattern(1280, 0), 0, 1100, 0, 0),
    'peer-full',
    'over its own budget: that is the reason, whatever the slab',
  );
  assert.equal(queues.has(keyOf(99)), false, 'a refused packet leaves no empty queue behind');

  assert.equal(queues.discard(keyOf(0)), 2);
  assert.equal(queues.discard(keyOf(0)), 0);
  assert.equal(
    queues.enqueue(keyOf(99), 'in', packet, 0, 200, 1, 2),
    'queued',
    'the freed chunk serves another peer',
  );
  assert.deepEqual(queues.take(keyOf(99))[0]!.bytes, packet);
  assert.equal(queues.clear(), chunks - 1);
  for (let index = 0; index < chunks; index++) {
    assert.equal(
      queues.enqueue(keyOf(1000 + index), 'out', packet, 0, 200, 0, 0),
      'queued',
      'clear freed every chunk',
    );
  }
});

test('the per-peer budget holds whatever the slab size (peer-full); bad regions are refused as such', () => {
  const queues = createPeerQueues(1280);
  const big = pattern(1280, 3);
  assert.equal(queues.enqueue(keyOf(1), 'out', big, 0, 1280, 0, 0), 'queued');
  assert.equal(queues.enqueue(keyOf(1), 'out', big, 0, 1, 0, 0), 'peer-full', 'budget spent');
  assert.equal(queues.enqueue(keyOf(2), 'out', big, 0, 1281, 0, 0), 'bad-region', 'past the buffer');
  assert.equal(queues.enqueue(keyOf(2), 'out', big, 1279, 2, 0, 0), 'bad-region', 'past the buffer');
  assert.equal(queues.enqueue(keyOf(2), 'out', big, -1, 2, 0, 0), 'bad-region');
  assert.equal(queues.enqueue(keyOf(2), 'out', big, 0, 0, 0, 0), 'bad-region', 'empty');
  assert.equal(queues.enqueue(keyOf(2), 'out', big, 0.5, 2, 0, 0), 'bad-region');
  assert.equal(queues.has(keyOf(2)), false);
  assert.deepEqual(queues.take(keyOf(1))[0]!.bytes, big);
});

test('a slab of no chunks refuses everything', () => {
  const queues = createPeerQueues(1280, 0);
  assert.equal(queues.enqueue(keyOf(1), 'out', pattern(10, 0), 0, 10, 0, 0), 'slab-full');
  assert.deepEqual(queues.keys(), []);
});

test('a flood of 100,000 peers takes no more memory than the slab; keys stay bounded by its chunks', () => {
  const slabBytes = 256 * 1024;
  const queues = createPeerQueues(1280, slabBytes);
  const packet = pattern(100, 0);
  let accepted = 0;
  let slabFull = 0;
  for (let index = 0; index < 100_000; index++) {
    const result = queues.enqueue(keyOf(index), 'out', packet, 0, 100, 0, 0);
    if (result === 'queued') accepted++;
    else if (result === 'slab-full') slabFull++;
  }
  const chunks = queueSlabChunks(slabBytes);
  assert.equal(accepted, chunks, 'one 100-byte packet per chunk');
  assert.equal(queues.keys().length, chunks);
  assert.equal(slabFull, 100_000 - chunks, 'every other one for want of room in the slab');
  assert.equal(queues.bytes, chunks * 100);
  assert.ok(queues.buffer.byteLength <= slabBytes);
});
