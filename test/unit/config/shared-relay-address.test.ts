/**
 * SharedRelayAddress (a relay fleet sharing one IPv4 address and port): read in relay modes only,
 * it needs BindAddress and BindPort; a reload that changes it restarts; with an AnnounceTable the
 * announcer keeps the address /32 beside the prefix route (relay-announcement.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from '../../../src/config/diagnostic.js';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { planReload } from '../../../src/bootstrap/reload-plan.js';
import { createAnnouncer, sharedAddressRoute } from '../../../src/bootstrap/relay-announcement.js';
import type { DaemonSettings } from '../../../src/config/settings-schema.js';
import type { KernelResources } from '../../../src/bootstrap/resources.js';
import { captureLog, FakeOs, RELAY_SETTINGS } from '../../support/fakes.js';

const SHARED = 'RelayType cone\nBindAddress 198.51.100.90\nBindPort 3545\nSharedRelayAddress yes\n';

test('a relay reads SharedRelayAddress as a boolean; absent by default', () => {
  const result = parseMiredoConf(SHARED, 'miredo.conf');
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  assert.equal(result.config.sharedRelayAddress, true);
  assert.deepEqual(result.warnings, []);
  const off = parseMiredoConf('RelayType cone\nSharedRelayAddress no\n', 'miredo.conf');
  assert.ok(off.ok);
  assert.equal(off.config.sharedRelayAddress, false);
  const plain = parseMiredoConf('RelayType cone\n', 'miredo.conf');
  assert.ok(plain.ok);
  assert.equal(plain.config.sharedRelayAddress, undefined);
});

test('yes without BindAddress or BindPort is an error: the fleet shares both', () => {
  for (const [text, message] of [
    ['RelayType cone\nBindPort 3545\nSharedRelayAddress yes\n', /needs BindAddress/],
    ['RelayType cone\nBindAddress 0.0.0.0\nBindPort 3545\nSharedRelayAddress yes\n', /needs BindAddress/],
    ['RelayType cone\nBindAddress 198.51.100.90\nSharedRelayAddress yes\n', /needs BindPort/],
    ['RelayType cone\nSharedRelayAddress maybe\n', /SharedRelayAddress/],
  ] as const) {
    const result = parseMiredoConf(text, 'miredo.conf');
    assert.ok(!result.ok, text);
    assert.match(result.errors.map(formatDiagnostic).join('\n'), message);
  }
});

test('a client does not read it: a warning, as Miredo does for other modes', () => {
  const result = parseMiredoConf('ServerAddress 192.0.2.1\nSharedRelayAddress yes\n', 'miredo.conf');
  assert.ok(result.ok);
  assert.deepEqual(
    result.warnings.map((warning) => `${warning.directive}: ${warning.message}`),
    ['SharedRelayAddress: only used in relay modes (RelayType cone or restricted); ignored'],
  );
});

const relay: DaemonSettings = {
  ...RELAY_SETTINGS,
  bindAddress: '198.51.100.90',
  announceTable: 3544,
  sharedRelayAddress: true,
};

test('a reload that changes it restarts the relay', () => {
  assert.deepEqual(planReload(relay, { ...relay, sharedRelayAddress: false }), {
    kind: 'restart',
    reasons: ['sharedRelayAddress'],
  });
});

test('the announced /32 is the bind address, through the tunnel, in the AnnounceTable; none when off', () => {
  const route = sharedAddressRoute(relay, 7);
  assert.deepEqual(route && { ...route, dst: [...route.dst] }, {
    ifindex: 7,
    dst: [198, 51, 100, 90],
    prefixLen: 32,
    metric: 1024,
    table: 3544,
  });
  assert.equal(sharedAddressRoute({ ...relay, sharedRelayAddress: false }, 7), null);
  const { announceTable: _, ...unannounced } = relay;
  assert.equal(sharedAddressRoute(unannounced, 7), null);
});

test('the address comes and goes with the prefix: added after it, withdrawn before it', async () => {
  const os = new FakeOs();
  const resources = { tunnel: { index: 7 } } as unknown as KernelResources;
  const announcer = createAnnouncer(relay, resources, os, captureLog().log, { on: false }, () => undefined);
  assert.ok(announcer !== null);
  await new Promise((resolve) => setImmediate(resolve));
  os.calls.length = 0;
  announcer.health({ type: 'health', stalled: [] });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(os.calls, [
    'addTableRoute6 7 table 3544 2001::/32 1024',
    'addTableRoute6 7 table 3544 198.51.100.90/32 1024',
  ]);
  os.calls.length = 0;
  await announcer.stop();
  assert.deepEqual(os.calls, [
    'delTableRoute6 7 table 3544 198.51.100.90/32 1024',
    'delTableRoute6 7 table 3544 2001::/32 1024',
  ]);
});
