/**
 * Issue 4's acceptance: OUR miredo-server in the lab in place of Debian's, with Debian's
 * Miredo 1.2.6 as clients and relay. Debian's clients must qualify against it behind cone and
 * symmetric NATs, reach the native IPv6 host through it (its echo forwarding and the relay's
 * indirect bubbles) and reach each other behind cone NATs through the bubbles it forwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { createLab, IPV6HOST_IPV6, SERVER_IPV4 } from '../../../scripts/lab/index.js';
import type { Lab, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import {
  addressOf,
  describePackets,
  LabStory,
  ping,
  pingThroughServer,
  qualifiedOf,
  qualifyAll,
  relayedBubble,
  STANDARD_NATS,
} from './lab-test-tools.js';

describe('our miredo-server with Debian Miredo clients and relay', { skip: netnsSkip() }, () => {
  const story = new LabStory();
  let lab: Lab | undefined;
  let addresses: Map<string, Qualified> | undefined;
  const clients = new Map<string, TeredoClient>();

  before(async () => {
    lab = await createLab({ nats: STANDARD_NATS, onProgress: story.listener });
    const started = lab;
    await story.explain(started, async () => {
      await started.startServer('ours');
      await started.startRelay('debian', { relayType: 'cone' });
      for (const name of ['alice', 'bob', 'carol'])
        clients.set(name, await started.startClient(name, 'debian'));
    });
  });

  after(async () => {
    await lab?.destroy();
  });

  it("Debian's clients qualify against our server behind cone and symmetric NATs", async (t) => {
    assert.ok(lab);
    const active = lab;
    addresses = await story.explain(active, () => qualifyAll(t, active, clients));
    for (const [name, qualified] of addresses) {
      const node = active.node(name);
      assert.ok(node.role === 'client' && node.nat !== null);
      const nat = active.node(node.nat);
      assert.equal(nat.role, 'nat');
      assert.equal(qualified.server, SERVER_IPV4[0], `${name}'s address names our server`);
      assert.equal(qualified.mappedIPv4, nat.wanIPv4, `${name}'s address carries its NAT mapping`);
    }
  });

  it('a client pings the IPv6 host (echo test forwarded natively by our server, replies via the relay)', async (t) => {
    assert.ok(lab);
    const active = lab;
    const result = await story.explain(active, () => ping(t, active, 'alice', IPV6HOST_IPV6));
    assert.equal(result.received, 3, result.transcript);
  });

  it("the IPv6 host reaches a client first (the relay's indirect bubble through our server)", async (t) => {
    assert.ok(lab);
    const active = lab;
    const result = await story.explain(active, () =>
      ping(t, active, 'ipv6host', addressOf(addresses, 'bob')),
    );
    assert.equal(result.received, 3, result.transcript);
  });

  it('a client behind a symmetric NAT pings the IPv6 host', async (t) => {
    assert.ok(lab);
    const active = lab;
    const result = await story.explain(active, () => ping(t, active, 'carol', IPV6HOST_IPV6));
    assert.equal(result.received, 3, result.transcript);
  });

  it("clients behind different cone NATs ping each other through our server's bubbles", async (t) => {
    assert.ok(lab);
    const active = lab;
    const alice = qualifiedOf(addresses, 'alice');
    const bob = qualifiedOf(addresses, 'bob');
    const there = await story.explain(active, () => pingThroughServer(t, active, 'alice', bob.address));
    assert.equal(there.ping.received, 3, there.ping.transcript);
    assert.ok(
      relayedBubble(there.atServer, alice, bob),
      `the server relays alice's bubble to bob, with her mapping as origin:\n${describePackets(there.atServer)}`,
    );
    const back = await story.explain(active, () => ping(t, active, 'bob', addressOf(addresses, 'alice')));
    assert.equal(back.received, 3, back.transcript);
  });
});
