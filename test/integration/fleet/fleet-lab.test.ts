/**
 * The anycast fleet lab (scripts/lab/fleet.ts): two of our relays, each with BIRD announcing
 * 2001::/32 by BGP to a router running BIRD with ECMP. The router's route has a nexthop per
 * relay; packets to Teredo addresses are counted per relay; when one relay dies (kill -9, its
 * BIRD kept), its tunnel and so its kernel route go, and its nexthop is withdrawn.
 * About 10 s.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { createLab } from '../../../scripts/lab/index.js';
import type { Lab } from '../../../scripts/lab/index.js';
import { LabStory } from '../lab/lab-test-tools.js';

/** The withdrawal reaches the router within this (BIRD hears the route go over netlink). */
const WITHDRAW_BOUND_MS = 3000;

describe('anycast fleet lab', { skip: netnsSkip() }, () => {
  it('routes 2001::/32 over both relays and withdraws a dead one', async (t) => {
    const story = new LabStory();
    let lab: Lab | undefined;
    try {
      lab = await createLab({ anycast: { relays: 2 }, onProgress: story.listener });
      const fleetLab = lab;
      await story.explain(lab, async () => {
        assert.deepEqual(fleetLab.relays, ['relay1', 'relay2']);
        assert.deepEqual(await fleetLab.fleet.routerNexthops(), [], 'no route before a relay runs');
        for (const node of fleetLab.relays) {
          await fleetLab.startRelay('ours', { node, extraConfig: ['DataplaneWorkers 1'] });
        }
        const upMs = await fleetLab.fleet.waitRouterNexthops(['relay1', 'relay2'], 10_000);
        t.diagnostic(`router has both nexthops ${upMs} ms after the second relay's route appeared`);

        // Pings to Teredo addresses that no client holds still cross the router to a relay.
        const before = await fleetLab.fleet.relayTraffic();
        const ping = await fleetLab.ping6('ipv6host', '2001:0:c633:6401::1', { deadlineSeconds: 1 });
        const after = await fleetLab.fleet.relayTraffic();
        const counted = fleetLab.relays.map((r) => (after.get(r) ?? 0) - (before.get(r) ?? 0));
        t.diagnostic(`echo requests per relay: ${counted.join(', ')} of ${ping.transmitted}`);
        assert.ok(ping.transmitted > 0);
        assert.equal(
          counted.reduce((sum, n) => sum + n, 0),
          ping.transmitted,
          'each counted at its relay',
        );
        assert.ok(counted.includes(ping.transmitted), 'one flow, one relay');

        await fleetLab.fleet.killRelay('relay2');
        const withdrawMs = await fleetLab.fleet.waitRouterNexthops(['relay1'], WITHDRAW_BOUND_MS);
        t.diagnostic(`relay2's nexthop withdrawn ${withdrawMs} ms after its kill -9`);
        assert.deepEqual(
          await fleetLab.fleet.establishedPeers(),
          ['relay1', 'relay2'],
          'BIRD itself stays up',
        );
      });
    } finally {
      await lab?.destroy();
    }
  });
});
