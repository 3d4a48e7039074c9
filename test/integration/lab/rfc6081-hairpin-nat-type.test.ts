/**
 * Issue 13, items 1 and 3 (hairpinning) in the namespace lab with our server:
 * - NAT type at qualification: one client of ours behind each lab NAT kind classifies it from the
 *   server's two addresses as nat-kinds.test.ts observes it with plain UDP; a port-preserving
 *   symmetric NAT, which looks like a cone from two fresh destinations, is told apart by the
 *   stranger test; qualification time is reported beside it (the probe runs after the address is
 *   up, so it cannot delay it);
 * - two clients of ours behind one NAT that does NOT hairpin reach each other both ways through
 *   the Alternate Address trailer alone: their LocalDiscovery is off (the lab's LAN passes
 *   multicast, which local discovery would use), so nothing else can make it work;
 * - behind a NAT that hairpins, Debian's Miredo still reaches ours both ways: our trailers do not
 *   break Miredo, which reads 40 + payload length bytes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { NAT_KINDS, pollUntil } from '../../../scripts/lab/index.js';
import type { LabDaemon, NatKind, NatSpec } from '../../../scripts/lab/index.js';
import type { NatType } from '../../../src/teredo/nat-type.js';
import { useLab } from './lab-test-tools.js';
import { counterGrowth, engineCounters, formatCounters, natTypeLogged } from './tunnel-tools.js';

const clientOf = (kind: NatKind): string => `t-${kind}`.slice(0, 20);

const EXPECTED: Readonly<Record<NatKind, NatType>> = {
  'full-cone': 'cone-port-preserving',
  'address-restricted': 'cone-port-preserving',
  cone: 'cone-port-preserving',
  'port-preserving-symmetric': 'symmetric-port-preserving',
  symmetric: 'symmetric',
  'sequential-symmetric': 'symmetric-sequential',
};

const KIND_NATS: readonly NatSpec[] = NAT_KINDS.map((kind) => ({
  name: `k-${kind}`.slice(0, 20),
  kind,
  clients: [clientOf(kind)],
}));
const SAME_NATS: readonly NatSpec[] = [
  { name: 'no-hairpin', kind: 'cone', clients: ['np-a', 'np-b'] },
  { name: 'no-hairpin2', kind: 'cone', clients: ['nq-a', 'nq-b'] },
  { name: 'hairpin', kind: 'cone', hairpin: true, clients: ['hp-miredo', 'hp-ours'] },
];

describe('NAT type at qualification, behind each lab NAT kind', { skip: netnsSkip() }, () => {
  const lab = useLab({ nats: KIND_NATS }, async (started, clients) => {
    await started.startServer('ours');
    for (const kind of NAT_KINDS)
      clients.set(clientOf(kind), await started.startClient(clientOf(kind), 'ours'));
  });

  it('every client qualifies', async (t) => {
    await lab.qualifyBehindNats(t, 'our server');
  });

  for (const kind of NAT_KINDS) {
    it(`behind a ${kind} NAT our client finds NAT type ${EXPECTED[kind]}`, async (t) => {
      const client = lab.clients.get(clientOf(kind));
      assert.ok(client);
      const record = await lab.explain(() => natTypeLogged(client.daemon));
      const qualified = lab.qualified(clientOf(kind));
      t.diagnostic(
        `qualified in ${qualified.elapsedMs} ms; ${String(record['msg'])}: ${String(record['natType'])} (${String(record['mappedAddress'])}:${String(record['mappedPort'])}, then ${String(record['secondMappedAddress'])}:${String(record['secondMappedPort'])}; stranger test ${String(record['strangerMappedPort'] ?? '-')})`,
      );
      assert.equal(record['natType'], EXPECTED[kind]);
      assert.equal(record['level'], 30, "Miredo's info level");
      const summary = await summaryOf(client.daemon);
      assert.equal(summary['natType'], record['natType'], 'the SIGUSR1 summary carries it');
    });
  }
});

describe('RFC 6081 hairpinning: two clients behind one NAT', { skip: netnsSkip() }, () => {
  const lab = useLab({ nats: SAME_NATS }, async (started, clients) => {
    await started.startServer('ours');
    for (const name of ['np-a', 'np-b', 'nq-a', 'nq-b', 'hp-ours'])
      // Local discovery off: the Alternate Address trailer alone must make the same-NAT pairs work.
      clients.set(name, await started.startClient(name, 'ours', { extraConfig: ['LocalDiscovery false'] }));
    clients.set('hp-miredo', await started.startClient('hp-miredo', 'debian'));
  });

  it('every client qualifies', async (t) => {
    await lab.qualifyBehindNats(t, 'our server');
  });

  // Each pair never spoke before its first ping: np-a speaks first to np-b, nq-b to nq-a.
  for (const [first, second] of [
    ['np-a', 'np-b'],
    ['nq-b', 'nq-a'],
  ] as const) {
    it(`same NAT without hairpinning: ${first} first, then ${second}, by the Alternate Address trailer`, async (t) => {
      const a = lab.clients.get(first);
      const b = lab.clients.get(second);
      assert.ok(a && b);
      const before = await Promise.all([engineCounters(a.daemon), engineCounters(b.daemon)]);
      await lab.pingBothWays(t, first, second);
      const [ofFirst, ofSecond] = [
        counterGrowth(before[0], await engineCounters(a.daemon)),
        counterGrowth(before[1], await engineCounters(b.daemon)),
      ];
      t.diagnostic(`${first}'s counters: ${formatCounters(ofFirst)}`);
      t.diagnostic(`${second}'s counters: ${formatCounters(ofSecond)}`);
      assert.ok(
        (ofSecond['hairpin-bubble-sent'] ?? 0) >= 1,
        `${second} answered by ${first}'s local address`,
      );
      assert.ok(
        (ofSecond['hairpin-peer-accepted'] ?? 0) >= 1,
        `${second} took ${first}'s packets from there`,
      );
      assert.ok(
        (ofFirst['rx-hmac-bubble'] ?? 0) >= 1,
        `${first} took ${second}'s bubble from its local address`,
      );
    });
  }

  it("same NAT with hairpinning: Debian's Miredo and ours, both ways (trailers do not break Miredo)", async (t) => {
    await lab.pingBothWays(t, 'hp-miredo', 'hp-ours');
  });
});

/** The engine summary line (SIGUSR1), whole. */
async function summaryOf(daemon: LabDaemon): Promise<Record<string, unknown>> {
  const seen = daemon.output.length;
  daemon.child.kill('SIGUSR1');
  return pollUntil(
    async () => {
      for (const line of daemon.output.slice(seen)) {
        if (line.text.includes('"Engine summary"')) return JSON.parse(line.text) as Record<string, unknown>;
      }
      return undefined;
    },
    5000,
    `${daemon.node}'s engine summary`,
    daemon,
  );
}
