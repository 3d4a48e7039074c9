/**
 * One fuzzing campaign on one target: mutate inputs drawn from a corpus that starts with the
 * target's seeds and grows with every input whose outcome is new, run each, and report the
 * inputs that throw (findings) or take too long. No I/O here: main.ts saves the findings.
 */
import { createRandom } from './random.js';
import type { FuzzTarget } from './target.js';

export const MAX_CORPUS = 4096;
/** A stateful target starts afresh this often, so that no one early input shapes the rest. */
export const RESET_EVERY = 20_000;
/** One input taking this long is a finding (a parser must be linear in its input). */
export const SLOW_INPUT_MS = 250;
/** Findings kept per target and campaign (the same bug tends to repeat). */
export const MAX_FINDINGS = 20;

export interface Finding {
  readonly target: string;
  readonly input: Uint8Array;
  readonly error: string;
}

export interface CampaignResult {
  readonly target: string;
  readonly inputs: number;
  readonly milliseconds: number;
  readonly corpus: number;
  readonly outcomes: number;
  readonly findings: readonly Finding[];
}

export interface CampaignLimits {
  readonly inputs: number;
  /** Wall-clock deadline (performance.now()). */
  readonly deadline: number;
  readonly seed: number;
}

function describe(error: unknown): { readonly text: string; readonly kind: string } {
  if (!(error instanceof Error)) return { text: String(error), kind: String(error).slice(0, 60) };
  const frame =
    (error.stack ?? '')
      .split('\n')
      .find((line) => line.trim().startsWith('at '))
      ?.trim() ?? '';
  const text = `${error.name}: ${error.message}${frame === '' ? '' : ` (${frame})`}`;
  // The same bug with other data: same error name, same start of message, same place.
  return { text, kind: `${error.name}: ${error.message.slice(0, 40)} ${frame}` };
}

export function runCampaign<I>(target: FuzzTarget<I>, limits: CampaignLimits): CampaignResult {
  const random = createRandom(limits.seed);
  const findings: Finding[] = [];
  const errors = new Set<string>();
  const outcomes = new Set<string>();
  const corpus: I[] = [];
  const started = performance.now();

  const attempt = (input: I): string | null => {
    const before = performance.now();
    try {
      const outcome = target.run(input);
      const took = performance.now() - before;
      if (took > SLOW_INPUT_MS) throw new Error(`slow input: ${took.toFixed(0)} ms`);
      return outcome;
    } catch (error) {
      const { text, kind } = describe(error);
      if (!errors.has(kind) && findings.length < MAX_FINDINGS) {
        errors.add(kind);
        findings.push({ target: target.name, input: target.codec.encode(input), error: text.slice(0, 500) });
      }
      return null;
    }
  };

  for (const seed of target.seeds()) {
    const outcome = attempt(seed);
    corpus.push(seed);
    if (outcome !== null) outcomes.add(outcome);
  }
  const seedCount = corpus.length;
  let inputs = 0;
  while (inputs < limits.inputs && (inputs % 256 !== 0 || performance.now() < limits.deadline)) {
    inputs++;
    if (inputs % RESET_EVERY === 0) target.reset?.();
    // A quarter of the inputs start from a seed: the corpus fills with oddities that mutate badly.
    const base = random.oneIn(4) ? corpus[random.below(seedCount)] : random.pick(corpus);
    const input = target.mutate(base ?? random.pick(corpus), random, corpus);
    const outcome = attempt(input);
    if (outcome === null || outcomes.has(outcome)) continue;
    outcomes.add(outcome);
    if (corpus.length < MAX_CORPUS) corpus.push(input);
    else corpus[seedCount + random.below(MAX_CORPUS - seedCount)] = input;
  }
  return {
    target: target.name,
    inputs,
    milliseconds: performance.now() - started,
    corpus: corpus.length,
    outcomes: outcomes.size,
    findings,
  };
}
