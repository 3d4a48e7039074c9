/**
 * Local client discovery (RFC 4380 section 5.2.8) in the lab: two of our clients behind one
 * port-restricted cone NAT that does not hairpin reach each other both ways with LocalDiscovery
 * on (the default); two others with `LocalDiscovery false` announce and listen to nothing, and
 * reach each other through the other mechanism, the RFC 6081 hairpinning extension (its
 * Alternate Address trailer, rfc6081-hairpin-nat-type.test.ts); a Debian Miredo
 * client on the same LAN, which knows nothing of discovery, still qualifies and reaches the IPv6
 * host while ours announce around it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { netnsSkip } from '../../support/netns.js';
import { createLab, pollUntil } from '../../../scripts/lab/index.js';
import type { Lab, TeredoClient } from '../../../scripts/lab/index.js';
import { LabStory, ping, QUALIFY_TIMEOUT_MS } from './lab-test-tools.js';

/** As the matrix: room for the fourth bubble and its answer (nat-matrix.test.ts). */
const PING = { count: 1, intervalSeconds: 0.5, deadlineSeconds: 7 } as const;
const OURS = ['DataplaneWorkers 1'];

const execFileAsync = promisify(execFile);
const CTL_BIN = fileURLToPath(new URL('../../../../bin/miredo-ctl', import.meta.url));

/** A running client's counters, asked of its control socket (`miredo-ctl --json counters`). */
async function liveCounters(client: TeredoClient): Promise<Record<string, number>> {
  const pidFile = client.daemon.configPath.replace(/\.conf$/, '.pid');
  const { stdout } = await execFileAsync(process.execPath, [CTL_BIN, '-p', pidFile, '--json', 'counters']);
  return JSON.parse(stdout) as Record<string, number>;
}

/** The counters a stopped client of ours logged last ("Final counters"). */
function finalCounters(client: TeredoClient): Record<string, number> {
  for (const line of client.daemon.output) {
    if (!line.text.startsWith('{')) continue;
    const record = JSON.parse(line.text) as { msg?: string; counters?: Record<string, number> };
    if (record.msg === 'Final counters' && record.counters !== undefined) return record.counters;
  }
  throw new Error(`${client.node} logged no final counters`);
}

async function addressOf(client: TeredoClient): Promise<string> {
  const current = await client.currentAddress();
  if (current === null) throw new Error(`${client.node} has no Teredo address`);
  return current.address;
}

describe('local client discovery behind a NAT without hairpinning', () => {
  it(
    'on: both ways; off: neither; a Debian client beside them is undisturbed',
    { skip: netnsSkip() },
    async (t) => {
      const story = new LabStory();
      const lab: Lab = await createLab({
        nats: [{ name: 'home', kind: 'cone', clients: ['on1', 'on2', 'off1', 'off2', 'deb'] }],
        onProgress: story.listener,
      });
      try {
        await story.explain(lab, async () => {
          await lab.startServer('ours');
          await lab.startRelay('ours', { relayType: 'cone' });
          const off = [...OURS, 'LocalDiscovery false'];
          const clients = new Map<string, TeredoClient>();
          for (const [node, impl, extraConfig] of [
            ['on1', 'ours', OURS],
            ['on2', 'ours', OURS],
            ['off1', 'ours', off],
            ['off2', 'ours', off],
            ['deb', 'debian', []],
          ] as const) {
            const client = await lab.startClient(node, impl, { extraConfig });
            await client.waitQualified(QUALIFY_TIMEOUT_MS);
            clients.set(node, client);
          }
          const client = (node: string): TeredoClient => clients.get(node)!;

          // Each announces within a tick of its qualification, but on1's first one may go before
          // on2 listens: wait until one of the pair has learnt the other on the link and proved
          // the path (the next announcement comes 7.5-15 s later at most).
          const discovered = async (): Promise<true | undefined> => {
            const pair = await Promise.all(['on1', 'on2'].map((node) => liveCounters(client(node))));
            const sum = (name: string): number => pair.reduce((total, on) => total + (on[name] ?? 0), 0);
            return sum('discovery-peer-local') >= 1 && sum('discovery-path-proven') >= 1 ? true : undefined;
          };
          await pollUntil(discovered, 20_000, 'one of on1 and on2 learnt the other on the link');
          const there = await ping(t, lab, 'on1', await addressOf(client('on2')), PING);
          const back = await ping(t, lab, 'on2', await addressOf(client('on1')), PING);
          const without = await ping(t, lab, 'off1', await addressOf(client('off2')), PING);
          const debian = await ping(t, lab, 'deb', '2001:db8:1::2', PING);
          assert.equal(there.received, 1, 'on1 → on2 with discovery');
          assert.equal(back.received, 1, 'on2 → on1 with discovery');
          assert.equal(without.received, 1, 'off1 → off2 without discovery: by the hairpinning extension');
          assert.equal(debian.received, 1, 'the Debian client still reaches the IPv6 host');

          for (const node of ['on1', 'on2', 'off1', 'off2']) await client(node).stop();
          // Which of the two learns the other from an announcement (and proves the path) depends
          // on whose announcement finds the other already listening: either will do.
          const pair = ['on1', 'on2'].map((node) => finalCounters(client(node)));
          for (const [index, on] of pair.entries()) {
            t.diagnostic(
              `on${index + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(on).filter(([name]) => name.includes('discovery'))))}`,
            );
          }
          const both = (name: string): number => pair.reduce((sum, on) => sum + (on[name] ?? 0), 0);
          assert.ok(both('discovery-sent') >= 1, 'the pair announced');
          assert.ok(both('discovery-peer-local') >= 1, 'one learnt the other on the link');
          assert.ok(both('discovery-path-proven') >= 1, 'and proved the local path');
          const offCounters = finalCounters(client('off1'));
          assert.equal(offCounters['discovery-sent'], 0, 'off1 announced nothing');
          assert.equal(offCounters['discovery-received'], 0, 'off1 listened to nothing');
          const hairpinned = finalCounters(client('off2'));
          assert.ok((hairpinned['hairpin-bubble-sent'] ?? 0) >= 1, "off2 answered at off1's local address");
          t.diagnostic(
            `hairpinning extension used by the discovery pair (on2's hairpin-bubble-sent): ${finalCounters(client('on2'))['hairpin-bubble-sent'] ?? 0}`,
          );
        });
      } finally {
        await lab.destroy();
      }
    },
  );
});
