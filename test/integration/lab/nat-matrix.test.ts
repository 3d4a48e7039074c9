/**
 * Client to client across every pair of NAT kinds (nat-matrix-plan.ts), both ways, with our
 * clients and with Debian's Miredo 1.2.6 clients, all with our server and our relay: one lab,
 * every client started once, all pings at once (each on a pair that has never spoken) but for
 * those that would change the others' NATs (runInWaves). Prints
 * the table and holds it to nat-matrix-expectations.ts, the one place to update when a pair
 * starts to work. With the same clients and at the same time, ours and Miredo with each other
 * (nat-matrix-mixed.ts), held to that file's expectations.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { createLab } from '../../../scripts/lab/index.js';
import type { Implementation, Lab, TeredoClient } from '../../../scripts/lab/index.js';
import { LabStory } from './lab-test-tools.js';
import { natTypeLogged } from './tunnel-tools.js';
import { MATRIX_EXPECTATIONS } from './nat-matrix-expectations.js';
import {
  formatMatrix,
  MATRIX_IMPLEMENTATIONS,
  MATRIX_ROWS,
  matrixClients,
  matrixExperiments,
  matrixNats,
  takesPeersPort,
} from './nat-matrix-plan.js';
import type { MatrixExperiment, Outcome, RowOutcomes } from './nat-matrix-plan.js';
import { formatMixed, mixedExperiments, mixedExpectation } from './nat-matrix-mixed.js';

const QUALIFY_TIMEOUT_MS = 30_000;
/**
 * Our clients start a few at a time: each is two Node processes whose start-up is CPU-bound,
 * and 32 of them at once on two shared cores miss the engine's 10 s "ready" deadline.
 */
const CONCURRENT_STARTS: Readonly<Record<Implementation, number>> = { ours: 3, debian: 32 };
/** Bubbles go every 2 s, 4 at most: 7 s leaves room for the last one and its answer. */
const PING_DEADLINE_S = 7;

/** Starts every client of `impl` and waits for each to qualify, CONCURRENT_STARTS at a time. */
async function startClients(lab: Lab, impl: Implementation): Promise<Map<string, TeredoClient>> {
  const queue = matrixClients().filter((client) => client.impl === impl);
  const started = new Map<string, TeredoClient>();
  const extraConfig = impl === 'ours' ? ['DataplaneWorkers 1'] : [];
  const starter = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const client = await lab.startClient(next.node, impl, { extraConfig });
      await client.waitQualified(QUALIFY_TIMEOUT_MS);
      // The matrix measures clients in their steady state: ours once the NAT type probe, which
      // chooses the RFC 6081 extensions, has classified (a second or so after qualification).
      if (impl === 'ours') await natTypeLogged(client.daemon);
      started.set(next.node, client);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT_STARTS[impl] }, starter));
  return started;
}

async function runExperiment(
  lab: Lab,
  clients: ReadonlyMap<string, TeredoClient>,
  experiment: Pick<MatrixExperiment, 'from' | 'to'>,
): Promise<Outcome> {
  // Its address now, not at qualification: a mapping that lapsed would have changed it.
  const to = await clients.get(experiment.to)?.currentAddress();
  if (to === null || to === undefined) throw new Error(`${experiment.to} has no Teredo address`);
  const ping = await lab.ping6(experiment.from, to.address, {
    count: 1,
    intervalSeconds: 0.5,
    deadlineSeconds: PING_DEADLINE_S,
  });
  return ping.received > 0 ? 'works' : 'fails';
}

/**
 * Every experiment at once, except those whose first bubbles take the peer's port at its
 * port-preserving symmetric NAT (takesPeersPort), which go once the others are done: each pair
 * is measured on NATs that no other experiment has changed. Outcomes in order.
 */
async function runInWaves(
  lab: Lab,
  clients: ReadonlyMap<string, TeredoClient>,
  experiments: readonly Pick<MatrixExperiment, 'from' | 'to'>[],
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array<Outcome>(experiments.length).fill('fails');
  for (const late of [false, true]) {
    await Promise.all(
      experiments.map(async (experiment, index) => {
        if (takesPeersPort(experiment.from, experiment.to) !== late) return;
        outcomes[index] = await runExperiment(lab, clients, experiment);
      }),
    );
  }
  return outcomes;
}

function tabulate(
  experiments: readonly MatrixExperiment[],
  outcomes: readonly Outcome[],
): Map<string, RowOutcomes> {
  const table = new Map<string, { ours: [Outcome, Outcome]; debian: [Outcome, Outcome] }>();
  experiments.forEach((experiment, index) => {
    const row = table.get(experiment.row.id) ?? { ours: ['fails', 'fails'], debian: ['fails', 'fails'] };
    row[experiment.impl][experiment.round === 'a-first' ? 0 : 1] = outcomes[index] ?? 'fails';
    table.set(experiment.row.id, row);
  });
  return table;
}

function mismatches(measured: ReadonlyMap<string, RowOutcomes>): string[] {
  return MATRIX_ROWS.flatMap((row) =>
    MATRIX_IMPLEMENTATIONS.flatMap((impl) =>
      ([0, 1] as const).flatMap((round) => {
        const expected = MATRIX_EXPECTATIONS[row.id]?.[impl][round];
        const got = measured.get(row.id)?.[impl][round];
        const who = `${impl === 'ours' ? 'ours' : 'Miredo'} ${round === 0 ? 'A→B' : 'B→A'}`;
        return expected === got ? [] : [`${row.label}, ${who}: expected ${expected}, measured ${got}`];
      }),
    ),
  );
}

describe('client to client across every pair of NAT kinds', () => {
  it('the expectations name exactly the rows of the matrix', () => {
    assert.deepEqual(Object.keys(MATRIX_EXPECTATIONS).sort(), MATRIX_ROWS.map((row) => row.id).sort());
  });

  it('every ping is on a pair that never speaks otherwise, and a client meets each NAT once', () => {
    const natOf = new Map(matrixNats().flatMap((nat) => nat.clients.map((client) => [client, nat.name])));
    const experiments = matrixExperiments();
    const pairs = experiments.map((experiment) => [experiment.from, experiment.to].sort().join(' '));
    assert.equal(new Set(pairs).size, experiments.length);
    const peerNats = new Map<string, string[]>();
    for (const { from, to } of experiments) {
      peerNats.set(from, [...(peerNats.get(from) ?? []), natOf.get(to) ?? '?']);
      peerNats.set(to, [...(peerNats.get(to) ?? []), natOf.get(from) ?? '?']);
    }
    for (const [client, nats] of peerNats) assert.equal(new Set(nats).size, nats.length, client);
    assert.equal(natOf.size, matrixClients().length);
  });

  it("the pings that take a port-preserving symmetric peer's port go last: Miredo's first bubbles, ours from a NAT kind that does not hold them back", () => {
    assert.equal(takesPeersPort('d1-xfull', 'd1-yppsym'), true);
    assert.equal(takesPeersPort('o1-xppsym', 'o1-yppsym'), true);
    assert.equal(takesPeersPort('o2-ysym', 'o2-xppsym'), true);
    assert.equal(takesPeersPort('o1-xport', 'o1-yppsym'), false, 'ours holds its bubble back');
    assert.equal(takesPeersPort('d1-xppsym', 'd1-yport'), false, 'a cone keeps no stranger state');
    assert.equal(takesPeersPort('d1-a-same', 'd1-b-same'), false);
  });

  it('the mixed pings pair clients that never speak otherwise, and a client meets each NAT once among them', () => {
    const natOf = new Map(matrixNats().flatMap((nat) => nat.clients.map((client) => [client, nat.name])));
    const key = ({ from, to }: { from: string; to: string }): string => [from, to].sort().join(' ');
    const mainPairs = new Set(matrixExperiments().map(key));
    const mixed = mixedExperiments();
    assert.ok(mixed.length > 0);
    assert.equal(new Set(mixed.map(key)).size, mixed.length);
    for (const experiment of mixed) assert.ok(!mainPairs.has(key(experiment)), key(experiment));
    const peerNats = new Map<string, string[]>();
    for (const { from, to } of mixed) {
      peerNats.set(from, [...(peerNats.get(from) ?? []), natOf.get(to) ?? '?']);
      peerNats.set(to, [...(peerNats.get(to) ?? []), natOf.get(from) ?? '?']);
    }
    for (const [client, nats] of peerNats) assert.equal(new Set(nats).size, nats.length, client);
  });

  it('ours and Miredo, A first and B first: as expected', { skip: netnsSkip() }, async (t) => {
    const story = new LabStory();
    const phases: string[] = [];
    let mark = Date.now();
    const phase = (name: string): void => {
      const now = Date.now();
      phases.push(`${name} ${((now - mark) / 1000).toFixed(1)} s`);
      mark = now;
    };
    const lab = await createLab({ nats: matrixNats(), onProgress: story.listener });
    try {
      phase(`lab (${lab.nodes.size} namespaces)`);
      const measured = await story.explain(lab, async () => {
        await lab.startServer('ours');
        await lab.startRelay('ours', { relayType: 'cone' });
        const started = await Promise.all(MATRIX_IMPLEMENTATIONS.map((impl) => startClients(lab, impl)));
        const clients = new Map(started.flatMap((clientsOf) => [...clientsOf]));
        phase(`${clients.size} clients qualified`);
        const experiments = matrixExperiments();
        const mixed = mixedExperiments();
        const all = await runInWaves(lab, clients, [...experiments, ...mixed]);
        const outcomes = all.slice(0, experiments.length);
        const mixedOutcomes = all.slice(experiments.length);
        phase(`${experiments.length} pings and ${mixed.length} mixed pings`);
        const mixedTable = new Map(
          mixed.map((experiment, index) => [
            `${experiment.row.id} | ${experiment.mixedCase}`,
            mixedOutcomes[index] ?? 'fails',
          ]),
        );
        const mixedWrong = mixed.flatMap((experiment, index) =>
          mixedExpectation(experiment) === mixedOutcomes[index]
            ? []
            : [`${experiment.row.label}, ${experiment.mixedCase}: measured ${mixedOutcomes[index]}`],
        );
        return { table: tabulate(experiments, outcomes), mixedTable, mixedWrong };
      });
      const why = (rowId: string): string | undefined => MATRIX_EXPECTATIONS[rowId]?.why;
      for (const line of formatMatrix(measured.table, why).split('\n')) t.diagnostic(line);
      for (const line of formatMixed(measured.mixedTable).split('\n')) t.diagnostic(line);
      const wrong = [...mismatches(measured.table), ...measured.mixedWrong];
      assert.deepEqual(
        wrong,
        [],
        `the matrix differs from nat-matrix-expectations.ts or nat-matrix-mixed.ts:\n${wrong.join('\n')}`,
      );
    } finally {
      await lab.destroy();
      phase('teardown');
      t.diagnostic(`time: ${phases.join(', ')}`);
    }
  });
});
