/**
 * FRR on the relays (examples/frr-relay.conf, loaded as it is, relay1's addresses replaced), the
 * router running BIRD: our two relays keep their announcement route in the main table with
 * AnnounceMetric 1000 (FRR 8.4 learns no IPv6 route from another table), and FRR announces
 * 2001::/32 exactly while it is there. A relay's nexthop leaves the router when its engine is
 * wedged (SIGSTOP) and comes back when it runs again; a drain (SIGTERM) withdraws it while the
 * relay keeps forwarding through its main-table route; the BFD of the example withdraws a relay
 * whose whole machine hangs (SIGSTOP). About 15 s.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsSkip } from '../../support/netns.js';
import { createLab, pollUntil, REPO_ROOT } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon } from '../../../scripts/lab/index.js';
import { fleetSettings, relayUplink } from '../../../scripts/lab/fleet-plan.js';
import { FRR_RELAY_DIRECTIVES, relayFrrConfig } from '../../../scripts/lab/frr-config.js';
import { LabStory } from '../lab/lab-test-tools.js';
import { enginePid } from './relay-engine.js';

/** The health timeout (1 s), the announcer's tick, zebra, bgpd, BIRD and a loaded machine. */
const WITHDRAW_BOUND_MS = 4000;
/** BFD: 3 x 100 ms, and a loaded machine. */
const BFD_BOUND_MS = 2000;
const DRAIN_TIME_S = 3;
const EXAMPLE = join(REPO_ROOT, 'examples', 'frr-relay.conf');
const NO_FRR = existsSync('/usr/lib/frr/bgpd') ? false : 'FRR is not installed (apt-get install frr)';

/** `relay`'s routes to 2001::/32 in its main table, as "metric 1000" words. */
function relayMetrics(lab: Lab, relay: string): Promise<string> {
  return lab.run(relay, 'ip', ['-6', 'route', 'show', '2001::/32']);
}

describe('FRR announces a relay only while its data plane works', { skip: NO_FRR }, () => {
  it('plans FRR relays with BFD at the router, the example as it is', () => {
    assert.deepEqual(fleetSettings({ relays: 2, routing: 'frr' }), {
      bfd: true,
      scanTimeS: 1,
      learnTable: 254,
      bgpDelayMs: 0,
      hashPolicy: 1,
      routing: 'frr',
    });
    for (const spec of [{ learnTable: 3544 }, { bgpDelayMs: 1000 }, { bfd: false }])
      assert.throws(
        () => fleetSettings({ relays: 2, routing: 'frr', ...spec }),
        /takes the example as it is/,
      );
  });

  it('takes frr-relay.conf for every relay, as FRR checks it', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const relay2 = relayFrrConfig(text, {
      name: 'relay2',
      routerId: '198.51.100.92',
      uplink: relayUplink(1),
    });
    assert.match(relay2, /^ neighbor 2001:db8:10:2::1 remote-as 65000$/m);
    assert.match(relay2, /^ bgp router-id 198\.51\.100\.92$/m);
    assert.doesNotMatch(relay2, /2001:db8:10:1::|198\.51\.100\.91|relay1/);
    const directory = mkdtempSync(join(tmpdir(), 'frr-check-'));
    try {
      writeFileSync(join(directory, 'frr.conf'), relay2);
      execFileSync('vtysh', ['-C', '-f', join(directory, 'frr.conf')], { encoding: 'utf8' });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('withdraws a wedged engine and a draining relay', { skip: netnsSkip() }, async (t) => {
    const story = new LabStory();
    let lab: Lab | undefined;
    try {
      lab = await createLab({ anycast: { relays: 2, routing: 'frr' }, onProgress: story.listener });
      const active = lab;
      await story.explain(active, async () => {
        const relays = new Map<string, LabDaemon>();
        const config = ['DataplaneWorkers 1', ...FRR_RELAY_DIRECTIVES, `DrainTime ${DRAIN_TIME_S}`];
        for (const node of active.relays)
          relays.set(node, await active.startRelay('ours', { node, extraConfig: config }));
        const announcedMs = await active.fleet.waitRouterNexthops(['relay1', 'relay2'], 10_000);
        t.diagnostic(`both relays announced by FRR ${announcedMs} ms after the second started`);
        // BFD comes up on its own schedule, after BGP: the frozen machine below needs it.
        await pollUntil(
          async () => {
            const bfd = await active.fleet.birdc('router', ['show', 'bfd', 'sessions']);
            return bfd.match(/\sUp\s/g)?.length === 2 ? true : undefined;
          },
          10_000,
          'both BFD sessions up at the router',
        );
        const relay2 = relays.get('relay2');
        assert.ok(relay2);
        const engine = enginePid(relay2);

        process.kill(engine, 'SIGSTOP');
        const stoppedMs = await active.fleet.waitRouterNexthops(['relay1'], WITHDRAW_BOUND_MS);
        t.diagnostic(`engine stopped: relay2 withdrawn at the router after ${stoppedMs} ms`);
        assert.doesNotMatch(await relayMetrics(active, 'relay2'), /metric 1000/);
        process.kill(engine, 'SIGCONT');
        const backMs = await active.fleet.waitRouterNexthops(['relay1', 'relay2'], WITHDRAW_BOUND_MS);
        t.diagnostic(`engine running again: relay2 back after ${backMs} ms`);

        const drainAt = Date.now();
        relay2.child.kill('SIGTERM');
        const drainedMs = await active.fleet.waitRouterNexthops(['relay1'], WITHDRAW_BOUND_MS);
        t.diagnostic(`drain: relay2 withdrawn at the router after ${drainedMs} ms`);
        const routes = await relayMetrics(active, 'relay2');
        assert.match(routes, /metric 1024/, 'the draining relay still forwards');
        assert.doesNotMatch(routes, /metric 1000/);
        const exit = await relay2.exited;
        assert.equal(exit.code, 0, 'the drained relay stops cleanly');
        t.diagnostic(`drained relay stopped after ${Date.now() - drainAt} ms`);
        assert.deepEqual(await active.fleet.routerNexthops(), ['relay1']);

        // A hung machine sends no withdrawal: the example's BFD tells the router.
        await active.fleet.freezeRelay('relay1');
        const frozenMs = await active.fleet.waitRouterNexthops([], BFD_BOUND_MS);
        t.diagnostic(`relay1's machine frozen: withdrawn by BFD after ${frozenMs} ms`);
        await active.fleet.thawRelay('relay1');
      });
    } finally {
      await lab?.destroy();
    }
  });
});
