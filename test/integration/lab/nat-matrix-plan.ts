/**
 * The client-to-client matrix's layout (nat-matrix.test.ts): its rows (every pair of NAT kinds,
 * each side behind its own NAT, and two clients behind one port-restricted cone NAT with and
 * without hairpinning), the one lab that holds them all, and the table of results.
 *
 * Every experiment needs a pair that has never spoken: per row, implementation and round (A
 * speaks first, B speaks first) a client pair of its own. A client takes part in several rows
 * (the x-side client of a kind pings the y-side clients of every kind), but its peers then sit
 * behind different NATs, so experiments running side by side share no state but the server.
 */
import { NAT_KIND_INFO, NAT_KINDS } from '../../../scripts/lab/index.js';
import type { Implementation, NatKind, NatSpec } from '../../../scripts/lab/index.js';

export type Round = 'a-first' | 'b-first';
export const ROUNDS: readonly Round[] = ['a-first', 'b-first'];
export const MATRIX_IMPLEMENTATIONS: readonly Implementation[] = ['ours', 'debian'];

const SHORT: Readonly<Record<NatKind, string>> = {
  'full-cone': 'full',
  'address-restricted': 'addr',
  cone: 'port',
  'port-preserving-symmetric': 'ppsym',
  symmetric: 'sym',
  'sequential-symmetric': 'seq',
};

export const SAME_NAT_ROW = 'same NAT';
export const HAIRPIN_ROW = 'same NAT, hairpinning';

export interface MatrixRow {
  /** The key of its expectation: "full-cone / symmetric", "same NAT". */
  readonly id: string;
  /** As the table shows it. */
  readonly label: string;
  /** Slots: a client name is an implementation and round tag, then the slot. */
  readonly a: { readonly nat: string; readonly slot: string };
  readonly b: { readonly nat: string; readonly slot: string };
}

function kindRows(): MatrixRow[] {
  return NAT_KINDS.flatMap((aKind, index) =>
    NAT_KINDS.slice(index).map((bKind) => ({
      id: `${aKind} / ${bKind}`,
      label: `${NAT_KIND_INFO[aKind].label} / ${NAT_KIND_INFO[bKind].label}`,
      a: { nat: `x-${SHORT[aKind]}`, slot: `x${SHORT[aKind]}` },
      b: { nat: `y-${SHORT[bKind]}`, slot: `y${SHORT[bKind]}` },
    })),
  );
}

export const MATRIX_ROWS: readonly MatrixRow[] = [
  ...kindRows(),
  {
    id: SAME_NAT_ROW,
    label: 'same port-restricted cone NAT, no hairpinning',
    a: { nat: 'same', slot: 'a-same' },
    b: { nat: 'same', slot: 'b-same' },
  },
  {
    id: HAIRPIN_ROW,
    label: 'same port-restricted cone NAT, hairpinning',
    a: { nat: 'hairpin', slot: 'a-hair' },
    b: { nat: 'hairpin', slot: 'b-hair' },
  },
];

/** The client node for `slot`, implementation `impl`, round `round`: "o1-xfull", "d2-b-hair". */
export function matrixClient(impl: Implementation, round: Round, slot: string): string {
  return `${impl === 'ours' ? 'o' : 'd'}${round === 'a-first' ? 1 : 2}-${slot}`;
}

export interface MatrixExperiment {
  readonly row: MatrixRow;
  readonly impl: Implementation;
  readonly round: Round;
  /** Who speaks first, and to whom. */
  readonly from: string;
  readonly to: string;
}

/** Every ping of the matrix: per row, implementation and round, a pair that has never spoken. */
export function matrixExperiments(): MatrixExperiment[] {
  return MATRIX_ROWS.flatMap((row) =>
    MATRIX_IMPLEMENTATIONS.flatMap((impl) =>
      ROUNDS.map((round) => {
        const [first, second] = round === 'a-first' ? [row.a, row.b] : [row.b, row.a];
        return {
          row,
          impl,
          round,
          from: matrixClient(impl, round, first.slot),
          to: matrixClient(impl, round, second.slot),
        };
      }),
    ),
  );
}

/** The NAT kind of a client behind one of the kind rows' NATs ("o1-xppsym": 'ppsym'). */
function shortKindOf(node: string): string | null {
  return /^[od][12]-[xy]([a-z]+)$/.exec(node)?.[1] ?? null;
}

/** Kinds behind which our client holds its first direct bubble back (port-preserving-nat.ts). */
const HOLDS_BACK = new Set([SHORT['full-cone'], SHORT['address-restricted'], SHORT.cone]);

/**
 * Whether `from`'s first bubbles take `to`'s port at `to`'s port-preserving symmetric NAT:
 * Linux then gives `to`'s next new flows, to any peer, the port it chose instead (nf_nat's
 * find_appropriate_src reuses the newest mapping of the same source while that flow lives),
 * which would decide the outcome of `to`'s other experiments. Miredo sends its direct bubble
 * first; ours holds it back behind the cone kinds.
 */
export function takesPeersPort(from: string, to: string): boolean {
  if (shortKindOf(to) !== SHORT['port-preserving-symmetric']) return false;
  return from.startsWith('d') || !HOLDS_BACK.has(shortKindOf(from) ?? '');
}

/** Every client node of the matrix and the implementation it runs. */
export function matrixClients(): { readonly node: string; readonly impl: Implementation }[] {
  const slots = new Set(MATRIX_ROWS.flatMap((row) => [row.a.slot, row.b.slot]));
  return [...slots].flatMap((slot) =>
    MATRIX_IMPLEMENTATIONS.flatMap((impl) =>
      ROUNDS.map((round) => ({ node: matrixClient(impl, round, slot), impl })),
    ),
  );
}

/**
 * The matrix NATs keep an idle UDP mapping 60 s (Linux's default is 30 s): Miredo refreshes
 * every 30 s, and with 30 s its mapping lapses just before each refresh, so behind the symmetric
 * kinds its address would change under the test. The matrix measures traversal, not keep-alive
 * (tunnel-all-ours.test.ts does that).
 */
export const MATRIX_UDP_TIMEOUT_S = 60;

/** Every NAT of the matrix with its clients, each client once. */
export function matrixNats(): NatSpec[] {
  const clientsOf = (slot: string): string[] =>
    MATRIX_IMPLEMENTATIONS.flatMap((impl) => ROUNDS.map((round) => matrixClient(impl, round, slot)));
  const kindNats = NAT_KINDS.flatMap((kind) =>
    (['x', 'y'] as const).map((side) => ({
      name: `${side}-${SHORT[kind]}`,
      kind,
      clients: clientsOf(`${side}${SHORT[kind]}`),
    })),
  );
  return [
    ...kindNats,
    { name: 'same', kind: 'cone', clients: [...clientsOf('a-same'), ...clientsOf('b-same')] },
    {
      name: 'hairpin',
      kind: 'cone',
      hairpin: true,
      clients: [...clientsOf('a-hair'), ...clientsOf('b-hair')],
    },
  ];
}

export type Outcome = 'works' | 'fails';

/** Per implementation, [A speaks first, B speaks first]. */
export type RowOutcomes = Readonly<Record<Implementation, readonly [Outcome, Outcome]>>;

const mark = (outcome: Outcome | undefined): string =>
  outcome === 'works' ? 'works' : outcome === 'fails' ? '-' : '?';

/** A Markdown table: pair, ours A→B / B→A, Miredo A→B / B→A, and why a pair fails if `why` says. */
export function formatMatrix(
  results: ReadonlyMap<string, RowOutcomes>,
  why: (rowId: string) => string | undefined = () => undefined,
): string {
  const lines = [
    '| Pair (A / B) | ours A→B | ours B→A | Miredo A→B | Miredo B→A | Why not (today) |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of MATRIX_ROWS) {
    const outcome = results.get(row.id);
    const cells = MATRIX_IMPLEMENTATIONS.flatMap((impl) => [0, 1].map((i) => mark(outcome?.[impl][i])));
    lines.push(`| ${row.label} | ${cells.join(' | ')} | ${why(row.id) ?? ''} |`);
  }
  return lines.join('\n');
}
