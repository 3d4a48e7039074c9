/**
 * The relay's engine end to end without root: the real engine, worker pool, data-plane loop and
 * control plane, on loopback UDP sockets (one stands in for the TUN queue: it carries one packet
 * per datagram just like a TUN descriptor). Packets the data plane cannot handle reach the
 * control plane through `slow-path` messages and show up in the summed counters.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import type { InitMessage } from '../../../src/ipc/bootstrap-engine-messages.js';
import { closeFd } from '../../../src/os/fd.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';
import { createTestEngine } from '../../support/fakes.js';
import { ipv6Packet, NATIVE_HOST, PEER_ADDRESS } from '../../support/tunnel-harness.js';
import { sendTo, until } from '../../support/loopback.js';
import { unprivilegedTest } from '../../support/unprivileged.js';

const workerTest = unprivilegedTest(import.meta.url);

workerTest(
  'relay engine: worker slow path to the control plane, counters in the summary, clean stop',
  { timeout: 30_000 },
  async () => {
    const tunStandIn = openUdp4('127.0.0.1', 0, { reusePort: false });
    const udp = openUdp4('127.0.0.1', 0, { reusePort: false });
    const client = createSocket('udp4');
    client.bind(0, '127.0.0.1');
    await once(client, 'listening');
    const { engine, sent, records, exited } = createTestEngine();
    const init: InitMessage = {
      type: 'init',
      config: {
        role: 'relay',
        relayType: 'cone',
        prefix: 0x20010000,
        interfaceMtu: 1280,
        bindAddress: '127.0.0.1',
        bindPort: localPort(udp),
        peerTableCapacity: 1024,
      },
      fds: { tun: [tunStandIn], udp: [udp], raw: null },
      interface: { name: 'teredo', index: 9 },
      uid: 65534,
      gid: 65534,
      chrootDir: '/run/miredo-ts/empty',
      poolSize: 1,
      logLevel: 'debug',
    };
    try {
      engine.handle(init);
      await until(() => sent.some((m) => m.type === 'ready'), 'ready');
      assert.ok(records.some((r) => r['msg'] === 'Teredo pseudo-tunnel started'));

      // From the "TUN": a native host's packet to a client the relay has never heard of: the
      // control plane queues it and sends the indirect bubble to the client's server (192.0.2.1,
      // which loopback cannot reach: the send fails and is counted).
      await sendTo(
        client,
        ipv6Packet({ source: NATIVE_HOST, destination: PEER_ADDRESS }),
        localPort(tunStandIn),
      );
      // From the UDP socket: a Teredo packet from a client the relay does not know, from another
      // mapping than its address embeds: dropped.
      await sendTo(client, ipv6Packet({ source: PEER_ADDRESS, destination: NATIVE_HOST }), localPort(udp));

      const counters = (): Record<string, number> => {
        const id = sent.length + 100;
        engine.handle({ type: 'summary', id });
        const report = sent.find((m) => m.type === 'summary-report' && m.id === id);
        assert.ok(report && report.type === 'summary-report');
        return report.summary.counters;
      };
      let totals: Record<string, number> = {};
      await until(() => {
        totals = counters();
        return (totals['drop-rx-unmatched'] ?? 0) >= 1 && (totals['tx-queued'] ?? 0) >= 1;
      }, 'both packets handled').catch((error: unknown) => {
        throw new Error(
          `${String(error)}: ${JSON.stringify(Object.entries(totals).filter(([, v]) => v !== 0))}`,
        );
      });
      assert.equal(totals['tun-received'], 1);
      assert.equal(totals['udp-received'], 1);
      assert.equal(totals['slow-path'], 2);
      assert.equal(totals['encapsulated'], 0);
      assert.equal(totals['decapsulated'], 0);
      assert.equal(totals['bubble-sent'], 1);
      assert.equal(totals['send-failed'], 1, 'loopback cannot reach 192.0.2.1');
    } finally {
      engine.handle({ type: 'stop' });
      assert.equal(await exited, 0);
      client.close();
      closeFd(tunStandIn);
      closeFd(udp);
    }
    assert.ok(records.some((r) => r['msg'] === 'Teredo pseudo-tunnel stopped'));
  },
);
