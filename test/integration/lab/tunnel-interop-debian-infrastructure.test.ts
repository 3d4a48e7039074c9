/**
 * Issue 5's interop acceptance, part 2: OUR clients with Debian's Miredo 1.2.6 as server
 * (miredo-server) and relay (`RelayType cone`), behind a cone and a symmetric NAT: they qualify,
 * reach the IPv6 host both ways through Debian's relay (TCP too), and a mixed pair across two
 * cone NATs where our client speaks first to Debian's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { createLab, IPV6HOST_IPV6, SERVER_IPV4 } from '../../../scripts/lab/index.js';
import type { Implementation, Lab, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import { addressOf, LabStory, ping, qualifyAll } from './lab-test-tools.js';
import { describeStartup, tcpTransfer } from './tunnel-tools.js';

const CLIENTS: readonly (readonly [string, Implementation])[] = [
  ['alice', 'ours'],
  ['bob', 'debian'],
  ['carol', 'ours'],
];
const TCP_BYTES = 4 * 1024 * 1024;

describe("our clients with Debian's miredo-server and Debian's relay", { skip: netnsSkip() }, () => {
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
      await started.startServer('debian');
      await started.startRelay('debian', { relayType: 'cone' });
      for (const [name, impl] of CLIENTS) clients.set(name, await started.startClient(name, impl));
    });
  });

  after(async () => {
    await lab?.destroy();
  });

  it("our clients qualify with Debian's server, behind cone and symmetric NATs", async (t) => {
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
      assert.equal(qualified.server, SERVER_IPV4[0], `${name}'s address names Debian's server`);
      assert.equal(qualified.mappedIPv4, nat.wanIPv4, `${name}'s address carries its NAT's mapping`);
      assert.equal(qualified.cone, false, `${name} does not claim the cone flag`);
    }
  });

  for (const [name, nat] of [
    ['alice', 'cone'],
    ['carol', 'symmetric'],
  ] as const) {
    it(`the IPv6 host and our ${name} (${nat} NAT) ping each other through Debian's relay, the host first`, async (t) => {
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

  it("4 MB of TCP each way between our alice and the IPv6 host through Debian's relay arrive byte-identical", async (t) => {
    assert.ok(lab);
    const active = lab;
    const out = await story.explain(active, () =>
      tcpTransfer(t, active, {
        from: 'alice',
        to: 'ipv6host',
        address: IPV6HOST_IPV6,
        port: 5001,
        bytes: TCP_BYTES,
      }),
    );
    assert.equal(out.receivedSha256, out.sentSha256);
    const back = await story.explain(active, () =>
      tcpTransfer(t, active, {
        from: 'ipv6host',
        to: 'alice',
        address: addressOf(addresses, 'alice'),
        port: 5002,
        bytes: TCP_BYTES,
      }),
    );
    assert.equal(back.receivedSha256, back.sentSha256);
  });

  it("our alice and Debian's bob, behind two cone NATs, ping each other (ours first)", async (t) => {
    assert.ok(lab);
    const active = lab;
    const there = await story.explain(active, () => ping(t, active, 'alice', addressOf(addresses, 'bob')));
    assert.equal(there.received, 3, there.transcript);
    const back = await story.explain(active, () => ping(t, active, 'bob', addressOf(addresses, 'alice')));
    assert.equal(back.received, 3, back.transcript);
  });
});
