/**
 * The reference: Debian's Miredo 1.2.6 everywhere (server, cone relay, clients behind two cone
 * NATs and a symmetric one) behaves in the lab as lab-notes describes. Our own daemons are
 * judged against the same lab, so this file proves the lab itself first.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { IPV6HOST_IPV6 } from '../../../scripts/lab/index.js';
import { ping, STANDARD_NATS, useLab } from './lab-test-tools.js';

describe("Debian's Miredo in the lab (reference behaviour)", { skip: netnsSkip() }, () => {
  const lab = useLab(
    {
      // dave shares alice's NAT: MASQUERADE does no hairpinning.
      nats: STANDARD_NATS.map((nat) =>
        nat.name === 'cone1' ? { ...nat, clients: [...nat.clients, 'dave'] } : nat,
      ),
    },
    async (started, clients) => {
      await started.startServer('debian');
      await started.startRelay('debian', { relayType: 'cone' });
      for (const name of ['alice', 'bob', 'carol', 'dave']) {
        clients.set(name, await started.startClient(name, 'debian'));
      }
    },
  );

  it('every client qualifies, behind cone and symmetric NATs alike', async (t) => {
    await lab.qualifyBehindNats(t, "Debian's server");
  });

  it('the IPv6 host reaches a client first, through the relay (no prior traffic from the client)', async (t) => {
    await lab.pingAnswered(t, 'ipv6host', 'bob');
  });

  it('a client behind a cone NAT pings the IPv6 host', async (t) => {
    await lab.pingAnswered(t, 'alice', IPV6HOST_IPV6);
  });

  it('a client behind a symmetric NAT reaches the IPv6 host both ways (HMAC bubbles)', async (t) => {
    await lab.pingAnswered(t, 'carol', IPV6HOST_IPV6);
    await lab.pingAnswered(t, 'ipv6host', 'carol');
  });

  it('clients behind two cone NATs ping each other, both ways', async (t) => {
    await lab.pingAcrossConesThroughServer(t, 'alice', 'bob');
  });

  it('no client-to-client path with a symmetric NAT, nor behind the same NAT (no hairpinning)', async (t) => {
    const [toSymmetric, toNeighbour] = await lab.explain((active) =>
      Promise.all([
        ping(t, active, 'bob', lab.address('carol'), { deadlineSeconds: 3 }),
        ping(t, active, 'dave', lab.address('alice'), { deadlineSeconds: 3 }),
      ]),
    );
    assert.ok(toSymmetric.transmitted > 0 && toNeighbour.transmitted > 0);
    assert.equal(toSymmetric.received, 0, toSymmetric.transcript);
    assert.equal(toNeighbour.received, 0, toNeighbour.transcript);
  });
});
