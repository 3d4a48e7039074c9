/**
 * The anycast fleet's plan and BIRD configuration, no root needed: the nodes and addresses an
 * `anycast` spec gives, refused specs, and the configuration text, which Debian's BIRD parses
 * (`bird -p`) when it is installed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bgpTimers,
  FLEET_IPV6HOST_IPV6,
  fleetSettings,
  planLab,
  relayBirdConfig,
  relayUplink,
  routerBirdConfig,
} from '../../../scripts/lab/index.js';

describe('anycast fleet plan', () => {
  const plan = planLab({ anycast: { relays: 3, bfd: true } }, 'f1');

  it('has a router, three relays with uplinks, and the IPv6 host behind the router', () => {
    assert.equal(plan.nodes.has('relay'), false);
    const router = plan.nodes.get('router');
    assert.ok(router?.role === 'router');
    assert.deepEqual(router.relays, ['relay1', 'relay2', 'relay3']);
    assert.deepEqual(router.fleet, {
      bfd: true,
      scanTimeS: 1,
      learnTable: 254,
      bgpDelayMs: 0,
      hashPolicy: 1,
    });
    const relays = router.relays.map((name) => plan.nodes.get(name));
    assert.deepEqual(
      relays.map((relay) => (relay?.role === 'relay' ? [relay.ipv4, relay.uplink?.ipv6] : null)),
      [
        [['198.51.100.91'], '2001:db8:10:1::2'],
        [['198.51.100.92'], '2001:db8:10:2::2'],
        [['198.51.100.93'], '2001:db8:10:3::2'],
      ],
    );
    const host = plan.nodes.get('ipv6host');
    assert.ok(host?.role === 'ipv6host');
    assert.equal(host.router, 'router');
    assert.deepEqual(host.ipv6, [FLEET_IPV6HOST_IPV6]);
  });

  it('refuses what it cannot build', () => {
    assert.throws(() => fleetSettings({ relays: 0 }), /1 to 3/);
    assert.throws(() => fleetSettings({ relays: 4 }), /1 to 3/);
    assert.throws(() => fleetSettings({ relays: 2, scanTimeS: 0 }), /scanTimeS/);
    assert.throws(() => fleetSettings({ relays: 2, bgpDelayMs: 1000, bfd: true }), /do not go together/);
    assert.throws(() => planLab({ anycast: { relays: 2 }, directClients: ['relay2'] }, 'f2'), /already used/);
  });

  it('keeps BGP sessions alive when messages are delayed', () => {
    assert.deepEqual(bgpTimers(fleetSettings({ relays: 2 })), { holdS: 3, keepaliveS: 1 });
    const slow = bgpTimers(fleetSettings({ relays: 2, bgpDelayMs: 4000 }));
    assert.ok(slow.holdS > 3 * 4 && slow.keepaliveS * 3 <= slow.holdS, JSON.stringify(slow));
  });

  it('writes BIRD configurations that BIRD accepts', (t) => {
    const settings = fleetSettings({ relays: 2, bfd: true, learnTable: 3544 });
    const router = routerBirdConfig(settings, [
      { name: 'relay1', uplink: relayUplink(0), ipv4: '198.51.100.91' },
      { name: 'relay2', uplink: relayUplink(1), ipv4: '198.51.100.92' },
    ]);
    const relay = relayBirdConfig(settings, '198.51.100.91', relayUplink(0));
    assert.match(router, /merge paths on/);
    assert.match(router, /neighbor 2001:db8:10:2::2 as 65001;/);
    assert.match(relay, /kernel table 3544;/);
    assert.match(relay, /export where net = 2001::\/32;/);
    const slow = relayBirdConfig(
      fleetSettings({ relays: 1, bgpDelayMs: 2000 }),
      '198.51.100.91',
      relayUplink(0),
    );
    assert.match(slow, /multihop;/);
    const sharedSettings = fleetSettings({ relays: 2, bfd: true, learnTable: 3544, sharedIPv4: true });
    const sharedRouter = routerBirdConfig(sharedSettings, [
      { name: 'relay1', uplink: relayUplink(0), ipv4: '198.51.100.91' },
      { name: 'relay2', uplink: relayUplink(1), ipv4: '198.51.100.92' },
    ]);
    const sharedRelay = relayBirdConfig(sharedSettings, '198.51.100.91', relayUplink(0));
    assert.match(
      sharedRouter,
      /protocol bgp relay2_v4 \{\n {2}local 198\.51\.100\.254 as 65000;\n {2}neighbor 198\.51\.100\.92/,
    );
    assert.match(sharedRelay, /export where net = 198\.51\.100\.90\/32;/);
    assert.doesNotMatch(router, /ipv4/);
    if (!existsSync('/usr/sbin/bird')) {
      t.diagnostic('bird2 is not installed: the texts were not parsed (scripts/install-debian-deps.sh)');
      return;
    }
    const directory = mkdtempSync(join(tmpdir(), 'fleet-bird-'));
    try {
      for (const [name, text] of Object.entries({ router, relay, slow, sharedRouter, sharedRelay })) {
        const path = join(directory, `${name}.conf`);
        writeFileSync(path, text);
        execFileSync('bird', ['-p', '-c', path], { stdio: 'pipe' });
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
