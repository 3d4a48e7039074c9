/**
 * Issue 5's interop acceptance, part 1: Debian's Miredo 1.2.6 clients through OUR server and
 * OUR relay (`RelayType cone`), behind a cone and a symmetric NAT, and a mixed pair across two
 * cone NATs where Debian's client speaks first to ours (part 2, tunnel-interop-debian-
 * infrastructure, has ours speak first).
 */
import { describe, it } from 'node:test';
import { netnsSkip } from '../../support/netns.js';
import type { Implementation } from '../../../scripts/lab/index.js';
import { STANDARD_NATS, useLab } from './lab-test-tools.js';

const CLIENTS: readonly (readonly [string, Implementation])[] = [
  ['alice', 'debian'],
  ['bob', 'ours'],
  ['carol', 'debian'],
];

describe("Debian's Miredo clients with our server and our relay", { skip: netnsSkip() }, () => {
  const lab = useLab({ nats: STANDARD_NATS }, async (started, clients) => {
    await started.startServer('ours');
    await started.startRelay('ours', { relayType: 'cone' });
    for (const [name, impl] of CLIENTS) clients.set(name, await started.startClient(name, impl));
  });

  it('every client qualifies with our server, behind cone and symmetric NATs', async (t) => {
    await lab.qualifyBehindNats(t, 'our server');
  });

  for (const [name, nat] of [
    ['alice', 'cone'],
    ['carol', 'symmetric'],
  ] as const) {
    it(`the IPv6 host and Debian's ${name} (${nat} NAT) ping each other through our relay, the host first`, async (t) => {
      await lab.pingWithIPv6Host(t, name);
    });
  }

  it("Debian's alice and our bob, behind two cone NATs, ping each other (Debian's first)", async (t) => {
    await lab.pingBothWays(t, 'alice', 'bob');
  });
});
