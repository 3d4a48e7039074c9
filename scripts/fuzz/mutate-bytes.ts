/**
 * Mutations of binary inputs, in the style of AFL's havoc stage: a few random edits stacked on a
 * seed, biased toward the values that break length and type checks.
 */
import type { Random } from './random.js';

export const MAX_MUTATED_BYTES = 4096;
const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x06, 0x11, 0x29, 0x3a, 0x3b, 0x86, 0x87, 0x88, 0x80];
const INTERESTING_16 = [0x0000, 0x0001, 0x0028, 0x7fff, 0x8000, 0xffff, 0x0dd8, 0x05dc, 0x0500, 0x2001];

type Mutation = (bytes: number[], random: Random, other: readonly Uint8Array[]) => void;

const at = (bytes: number[], random: Random): number => random.below(Math.max(1, bytes.length));

const MUTATIONS: readonly Mutation[] = [
  (bytes, random) => {
    const i = at(bytes, random);
    if (i < bytes.length) bytes[i] = (bytes[i] ?? 0) ^ (1 << random.below(8));
  },
  (bytes, random) => {
    const i = at(bytes, random);
    if (i < bytes.length) bytes[i] = random.pick(INTERESTING_8);
  },
  (bytes, random) => {
    const i = at(bytes, random);
    const value = random.pick(INTERESTING_16);
    if (i + 1 < bytes.length) {
      bytes[i] = value >>> 8;
      bytes[i + 1] = value & 0xff;
    }
  },
  (bytes, random) => {
    const i = at(bytes, random);
    if (i < bytes.length) bytes[i] = random.below(256);
  },
  (bytes, random) => {
    if (bytes.length > 0) bytes.length = random.below(bytes.length);
  },
  (bytes, random) => {
    const count = 1 + random.below(64);
    bytes.splice(at(bytes, random), 0, ...Array.from({ length: count }, () => random.below(256)));
  },
  (bytes, random) => {
    if (bytes.length > 1) bytes.splice(at(bytes, random), 1 + random.below(Math.min(32, bytes.length)));
  },
  (bytes, random) => {
    // Duplicate a block: repeated headers and options.
    if (bytes.length === 0) return;
    const from = at(bytes, random);
    const block = bytes.slice(from, from + 1 + random.below(48));
    bytes.splice(at(bytes, random), 0, ...block);
  },
  (bytes, random, other) => {
    // Splice with another seed.
    if (other.length === 0) return;
    const donor = random.pick(other);
    const cut = random.below(donor.length + 1);
    bytes.splice(at(bytes, random), bytes.length, ...donor.subarray(cut));
  },
];

/** A mutated copy of `seed` (never longer than MAX_MUTATED_BYTES). */
export function mutateBytes(seed: Uint8Array, random: Random, others: readonly Uint8Array[]): Uint8Array {
  const bytes = Array.from(seed);
  const rounds = 1 + random.below(random.oneIn(4) ? 16 : 4);
  for (let i = 0; i < rounds; i++) random.pick(MUTATIONS)(bytes, random, others);
  if (bytes.length > MAX_MUTATED_BYTES) bytes.length = MAX_MUTATED_BYTES;
  return Uint8Array.from(bytes);
}
