/**
 * Our Teredo server under a Router Solicitation flood: 200,000 RS from spoofed sources
 * (203.0.113.0/24, 192.0.2.0/24, random ports, each with auth and nonce) sent as fast as a raw
 * IPv4 socket takes them, while a legitimate client in its own namespace must still qualify
 * within 2 s. The engine's memory must stay flat; the server's counters, the RAs the flooder
 * got back and the flood's duration are reported.
 *
 * FLOOD_SERVER=debian runs the same flood against Debian's /usr/sbin/miredo-server (the
 * reference the test was developed with; it has no counters to check).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slotPacket } from '../../../src/os/packet-batch.js';
import { bytesEqual } from '../../../src/teredo/bytes.js';
import {
  createRouterSolicitation,
  parseRouterSolicitation,
} from '../../../src/teredo/router-solicitation.js';
import { createTeredoPayload, parseTeredoPayload } from '../../../src/teredo/wire.js';
import { ipv4HeaderChecksum, IPV4_UDP_HEADER_BYTES } from '../../../scripts/flood/ipv4-udp.js';
import {
  buildSpoofedRsPool,
  isSpoofedSource,
  SPOOFED_RS_PACKET_BYTES,
} from '../../../scripts/flood/spoofed-rs.js';
import { startServer, vmRssBytes } from '../../../scripts/flood/servers.js';
import type { RunningServer, ServerImpl } from '../../../scripts/flood/servers.js';
import { createFloodTopology, FLOOD_ADDRESSES } from '../../../scripts/flood/topology.js';
import type { FloodTopology } from '../../../scripts/flood/topology.js';
import {
  floodResult,
  probeResult,
  startFlood,
  startProbe,
  steadyValue,
} from '../../../scripts/flood/tools.js';
import type { ToolRun } from '../../../scripts/flood/tool-events.js';
import { netnsSkip } from '../../support/netns.js';

const FLOOD_PACKETS = 200_000;
const QUALIFY_WITHIN_MS = 2000;
const MAX_RSS_GROWTH_BYTES = 20 * 1024 * 1024;
const SERVER = FLOOD_ADDRESSES.serverPrimary;
const SERVER_IPV4 = 0xc6336401;
const IMPL: ServerImpl = process.env['FLOOD_SERVER'] === 'debian' ? 'debian' : 'ours';

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

describe('spoofed Router Solicitation pool', () => {
  it('holds valid IPv4/UDP packets from spoofed sources to port 3544, each an RS with its own nonce', () => {
    const pool = buildSpoofedRsPool(256, SERVER_IPV4);
    const payload = createTeredoPayload();
    const rs = createRouterSolicitation();
    const nonces = new Set<string>();
    for (let i = 0; i < pool.count; i++) {
      const packet = slotPacket(pool, i);
      const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
      assert.equal(packet.length, SPOOFED_RS_PACKET_BYTES);
      assert.equal(packet[0], 0x45);
      assert.equal(view.getUint16(2), packet.length);
      assert.equal(packet[9], 17);
      assert.equal(view.getUint16(10), ipv4HeaderChecksum(packet, 0));
      assert.ok(isSpoofedSource(view.getUint32(12)), `source ${view.getUint32(12).toString(16)}`);
      assert.ok((view.getUint32(12) & 0xff) !== 0 && (view.getUint32(12) & 0xff) !== 255);
      assert.equal(view.getUint32(16), SERVER_IPV4);
      assert.equal(pool.addresses[i], SERVER_IPV4);
      assert.ok(view.getUint16(20) >= 1024);
      assert.equal(view.getUint16(22), 3544);
      assert.equal(view.getUint16(24), packet.length - 20);

      const udpPayload = packet.subarray(IPV4_UDP_HEADER_BYTES);
      assert.equal(parseTeredoPayload(udpPayload, udpPayload.length, payload), 'ok');
      assert.ok(payload.hasAuth);
      assert.equal(parseRouterSolicitation(udpPayload, payload.ipv6Offset, payload.ipv6Length, rs), 'ok');
      nonces.add(
        Buffer.from(udpPayload.subarray(payload.nonceOffset, payload.nonceOffset + 8)).toString('hex'),
      );
    }
    assert.equal(nonces.size, pool.count);
  });

  it('fills in a UDP checksum that verifies over the IPv4 pseudo-header', () => {
    const pool = buildSpoofedRsPool(8, SERVER_IPV4);
    for (let i = 0; i < pool.count; i++) {
      const packet = slotPacket(pool, i);
      let sum = 17 + (packet.length - 20);
      for (let at = 12; at < 20; at += 2) sum += (packet[at]! << 8) | packet[at + 1]!;
      for (let at = 20; at < packet.length; at += 2) sum += (packet[at]! << 8) | (packet[at + 1] ?? 0);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      assert.equal(sum, 0xffff, `slot ${i}`);
      assert.ok(!bytesEqual(packet, 26, new Uint8Array(2), 0, 2));
    }
  });
});

describe(
  `${IMPL === 'ours' ? 'our' : "Debian's"} server under a Router Solicitation flood`,
  { skip: netnsSkip() },
  () => {
    let lab: FloodTopology | undefined;
    let server: RunningServer | undefined;
    let workDir = '';
    let readinessAttempts = 0;
    const tools: ToolRun[] = [];

    before(async () => {
      workDir = mkdtempSync(join(tmpdir(), 'mts-flood-'));
      lab = await createFloodTopology();
      server = startServer(lab.server, { impl: IMPL, workDir });
      readinessAttempts = (await server.answering(lab.client, 15_000)).attempts;
    });

    after(async () => {
      for (const tool of tools) tool.kill();
      await server?.stop();
      await lab?.destroy();
      rmSync(workDir, { recursive: true, force: true });
    });

    it(`a client qualifies within ${QUALIFY_WITHIN_MS} ms during ${FLOOD_PACKETS} spoofed RS; memory stays flat`, async (t) => {
      assert.ok(lab && server);
      const flooded = lab;
      const worker = await server.workerPid(5000);
      const rssBefore = vmRssBytes(worker);
      assert.ok(rssBefore !== null);

      const probe = startProbe(lab.client, {
        server: SERVER,
        timeoutMs: 3 * QUALIFY_WITHIN_MS,
        waitGo: true,
      });
      tools.push(probe);
      await probe.waitFor('ready', 10_000);
      const flood = startFlood(lab.flooder, { server: SERVER, packets: FLOOD_PACKETS });
      tools.push(flood);
      await flood.waitFor('started', 10_000);
      probe.send('go');

      const client = await probeResult(probe, 20_000);
      const sent = await floodResult(flood, 120_000);
      const answers = await steadyValue(() => flooded.answersAtFlooder());
      const udp = await lab.serverUdpCounters();
      const rssAfter = vmRssBytes(worker);
      assert.ok(rssAfter !== null, 'the engine died during the flood');
      const counters = IMPL === 'ours' ? await server.summaryCounters(5000) : null;

      t.diagnostic(
        `flood: ${sent.sent} RS sent (${sent.failed} refused by the kernel ${JSON.stringify(sent.errors)}) in ` +
          `${sent.seconds.toFixed(3)} s = ${sent.packetsPerSecond} RS/s`,
      );
      t.diagnostic(`RAs back at the flooder: ${answers}`);
      t.diagnostic(
        client.ok
          ? `client qualified in ${client.ms} ms after ${client.attempts} RS (mapping ${client.originIPv4}:${client.originPort}), ` +
              `${client.answeredAt <= sent.endedAt ? 'while the flood was still running' : `${client.answeredAt - sent.endedAt} ms after the flood ended`}`
          : `client did NOT qualify: ${client.reason} after ${client.attempts} RS`,
      );
      t.diagnostic(
        `${IMPL} engine ${worker} VmRSS: ${mib(rssBefore)} before, ${mib(rssAfter)} after (${mib(rssAfter - rssBefore)} growth)`,
      );
      t.diagnostic(`server namespace UDP: ${JSON.stringify(udp)}`);
      if (counters !== null)
        t.diagnostic(`server counters (SIGUSR1 'Engine summary'): ${JSON.stringify(counters)}`);

      assert.equal(sent.sent + sent.failed, FLOOD_PACKETS);
      assert.ok(sent.sent >= FLOOD_PACKETS * 0.99, 'the kernel refused more than 1% of the flood');
      assert.ok(client.firstSentAt <= sent.endedAt, 'the client started after the flood had ended');
      assert.ok(client.ok, `no RA for the client within ${3 * QUALIFY_WITHIN_MS} ms`);
      assert.ok(client.ms <= QUALIFY_WITHIN_MS, `the client took ${client.ms} ms to qualify`);
      assert.ok(rssAfter - rssBefore < MAX_RSS_GROWTH_BYTES, `VmRSS grew by ${mib(rssAfter - rssBefore)}`);
      assert.ok(answers > 0, 'the server answered none of the flood');

      if (counters !== null) {
        const count = (name: string): number => counters[name] ?? Number.NaN;
        // Every datagram the kernel queued for the server, the engine has read and judged.
        assert.equal(count('received'), udp['InDatagrams']);
        assert.ok(count('received') >= sent.sent - (udp['RcvbufErrors'] ?? 0));
        // Each RA the kernel took went either to the flooder (counted there) or to our client's probes.
        const delivered = count('ra-sent') - count('send-failed') - (udp['SndbufErrors'] ?? 0);
        const clientRs = readinessAttempts + client.attempts;
        assert.ok(delivered >= answers, `${delivered} RAs sent < ${answers} RAs at the flooder`);
        assert.ok(
          delivered - answers <= clientRs,
          `${delivered} RAs sent - ${answers} at the flooder > ${clientRs}`,
        );
        // Only valid RS from global sources: each was answered or refused by the per-source limit.
        assert.equal(count('ra-sent') + count('drop-rate-limited-rs'), count('received'));
      }
    });
  },
);
