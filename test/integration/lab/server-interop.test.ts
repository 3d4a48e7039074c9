/**
 * Issue 4's acceptance: OUR miredo-server in the lab in place of Debian's, with Debian's
 * Miredo 1.2.6 as clients and relay. Debian's clients must qualify against it behind cone and
 * symmetric NATs, reach the native IPv6 host through it (its echo forwarding and the relay's
 * indirect bubbles) and reach each other behind cone NATs through the bubbles it forwards.
 */
import { describe, it } from 'node:test';
import { netnsSkip } from '../../support/netns.js';
import { IPV6HOST_IPV6 } from '../../../scripts/lab/index.js';
import { STANDARD_NATS, useLab } from './lab-test-tools.js';

describe('our miredo-server with Debian Miredo clients and relay', { skip: netnsSkip() }, () => {
  const lab = useLab({ nats: STANDARD_NATS }, async (started, clients) => {
    await started.startServer('ours');
    await started.startRelay('debian', { relayType: 'cone' });
    for (const name of ['alice', 'bob', 'carol'])
      clients.set(name, await started.startClient(name, 'debian'));
  });

  it("Debian's clients qualify against our server behind cone and symmetric NATs", async (t) => {
    await lab.qualifyBehindNats(t, 'our server');
  });

  it('a client pings the IPv6 host (echo test forwarded natively by our server, replies via the relay)', async (t) => {
    await lab.pingAnswered(t, 'alice', IPV6HOST_IPV6);
  });

  it("the IPv6 host reaches a client first (the relay's indirect bubble through our server)", async (t) => {
    await lab.pingAnswered(t, 'ipv6host', 'bob');
  });

  it('a client behind a symmetric NAT pings the IPv6 host', async (t) => {
    await lab.pingAnswered(t, 'carol', IPV6HOST_IPV6);
  });

  it("clients behind different cone NATs ping each other through our server's bubbles", async (t) => {
    await lab.pingAcrossConesThroughServer(t, 'alice', 'bob');
  });
});
