/**
 * Issue 5's acceptance with nothing but our daemons: our miredo-server, our relay (`RelayType
 * cone`) and our clients behind two cone NATs and two symmetric ones. Clients qualify, reach the
 * native IPv6 host both ways and each other across the cone NATs, carry TCP byte-identical both
 * ways, and an idle client behind a symmetric NAT keeps its address for 90 s (a Debian Miredo
 * client beside it, refreshing every 30 s, loses its mapping and changes address: the contrast).
 *
 * That NAT forgets a UDP mapping after 25 s without traffic, streams included. With Linux's
 * defaults (30 s for a mapping that saw one reply, 120 s once it saw more), whether Miredo's
 * first refresh, 30 s after its RS, comes before the mapping expires, 30 s after the RA, is a
 * race of a few milliseconds; once it wins, the mapping counts as a stream and lives on. 25 s is
 * a harsher NAT than Linux's, so our client keeping its address here implies it does there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { createLab, IPV6HOST_IPV6, SERVER_IPV4 } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import { addressOf, LabStory, ping, qualifiedOf, qualifyAll } from './lab-test-tools.js';
import {
  counterGrowth,
  describeStartup,
  engineCounters,
  formatCounters,
  formatTimeline,
  tcpTransfer,
  watchAddress,
} from './tunnel-tools.js';
import type { AddressTimeline } from './tunnel-tools.js';

const IDLE_MS = 90_000;
const IDLE_NAT_UDP_TIMEOUT_S = 25;
const TCP_BYTES = 4 * 1024 * 1024;

describe('all ours: our server, our cone relay and our clients', { skip: netnsSkip() }, () => {
  const story = new LabStory();
  let lab: Lab | undefined;
  let relay: LabDaemon | undefined;
  let addresses: Map<string, Qualified> | undefined;
  const clients = new Map<string, TeredoClient>();
  let idle: Promise<readonly [AddressTimeline, AddressTimeline]> | undefined;

  before(async () => {
    lab = await createLab({
      nats: [
        { name: 'cone1', kind: 'cone', clients: ['alice'] },
        { name: 'cone2', kind: 'cone', clients: ['bob'] },
        { name: 'sym1', kind: 'symmetric', clients: ['carol'] },
        // Idle from start to end: dave (ours) and erin (Debian's Miredo, the contrast).
        {
          name: 'sym2',
          kind: 'symmetric',
          clients: ['dave', 'erin'],
          udpTimeoutSeconds: IDLE_NAT_UDP_TIMEOUT_S,
        },
      ],
      onProgress: story.listener,
    });
    const started = lab;
    await story.explain(started, async () => {
      await started
        .namespace('sym2')
        .sysctl('net.netfilter.nf_conntrack_udp_timeout_stream', IDLE_NAT_UDP_TIMEOUT_S);
      await started.startServer('ours');
      relay = await started.startRelay('ours', { relayType: 'cone' });
      for (const name of ['alice', 'bob', 'carol', 'dave'])
        clients.set(name, await started.startClient(name, 'ours'));
      clients.set('erin', await started.startClient('erin', 'debian'));
    });
  });

  after(async () => {
    await lab?.destroy();
  });

  it('our clients qualify with our server behind cone and symmetric NATs', async (t) => {
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
      assert.equal(
        qualified.mappedIPv4,
        nat.wanIPv4,
        `${name}'s address carries its ${nat.kind} NAT's mapping`,
      );
      assert.equal(qualified.cone, false, `${name} does not claim the cone flag`);
    }
    const dave = clients.get('dave');
    const erin = clients.get('erin');
    assert.ok(dave && erin);
    idle = Promise.all([watchAddress(dave, IDLE_MS, 1000), watchAddress(erin, IDLE_MS, 1000)]);
  });

  for (const [name, nat] of [
    ['bob', 'cone'],
    ['alice', 'cone'],
    ['carol', 'symmetric'],
  ] as const) {
    it(`the IPv6 host and ${name} (${nat} NAT) ping each other, the host first`, async (t) => {
      assert.ok(lab);
      const active = lab;
      const address = addressOf(addresses, name);
      const fromHost = await story.explain(active, () => ping(t, active, 'ipv6host', address));
      assert.equal(fromHost.received, 3, fromHost.transcript);
      const toHost = await story.explain(active, () => ping(t, active, name, IPV6HOST_IPV6));
      assert.equal(toHost.received, 3, toHost.transcript);
    });
  }

  it('clients behind two cone NATs ping each other, both ways', async (t) => {
    assert.ok(lab);
    const active = lab;
    const there = await story.explain(active, () => ping(t, active, 'alice', addressOf(addresses, 'bob')));
    assert.equal(there.received, 3, there.transcript);
    const back = await story.explain(active, () => ping(t, active, 'bob', addressOf(addresses, 'alice')));
    assert.equal(back.received, 3, back.transcript);
  });

  it('4 MB of TCP from a client to the IPv6 host arrive byte-identical', async (t) => {
    assert.ok(lab && relay);
    const active = lab;
    const alice = clients.get('alice');
    assert.ok(alice);
    const before = await engineCounters(alice.daemon);
    const transfer = await story.explain(active, () =>
      tcpTransfer(t, active, {
        from: 'alice',
        to: 'ipv6host',
        address: IPV6HOST_IPV6,
        port: 5001,
        bytes: TCP_BYTES,
      }),
    );
    assert.equal(transfer.receivedSha256, transfer.sentSha256);
    t.diagnostic(
      `alice's counters: ${formatCounters(counterGrowth(before, await engineCounters(alice.daemon)))}`,
    );
  });

  it('4 MB of TCP from the IPv6 host to a client arrive byte-identical', async (t) => {
    assert.ok(lab && relay);
    const active = lab;
    const relayDaemon = relay;
    const before = await engineCounters(relayDaemon);
    const transfer = await story.explain(active, () =>
      tcpTransfer(t, active, {
        from: 'ipv6host',
        to: 'alice',
        address: addressOf(addresses, 'alice'),
        port: 5002,
        bytes: TCP_BYTES,
      }),
    );
    assert.equal(transfer.receivedSha256, transfer.sentSha256);
    t.diagnostic(
      `the relay's counters: ${formatCounters(counterGrowth(before, await engineCounters(relayDaemon)))}`,
    );
  });

  it(`an idle client of ours behind a symmetric NAT keeps its address for ${IDLE_MS / 1000} s (Miredo's changes)`, async (t) => {
    assert.ok(lab);
    assert.ok(idle, 'the idle watch never started: dave or erin did not qualify');
    const active = lab;
    const [ours, miredo] = await idle;
    t.diagnostic(formatTimeline('dave (ours)', ours));
    t.diagnostic(formatTimeline("erin (Debian's Miredo)", miredo));
    const dave = qualifiedOf(addresses, 'dave');
    assert.equal(ours.error, null);
    assert.deepEqual(ours.distinct, [dave.address], "dave's address never changed");
    assert.equal(ours.gaps, 0, 'dave never lost his address');
    // The premise: the NAT forgets a mapping refreshed only every 30 s.
    assert.equal(miredo.error, null);
    assert.ok(miredo.distinct.length >= 2, `Miredo's address changed: ${formatTimeline('erin', miredo)}`);
    const reached = await story.explain(active, () => ping(t, active, 'ipv6host', dave.address));
    assert.equal(reached.received, 3, reached.transcript);
  });
});
