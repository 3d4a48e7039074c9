/**
 * Issue 5's acceptance, hostile input: malformed and forged datagrams (random bytes, truncated
 * headers, lying authentication and origin headers, huge lengths) sent from a WAN node at our
 * client's and our relay's UDP ports. Afterwards both still carry pings, and their engine
 * counters (SIGUSR1 "Engine summary") show the datagrams as drops.
 *
 * The client sits directly on the WAN (no NAT) so that a stranger can reach its port at all.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { netnsSkip } from '../../support/netns.js';
import { createLab, IPV6HOST_IPV6, RELAY_IPV4, SERVER_IPV4 } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon, Qualified } from '../../../scripts/lab/index.js';
import { LabStory, ping } from './lab-test-tools.js';
import {
  counterGrowth,
  dropsIn,
  engineCounters,
  formatCounters,
  hostileDatagrams,
  sendDatagrams,
  udpPortOf,
  udpReceiveBufferErrors,
} from './tunnel-tools.js';
import type { HostileDatagram } from './tunnel-tools.js';

const ATTACKER = 'mallory';
const RANDOM_DATAGRAMS = 200;

describe('hostile datagrams at our client and our relay', { skip: netnsSkip() }, () => {
  const story = new LabStory();
  let lab: Lab | undefined;
  let relay: LabDaemon | undefined;
  let client: LabDaemon | undefined;
  let walt: Qualified | undefined;

  before(async () => {
    lab = await createLab({ directClients: ['walt', ATTACKER], onProgress: story.listener });
    const started = lab;
    await story.explain(started, async () => {
      await started.startServer('ours');
      relay = await started.startRelay('ours', { relayType: 'cone' });
      const teredo = await started.startClient('walt', 'ours');
      client = teredo.daemon;
      walt = await started.waitQualified(teredo, 15_000);
    });
  });

  after(async () => {
    await lab?.destroy();
  });

  /** Both ways between walt and the IPv6 host, through the relay. */
  async function stillWorks(t: TestContext, active: Lab, address: string): Promise<void> {
    const out = await story.explain(active, () => ping(t, active, 'walt', IPV6HOST_IPV6));
    assert.equal(out.received, 3, out.transcript);
    const back = await story.explain(active, () => ping(t, active, 'ipv6host', address));
    assert.equal(back.received, 3, back.transcript);
  }

  /** Sends the datagrams at host:port, then checks the daemon lives, counted them and still works. */
  async function attack(
    t: TestContext,
    daemon: LabDaemon,
    host: string,
    port: number,
    datagrams: readonly HostileDatagram[],
  ): Promise<void> {
    assert.ok(lab && walt);
    const active = lab;
    const address = walt.address;
    const malformed = datagrams.filter((datagram) => datagram.expect === 'malformed').length;
    const mustDrop = datagrams.filter((datagram) => datagram.expect !== 'any').length;
    const before = await engineCounters(daemon);
    const kernelBefore = await udpReceiveBufferErrors(active, daemon.node);
    const sent = await story.explain(active, () => sendDatagrams(active, ATTACKER, host, port, datagrams));
    assert.equal(sent, datagrams.length);
    // Pings after the attack: by then the daemon has read every datagram that reached its socket.
    await stillWorks(t, active, address);
    assert.equal(daemon.status, null, `${daemon.node} is still running`);
    const growth = counterGrowth(before, await engineCounters(daemon));
    const kernelDrops = (await udpReceiveBufferErrors(active, daemon.node)) - kernelBefore;
    t.diagnostic(
      `${daemon.node}: ${sent} hostile datagrams (${mustDrop} to drop, ${malformed} of them malformed), ${kernelDrops} dropped by the kernel (full buffer); counters grew: ${formatCounters(growth)}`,
    );
    assert.ok(
      (growth['udp-received'] ?? 0) >= sent - kernelDrops,
      `${daemon.node} received the datagrams: ${formatCounters(growth)}`,
    );
    // At least: random bytes may be malformed or refused, the kernel may have dropped some.
    assert.ok(
      (growth['drop-rx-malformed'] ?? 0) >= malformed - kernelDrops,
      `${daemon.node} counts at least ${malformed - kernelDrops} malformed datagrams: ${formatCounters(growth)}`,
    );
    assert.ok(
      dropsIn(growth, 'drop-rx-') >= mustDrop - kernelDrops,
      `${daemon.node} counts at least ${mustDrop - kernelDrops} received datagrams as dropped: ${formatCounters(growth)}`,
    );
  }

  it('our client drops them, counts them and still works', async (t) => {
    assert.ok(client && walt);
    const datagrams = hostileDatagrams({
      target: walt.address,
      server: SERVER_IPV4[0],
      randomCount: RANDOM_DATAGRAMS,
      seed: 4380,
    });
    await attack(t, client, walt.mappedIPv4, walt.mappedPort, datagrams);
  });

  it('our relay drops them, counts them and still works', async (t) => {
    assert.ok(relay);
    const datagrams = hostileDatagrams({
      target: IPV6HOST_IPV6,
      server: SERVER_IPV4[0],
      randomCount: RANDOM_DATAGRAMS,
      seed: 5991,
    });
    assert.ok(lab);
    const port = await udpPortOf(lab, 'relay', RELAY_IPV4);
    await attack(t, relay, RELAY_IPV4, port, datagrams);
  });
});
