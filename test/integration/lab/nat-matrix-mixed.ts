/**
 * The matrix's mixed half (nat-matrix.test.ts, run beside the main pings with the same clients):
 * one of our clients and one of Debian's Miredo 1.2.6 clients, in every row where Miredo reaches
 * Miredo both ways, each side running ours once and each implementation speaking first once.
 *
 * Why every such row and not one per NAT kind: the pairs reuse the clients the lab has already
 * qualified (our clients take most of the lab's time to start, a ping at most PING_DEADLINE_S),
 * so the whole cross costs one more round of pings, about 7 s. Each pair is one that never spoke:
 * the main pings pair clients of the same implementation and round, these pair an `o` client of
 * one round with a `d` client of the other.
 */
import type { Implementation } from '../../../scripts/lab/index.js';
import { MATRIX_EXPECTATIONS } from './nat-matrix-expectations.js';
import { MATRIX_ROWS, matrixClient } from './nat-matrix-plan.js';
import type { MatrixRow, Outcome } from './nat-matrix-plan.js';

/** Which side runs ours, and which implementation speaks first. */
export type MixedCase =
  'ours-a/ours-first' | 'ours-a/miredo-first' | 'ours-b/miredo-first' | 'ours-b/ours-first';
export const MIXED_CASES: readonly MixedCase[] = [
  'ours-a/ours-first',
  'ours-a/miredo-first',
  'ours-b/miredo-first',
  'ours-b/ours-first',
];

export interface MixedExperiment {
  readonly row: MatrixRow;
  readonly mixedCase: MixedCase;
  readonly from: string;
  readonly to: string;
}

/** Rows where Debian's client reaches Debian's client both ways. */
export function mixedRows(): MatrixRow[] {
  return MATRIX_ROWS.filter((row) =>
    MATRIX_EXPECTATIONS[row.id]?.debian.every((outcome) => outcome === 'works'),
  );
}

function client(impl: Implementation, round: 1 | 2, slot: string): string {
  return matrixClient(impl, round === 1 ? 'a-first' : 'b-first', slot);
}

export function mixedExperiments(): MixedExperiment[] {
  return mixedRows().flatMap((row) => {
    const { a, b } = { a: row.a.slot, b: row.b.slot };
    const pairs: Record<MixedCase, [string, string]> = {
      'ours-a/ours-first': [client('ours', 1, a), client('debian', 2, b)],
      'ours-a/miredo-first': [client('debian', 1, b), client('ours', 2, a)],
      'ours-b/miredo-first': [client('debian', 1, a), client('ours', 2, b)],
      'ours-b/ours-first': [client('ours', 1, b), client('debian', 2, a)],
    };
    return MIXED_CASES.map((mixedCase) => ({
      row,
      mixedCase,
      from: pairs[mixedCase][0],
      to: pairs[mixedCase][1],
    }));
  });
}

/**
 * What the mixed pings must measure: every one works, except those listed with the reason.
 * Keyed "row id | case". None today.
 */
export const MIXED_FAILURES: Readonly<Record<string, string>> = {};

export function mixedExpectation(experiment: MixedExperiment): Outcome {
  return `${experiment.row.id} | ${experiment.mixedCase}` in MIXED_FAILURES ? 'fails' : 'works';
}

/** A Markdown table: pair, then each case. */
export function formatMixed(results: ReadonlyMap<string, Outcome>): string {
  const lines = [
    '| Pair (A / B) | ours at A, ours first | ours at A, Miredo first | ours at B, Miredo first | ours at B, ours first |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const row of mixedRows()) {
    const cells = MIXED_CASES.map((mixedCase) => results.get(`${row.id} | ${mixedCase}`) ?? '?');
    lines.push(`| ${row.label} | ${cells.map((cell) => (cell === 'fails' ? '-' : cell)).join(' | ')} |`);
  }
  return lines.join('\n');
}
