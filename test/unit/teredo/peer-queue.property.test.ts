/**
 * The slab-backed peer queues against a model: random enqueues (lengths that straddle chunks in
 * every way), takes, discards and clears on small slabs, so the slab fills up. The model keeps
 * each queue's packets in arrays and predicts the slab's refusals from its chunk arithmetic: a
 * queue whose stream holds W words (3 per packet plus its bytes in whole words) owns ceil(W / 63)
 * 256-byte chunks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createPeerQueues, peerKey } from '../../../src/teredo/peer-queue.js';
import type { QueueDirection } from '../../../src/teredo/peer-queue.js';
import { queueSlabChunks } from '../../../src/teredo/peers-queue-slab.js';

const BUDGET = 1280;
const KEYS = 6;

interface ModelPacket {
  readonly direction: QueueDirection;
  readonly bytes: Uint8Array;
  readonly ipv4: number;
  readonly port: number;
}

type Command =
  | {
      readonly kind: 'enqueue';
      readonly key: number;
      readonly inbound: boolean;
      readonly length: number;
      readonly fill: number;
      readonly ipv4: number;
      readonly port: number;
    }
  | { readonly kind: 'take'; readonly key: number }
  | { readonly kind: 'discard'; readonly key: number }
  | { readonly kind: 'clear' };

const key = fc.nat({ max: KEYS - 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('enqueue' as const),
      key,
      inbound: fc.boolean(),
      length: fc.oneof(
        fc.integer({ min: 1, max: 1300 }),
        fc.constantFrom(1, 4, 240, 249, 250, 252, 253, 1280),
      ),
      fill: fc.nat({ max: 255 }),
      ipv4: fc.nat({ max: 0xffffffff }),
      port: fc.nat({ max: 0xffff }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('take' as const), key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('discard' as const), key }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

function keyOf(index: number): string {
  const address = new Uint8Array(16);
  address[0] = 0x20;
  address[1] = 0x01;
  address[15] = index;
  return peerKey(address, 0);
}

function streamWords(packets: readonly ModelPacket[]): number {
  return packets.reduce((words, packet) => words + 3 + Math.ceil(packet.bytes.length / 4), 0);
}

function chunksOf(packets: readonly ModelPacket[]): number {
  return Math.ceil(streamWords(packets) / 63);
}

test('random enqueue/take/discard/clear sequences match a model, slab refusals included', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 40 }),
      fc.array(command, { maxLength: 120, size: 'max' }),
      (chunks, commands) => {
        const slabBytes = 64 + chunks * 272;
        assert.equal(queueSlabChunks(slabBytes), chunks);
        const queues = createPeerQueues(BUDGET, slabBytes);
        const model = new Map<number, ModelPacket[]>();
        const usedChunks = (): number =>
          [...model.values()].reduce((sum, packets) => sum + chunksOf(packets), 0);
        for (const step of commands) {
          switch (step.kind) {
            case 'enqueue': {
              const direction: QueueDirection = step.inbound ? 'in' : 'out';
              const source = new Uint8Array(step.length + 8);
              for (let index = 0; index < step.length; index++)
                source[4 + index] = (step.fill + index * 7) & 0xff;
              const packet: ModelPacket = {
                direction,
                bytes: source.slice(4, 4 + step.length),
                ipv4: step.ipv4,
                port: step.port,
              };
              const queued = model.get(step.key) ?? [];
              const queuedBytes = queued.reduce((sum, item) => sum + item.bytes.length, 0);
              const fitsBudget = queuedBytes + step.length <= BUDGET;
              const grown = chunksOf([...queued, packet]) - chunksOf(queued);
              const fitsSlab = usedChunks() + grown <= chunks;
              const result = queues.enqueue(
                keyOf(step.key),
                direction,
                source,
                4,
                step.length,
                step.ipv4,
                step.port,
              );
              const expected = !fitsBudget ? 'peer-full' : fitsSlab ? 'queued' : 'slab-full';
              assert.equal(result, expected, `enqueue of ${step.length} bytes`);
              if (result === 'queued') model.set(step.key, [...queued, packet]);
              break;
            }
            case 'take': {
              const taken = queues.take(keyOf(step.key));
              const expected = model.get(step.key) ?? [];
              assert.deepEqual(
                taken.map((item) => ({ ...item })),
                expected.map((item) => ({ ...item })),
              );
              model.delete(step.key);
              break;
            }
            case 'discard':
              assert.equal(queues.discard(keyOf(step.key)), model.get(step.key)?.length ?? 0);
              model.delete(step.key);
              break;
            case 'clear': {
              const total = [...model.values()].reduce((sum, packets) => sum + packets.length, 0);
              assert.equal(queues.clear(), total);
              model.clear();
              break;
            }
          }
          const all = [...model.values()].flat();
          assert.equal(queues.packets, all.length);
          assert.equal(
            queues.bytes,
            all.reduce((sum, item) => sum + item.bytes.length, 0),
          );
          assert.deepEqual([...queues.keys()].sort(), [...model.keys()].map(keyOf).sort());
        }
      },
    ),
    { numRuns: 300 },
  );
});
