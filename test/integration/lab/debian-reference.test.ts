/**
 * The reference: Debian's Miredo 1.2.6 everywhere (server, cone relay, clients behind two cone
 * NATs and a symmetric one) behaves in the lab as lab-notes describes. Our own daemons are
 * judged against the same lab, so this file proves the lab itself first.
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

describe("Debian's Miredo in the lab (reference behaviour)", { skip: netnsSkip() }, () => {
  const story = new LabStory();
  let lab: Lab | undefined;
  let addresses: Map<string, Qualified> | undefined;
  const clients = new Map<string, TeredoClient>();

  before(async () => {
    lab = await createLab({
      // dave shares alice's NAT: MASQUERADE does no hairpinning.
      nats: STANDARD_NATS.map((nat) =>
        nat.name === 'cone1' ? { ...nat, clients: [...nat.clients, 'dave'] } : nat,
      ),
      onProgress: story.listener,
    });
    const started = lab;
    await story.explain(started, async () => {
      await started.startServer('debian');
      await started.startRelay('debian', { relayType: 'cone' });
      for (const name of ['alice', 'bob', 'carol', 'dave']) {
        clients.set(name, await started.startClient(name, 'debian'));
      }
    });
  });

  after(async () => {
    await lab?.destroy();
  });

  it('every client qualifies, behind cone and symmetric NATs alike', async (t) => {
    assert.ok(lab);
    const active = lab;
    addresses = await story.explain(active, () => qualifyAll(t, active, clients));
    for (const [name, qualified] of addresses) {
      const node = active.node(name);
      assert.ok(node.role === 'client' && node.nat !== null);
      const nat = active.node(node.nat);
      assert.equal(nat.role, 'nat');
      assert.equal(qualified.server, SERVER_IPV4[0], `${name}'s server`);
      assert.equal(qualified.mappedIPv4, nat.wanIPv4, `${name} is seen as its NAT's WAN address`);
      assert.equal(qualified.cone, false, 'Miredo clients never claim the cone flag');
    }
  });

  it('the IPv6 host reaches a client first, through the relay (no prior traffic from the client)', async (t) => {
    assert.ok(lab);
    const active = lab;
    const result = await story.explain(active, () =>
      ping(t, active, 'ipv6host', addressOf(addresses, 'bob')),
    );
    assert.equal(result.received, 3, result.transcript);
  });

  it('a client behind a cone NAT pings the IPv6 host', async (t) => {
    assert.ok(lab);
    const active = lab;
    const result = await story.explain(active, () => ping(t, active, 'alice', IPV6HOST_IPV6));
    assert.equal(result.received, 3, result.transcript);
  });

  it('a client behind a symmetric NAT reaches the IPv6 host both ways (HMAC bubbles)', async (t) => {
    assert.ok(lab);
    const active = lab;
    const out = await story.explain(active, () => ping(t, active, 'carol', IPV6HOST_IPV6));
    assert.equal(out.received, 3, out.transcript);
    const back = await story.explain(active, () =>
      ping(t, active, 'ipv6host', addressOf(addresses, 'carol')),
    );
    assert.equal(back.received, 3, back.transcript);
  });

  it('clients behind two cone NATs ping each other, both ways', async (t) => {
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

  it('no client-to-client path with a symmetric NAT, nor behind the same NAT (no hairpinning)', async (t) => {
    assert.ok(lab);
    const active = lab;
    const [toSymmetric, toNeighbour] = await story.explain(active, () =>
      Promise.all([
        ping(t, active, 'bob', addressOf(addresses, 'carol'), { deadlineSeconds: 3 }),
        ping(t, active, 'dave', addressOf(addresses, 'alice'), { deadlineSeconds: 3 }),
      ]),
    );
    assert.ok(toSymmetric.transmitted > 0 && toNeighbour.transmitted > 0);
    assert.equal(toSymmetric.received, 0, toSymmetric.transcript);
    assert.equal(toNeighbour.received, 0, toNeighbour.transcript);
  });
});
