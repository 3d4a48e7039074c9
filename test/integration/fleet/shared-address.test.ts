/**
 * Issue 18's acceptance for Debian's Miredo client: relays that share one IPv4 address and port
 * (SharedRelayAddress, anycast by BGP like 2001::/32: scripts/lab/fleet.ts, sharedIPv4). Miredo
 * trusts one relay IPv4:port per native peer, the one its connectivity test's reply came from;
 * with per-relay addresses and 5-tuple ECMP, the host's data came through another relay about
 * half the time and were dropped (6-7 of 20 fresh starts worked). With one shared address, every
 * relay is that IPv4:port. Fresh starts of five clients behind two port-restricted cone NATs, 20
 * with two relays and 20 with three, Debian's client and then ours: first contact from the IPv6
 * host and TCP both ways must work in every one. 30-35 s on a quiet machine.
 *
 * Measurements, not run by default:
 *   MIREDO_SHARED_CLIENTS=debian        which clients (default debian,ours)
 *   MIREDO_SHARED_ROUNDS=N              rounds of five starts per relay count (default 4)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { createLab, FLEET_SHARED_IPV4 } from '../../../scripts/lab/index.js';
import type { Implementation, Lab, LabDaemon } from '../../../scripts/lab/index.js';
import { LabStory } from '../lab/lab-test-tools.js';
import { engineCounters } from '../lab/tunnel-tools.js';
import { freshStarts, summary, works } from './fresh-starts.js';

const ROUNDS = Number(process.env['MIREDO_SHARED_ROUNDS'] ?? '4');
const CLIENTS = (process.env['MIREDO_SHARED_CLIENTS'] ?? 'debian,ours')
  .split(',')
  .map((name) => name.trim())
  .filter((name): name is Implementation => name === 'debian' || name === 'ours');
const ANNOUNCE_TABLE = 3544;
const SHARED_PORT = 3545;

describe('anycast fleet sharing one relay IPv4 address', { skip: netnsSkip() }, () => {
  it('first contact and TCP both ways in every fresh start, two relays and three, Debian client and ours', async (t) => {
    const story = new LabStory();
    let lab: Lab | undefined;
    try {
      lab = await createLab({
        anycast: { relays: 3, sharedIPv4: true, learnTable: ANNOUNCE_TABLE },
        nats: [
          { name: 'cone1', kind: 'cone', clients: ['alice', 'bob', 'carol'] },
          { name: 'cone2', kind: 'cone', clients: ['dave', 'erin'] },
        ],
        onProgress: story.listener,
      });
      const fleetLab = lab;
      await fleetLab.startServer('ours');
      const failures: string[] = [];
      const daemons: LabDaemon[] = [];
      for (const relays of [2, 3]) {
        const names = fleetLab.relays.slice(0, relays);
        for (const node of names.slice(relays === 2 ? 0 : 2)) {
          const daemon = await fleetLab.startRelay('ours', {
            node,
            bindAddress: FLEET_SHARED_IPV4,
            bindPort: SHARED_PORT,
            extraConfig: ['DataplaneWorkers 1', `AnnounceTable ${ANNOUNCE_TABLE}`, 'SharedRelayAddress yes'],
          });
          daemons.push(daemon);
        }
        await fleetLab.fleet.waitRouterNexthops(names, 10_000);
        for (const impl of CLIENTS) {
          const started = Date.now();
          const trials = await freshStarts(t, fleetLab, impl, ROUNDS);
          const what = `${impl} client, ${relays} relays sharing ${FLEET_SHARED_IPV4}`;
          const line = summary(what, trials);
          t.diagnostic(`${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
          if (trials.some((x) => !works(x))) failures.push(line);
        }
      }
      // Which of the relay's shared-address rules did the work (README, "One relay address for the fleet").
      const totals = new Map<string, number>();
      for (const daemon of daemons) {
        for (const [name, value] of Object.entries(await engineCounters(daemon))) {
          if (name.startsWith('shared-')) totals.set(name, (totals.get(name) ?? 0) + value);
        }
      }
      t.diagnostic(`relays' counters: ${[...totals].map(([name, value]) => `${name} ${value}`).join(', ')}`);
      assert.deepEqual(failures, [], story.lines.slice(-40).join('\n'));
    } finally {
      await lab?.destroy();
    }
  });
});
