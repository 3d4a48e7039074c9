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
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import type { LabDaemon } from '../../../scripts/lab/index.js';
import { STANDARD_NATS, useLab } from './lab-test-tools.js';
import {
  counterGrowth,
  engineCounters,
  formatCounters,
  formatTimeline,
  tcpFromIPv6Host,
  tcpToIPv6Host,
  watchAddress,
} from './tunnel-tools.js';
import type { AddressTimeline } from './tunnel-tools.js';

const IDLE_MS = 90_000;
const IDLE_NAT_UDP_TIMEOUT_S = 25;
const TCP_BYTES = 4 * 1024 * 1024;

describe('all ours: our server, our cone relay and our clients', { skip: netnsSkip() }, () => {
  let relay: LabDaemon | undefined;
  let idle: Promise<readonly [AddressTimeline, AddressTimeline]> | undefined;
  const lab = useLab(
    {
      nats: [
        ...STANDARD_NATS,
        // Idle from start to end: dave (ours) and erin (Debian's Miredo, the contrast).
        {
          name: 'sym2',
          kind: 'symmetric',
          clients: ['dave', 'erin'],
          udpTimeoutSeconds: IDLE_NAT_UDP_TIMEOUT_S,
        },
      ],
    },
    async (started, clients) => {
      await started
        .namespace('sym2')
        .sysctl('net.netfilter.nf_conntrack_udp_timeout_stream', IDLE_NAT_UDP_TIMEOUT_S);
      await started.startServer('ours');
      relay = await started.startRelay('ours', { relayType: 'cone' });
      // A client's default is one data-plane worker; alice runs two, so that a client's
      // workers sharing one peer table are carried through this suite too.
      const twoWorkers = { extraConfig: ['DataplaneWorkers 2'] };
      for (const name of ['alice', 'bob', 'carol', 'dave'])
        clients.set(name, await started.startClient(name, 'ours', name === 'alice' ? twoWorkers : {}));
      clients.set('erin', await started.startClient('erin', 'debian'));
    },
  );

  it('our clients qualify with our server behind cone and symmetric NATs', async (t) => {
    await lab.qualifyBehindNats(t, 'our server');
    const dave = lab.clients.get('dave');
    const erin = lab.clients.get('erin');
    assert.ok(dave && erin);
    idle = Promise.all([watchAddress(dave, IDLE_MS, 1000), watchAddress(erin, IDLE_MS, 1000)]);
  });

  for (const [name, nat] of [
    ['bob', 'cone'],
    ['alice', 'cone'],
    ['carol', 'symmetric'],
  ] as const) {
    it(`the IPv6 host and ${name} (${nat} NAT) ping each other, the host first`, async (t) => {
      await lab.pingWithIPv6Host(t, name);
    });
  }

  it('clients behind two cone NATs ping each other, both ways', async (t) => {
    await lab.pingBothWays(t, 'alice', 'bob');
  });

  it('4 MB of TCP from a client to the IPv6 host arrive byte-identical', async (t) => {
    assert.ok(relay);
    const alice = lab.clients.get('alice');
    assert.ok(alice);
    const before = await engineCounters(alice.daemon);
    await tcpToIPv6Host(t, lab, 'alice', TCP_BYTES);
    t.diagnostic(
      `alice's counters: ${formatCounters(counterGrowth(before, await engineCounters(alice.daemon)))}`,
    );
  });

  it('4 MB of TCP from the IPv6 host to a client arrive byte-identical', async (t) => {
    assert.ok(relay);
    const relayDaemon = relay;
    const before = await engineCounters(relayDaemon);
    await tcpFromIPv6Host(t, lab, 'alice', TCP_BYTES);
    t.diagnostic(
      `the relay's counters: ${formatCounters(counterGrowth(before, await engineCounters(relayDaemon)))}`,
    );
  });

  it(`an idle client of ours behind a symmetric NAT keeps its address for ${IDLE_MS / 1000} s (Miredo's changes)`, async (t) => {
    assert.ok(idle, 'the idle watch never started: dave or erin did not qualify');
    const [ours, miredo] = await idle;
    t.diagnostic(formatTimeline('dave (ours)', ours));
    t.diagnostic(formatTimeline("erin (Debian's Miredo)", miredo));
    const dave = lab.qualified('dave');
    assert.equal(ours.error, null);
    assert.deepEqual(ours.distinct, [dave.address], "dave's address never changed");
    assert.equal(ours.gaps, 0, 'dave never lost his address');
    // The premise: the NAT forgets a mapping refreshed only every 30 s.
    assert.equal(miredo.error, null);
    assert.ok(miredo.distinct.length >= 2, `Miredo's address changed: ${formatTimeline('erin', miredo)}`);
    await lab.pingAnswered(t, 'ipv6host', dave.address);
  });
});
