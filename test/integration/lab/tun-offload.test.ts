/**
 * TUN offloads (issue 16) end to end, all our daemons: our server, our cone relay, and two of our
 * clients behind cone NATs. The relay and alice open their TUN devices with offloads
 * (MIREDO_TS_TUN_OFFLOAD=yes): TCP both ways between alice and the IPv6 host arrives byte-identical, and the
 * counters show that super-packets were read and cut (alice's own TCP; the host's TCP reaches the
 * relay's TUN still segmented, veth keeping GSO packets whole across namespaces). Bob's bootstrap
 * is told that the kernel refuses TCP segmentation (MIREDO_TS_TUN_OFFLOAD_REFUSE=tso): his device is
 * reopened without a virtio header, and his TCP goes through the plain path, byte-identical too.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import type { LabDaemon } from '../../../scripts/lab/index.js';
import { TUN_OFFLOAD_ENV, TUN_OFFLOAD_REFUSE_ENV } from '../../../src/bootstrap/tun-offload-env.js';
import { useLab } from './lab-test-tools.js';
import {
  counterGrowth,
  engineCounters,
  formatCounters,
  tcpFromIPv6Host,
  tcpToIPv6Host,
} from './tunnel-tools.js';

const TCP_BYTES = 4 * 1024 * 1024;

// Offloads are off by default: every daemon this file starts has them asked for.
process.env[TUN_OFFLOAD_ENV] = 'yes';

describe(
  'TUN offloads: super-packets cut by the relay and a client; a refused offload falls back',
  { skip: netnsSkip() },
  () => {
    let relay: LabDaemon | undefined;
    const lab = useLab(
      {
        nats: [
          { name: 'cone1', kind: 'cone', clients: ['alice'] },
          { name: 'cone2', kind: 'cone', clients: ['bob'] },
        ],
      },
      async (started, clients) => {
        await started.startServer('ours');
        relay = await started.startRelay('ours', { relayType: 'cone' });
        clients.set('alice', await started.startClient('alice', 'ours'));
        process.env[TUN_OFFLOAD_REFUSE_ENV] = 'tso';
        try {
          clients.set('bob', await started.startClient('bob', 'ours'));
        } finally {
          delete process.env[TUN_OFFLOAD_REFUSE_ENV];
        }
      },
    );

    const daemon = (name: string): LabDaemon => {
      const client = lab.clients.get(name);
      assert.ok(client, `${name} did not start`);
      return client.daemon;
    };

    it('the clients qualify', async (t) => {
      await lab.qualifyBehindNats(t, 'our server');
    });

    it("alice's own TCP to the IPv6 host: cut from super-packets, byte-identical", async (t) => {
      const before = await engineCounters(daemon('alice'));
      await tcpToIPv6Host(t, lab, 'alice', TCP_BYTES);
      const growth = counterGrowth(before, await engineCounters(daemon('alice')));
      t.diagnostic(`alice's counters: ${formatCounters(growth)}`);
      assert.ok((before['tun-offload-queues'] ?? 0) >= 1, "alice's TUN queue has a virtio header");
      assert.ok((growth['tun-gso-packets'] ?? 0) > 0, 'super-packets were read');
      assert.ok((growth['tun-gso-segments'] ?? 0) > (growth['tun-gso-packets'] ?? 0), 'and cut');
    });

    it('TCP from the IPv6 host to alice through the relay: offload path ran, byte-identical', async (t) => {
      assert.ok(relay);
      const relayDaemon = relay;
      const before = await engineCounters(relayDaemon);
      await tcpFromIPv6Host(t, lab, 'alice', TCP_BYTES);
      const growth = counterGrowth(before, await engineCounters(relayDaemon));
      t.diagnostic(`the relay's counters: ${formatCounters(growth)}`);
      assert.ok((before['tun-offload-queues'] ?? 0) >= 1, "the relay's TUN queues have virtio headers");
      const offloaded = (growth['tun-gso-packets'] ?? 0) + (growth['tun-checksums-completed'] ?? 0);
      assert.ok(offloaded > 0, 'super-packets or checksums left to the relay');
    });

    it('bob, whose kernel "refused" TSO: no virtio header, TCP both ways byte-identical', async (t) => {
      await tcpToIPv6Host(t, lab, 'bob', TCP_BYTES);
      await tcpFromIPv6Host(t, lab, 'bob', TCP_BYTES);
      const counters = await engineCounters(daemon('bob'));
      t.diagnostic(`bob's counters: ${formatCounters(counters)}`);
      assert.equal(counters['tun-offload-queues'] ?? 0, 0);
      assert.equal(counters['tun-gso-packets'] ?? 0, 0);
      assert.ok((counters['encapsulated'] ?? 0) > 1000);
    });
  },
);
