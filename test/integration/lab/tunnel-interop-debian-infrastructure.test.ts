/**
 * Issue 5's interop acceptance, part 2: OUR clients with Debian's Miredo 1.2.6 as server
 * (miredo-server) and relay (`RelayType cone`), behind a cone and a symmetric NAT: they qualify,
 * reach the IPv6 host both ways through Debian's relay (TCP too), and a mixed pair across two
 * cone NATs where our client speaks first to Debian's.
 */
import { describe, it } from 'node:test';
import { netnsSkip } from '../../support/netns.js';
import type { Implementation } from '../../../scripts/lab/index.js';
import { STANDARD_NATS, useLab } from './lab-test-tools.js';
import { tcpFromIPv6Host, tcpToIPv6Host } from './tunnel-tools.js';

const CLIENTS: readonly (readonly [string, Implementation])[] = [
  ['alice', 'ours'],
  ['bob', 'debian'],
  ['carol', 'ours'],
];
const TCP_BYTES = 4 * 1024 * 1024;

describe("our clients with Debian's miredo-server and Debian's relay", { skip: netnsSkip() }, () => {
  const lab = useLab({ nats: STANDARD_NATS }, async (started, clients) => {
    await started.startServer('debian');
    await started.startRelay('debian', { relayType: 'cone' });
    for (const [name, impl] of CLIENTS) clients.set(name, await started.startClient(name, impl));
  });

  it("our clients qualify with Debian's server, behind cone and symmetric NATs", async (t) => {
    await lab.qualifyBehindNats(t, "Debian's server");
  });

  for (const [name, nat] of [
    ['alice', 'cone'],
    ['carol', 'symmetric'],
  ] as const) {
    it(`the IPv6 host and our ${name} (${nat} NAT) ping each other through Debian's relay, the host first`, async (t) => {
      await lab.pingWithIPv6Host(t, name);
    });
  }

  it("4 MB of TCP each way between our alice and the IPv6 host through Debian's relay arrive byte-identical", async (t) => {
    await tcpToIPv6Host(t, lab, 'alice', TCP_BYTES);
    await tcpFromIPv6Host(t, lab, 'alice', TCP_BYTES);
  });

  it("our alice and Debian's bob, behind two cone NATs, ping each other (ours first)", async (t) => {
    await lab.pingBothWays(t, 'alice', 'bob');
  });
});
