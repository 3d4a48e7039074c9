/**
 * Issue 5's interop acceptance, part 1: Debian's Miredo 1.2.6 clients through OUR server and
 * OUR relay (`RelayType cone`), behind a cone and a symmetric NAT, and a mixed pair across two
 * cone NATs where Debian's client speaks first to ours (part 2, tunnel-interop-debian-
 * infrastructure, has ours speak first).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { createLab, IPV6HOST_IPV6, SERVER_IPV4 } from '../../../scripts/lab/index.js';
import type { Implementation, Lab, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import { addressOf, LabStory, ping, qualifyAll } from './lab-test-tools.js';
import { describeStartup } from './tunnel-tools.js';

const CLIENTS: readonly (readonly [string, Implementation])[] = [
  ['alice', 'debian'],
  ['bob', 'ours'],
  ['carol', 'debian'],
];

describe("Debian's Miredo clients with our server and our relay", { skip: netnsSkip() }, () => {
  const story = new LabStory();
  let lab: Lab | undefined;
  let addresses: Map<string, Qualified> | undefined;
  const clients = new Map<string, TeredoClient>();

  before(async () => {
    lab = await createLab({
      nats: [
        { name: 'cone1', kind: 'cone', clients: ['alice'] },
        { name: 'cone2', kind: 'cone', clients: ['bob'] },
        { name: 'sym1', kind: 'symmetric', clients: ['carol'] },
      ],
      onProgress: story.listener,
    });
    const started = lab;
    await story.explain(started, async () => {
      await started.startServer('ours');
      await started.startRelay('ours', { relayType: 'cone' });
      for (const [name, impl] of CLIENTS) clients.set(name, await started.startClient(name, impl));
    });
  });

  after(async () => {
    await lab?.destroy();
  });

  it('every client qualifies with our server, behind cone and symmetric NATs', async (t) => {
    assert.ok(lab);
    const active = lab;
    addresses = await story.explain(active, () => qualifyAll(t, active, clients));
    for (const [name, qualified] of addresses) {
      const client = clients.get(name);
      if (client?.daemon.impl === 'ours') t.diagnostic(describeStartup(client, qualified));
      const node = active.node(name);
      assert.ok(node.role === 'client' && node.nat !== null);
      const nat = active.node(node.nat);
      assert.ok(nat.role === 'nat');
      assert.equal(qualified.server, SERVER_IPV4[0], `${name}'s address names our server`);
      assert.equal(qualified.mappedIPv4, nat.wanIPv4, `${name}'s address carries its NAT's mapping`);
    }
  });

  for (const [name, nat] of [
    ['alice', 'cone'],
    ['carol', 'symmetric'],
  ] as const) {
    it(`the IPv6 host and Debian's ${name} (${nat} NAT) ping each other through our relay, the host first`, async (t) => {
      assert.ok(lab);
      const active = lab;
      const fromHost = await story.explain(active, () =>
        ping(t, active, 'ipv6host', addressOf(addresses, name)),
      );
      assert.equal(fromHost.received, 3, fromHost.transcript);
      const toHost = await story.explain(active, () => ping(t, active, name, IPV6HOST_IPV6));
      assert.equal(toHost.received, 3, toHost.transcript);
    });
  }

  it("Debian's alice and our bob, behind two cone NATs, ping each other (Debian's first)", async (t) => {
    assert.ok(lab);
    const active = lab;
    const there = await story.explain(active, () => ping(t, active, 'alice', addressOf(addresses, 'bob')));
    assert.equal(there.received, 3, there.transcript);
    const back = await story.explain(active, () => ping(t, active, 'bob', addressOf(addresses, 'alice')));
    assert.equal(back.received, 3, back.transcript);
  });
});
