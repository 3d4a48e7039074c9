/**
 * What a fuzzing target is: a parser or state machine behind one entry point, its seed inputs,
 * how inputs mutate, and how they are stored as regression files.
 */
import type { Random } from './random.js';

export interface InputCodec<I> {
  /** File name extension of a regression file. */
  readonly extension: 'bin' | 'txt' | 'json';
  encode(input: I): Uint8Array;
  decode(bytes: Uint8Array): I;
}

export interface FuzzTarget<I> {
  readonly name: string;
  readonly codec: InputCodec<I>;
  seeds(): readonly I[];
  mutate(seed: I, random: Random, corpus: readonly I[]): I;
  /**
   * Runs one input. Throws on a crash or a broken invariant (that is a finding). Returns a short
   * description of what the input did (counters that moved, result kind): an input that does
   * something new joins the corpus, a cheap stand-in for coverage feedback.
   */
  run(input: I): string;
  /** Back to a fresh state (stateful targets); called every so many inputs. */
  reset?(): void;
}

export const BYTES_CODEC: InputCodec<Uint8Array> = {
  extension: 'bin',
  encode: (input) => input,
  decode: (bytes) => Uint8Array.from(bytes),
};

export const TEXT_CODEC: InputCodec<string> = {
  extension: 'txt',
  encode: (input) => new TextEncoder().encode(input),
  decode: (bytes) => new TextDecoder().decode(bytes),
};

export const ARGV_CODEC: InputCodec<string[]> = {
  extension: 'json',
  encode: (input) => new TextEncoder().encode(JSON.stringify(input)),
  decode: (bytes) => {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string'))
      throw new Error('a regression file of an argv target holds a JSON array of strings');
    return parsed;
  },
};

/** Throws with `what` when `condition` is false: the invariants of a target. */
export function invariant(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`invariant broken: ${what}`);
}
