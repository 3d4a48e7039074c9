/**
 * The constants module: the values the code reads, seen through what reads them (a drift of a
 * value changes what these observe), and defineConstants() for tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideHelperRequest } from '../../../src/bootstrap/helper-policy.js';
import { relayBaseline } from '../../../src/bootstrap/resources.js';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { parseServerConf } from '../../../src/config/server-conf.js';
import type { HelperRequest } from '../../../src/ipc/bootstrap-engine-messages.js';
import { peerTableByteLength } from '../../../src/teredo/peers.js';
import {
  CLIENT_DEFAULT_PEER_CAPACITY,
  DEFAULT_PEER_CAPACITY,
  defineConstants,
  MAX_PEER_CAPACITY,
  TEREDO_CONSTANTS,
  TEREDO_ROUTE_METRIC,
} from '../../../src/teredo/constants.js';
import { formatIPv6 } from '../../../src/teredo/ipv6-text.js';

test('configuration defaults: the Teredo prefix, the minimum MTU, Miredo’s peer capacity', () => {
  const relay = parseMiredoConf('RelayType relay\n', 'miredo.conf');
  assert.ok(relay.ok);
  assert.equal(relay.config.prefix, TEREDO_CONSTANTS.prefix);
  assert.equal(relay.config.interfaceMtu, TEREDO_CONSTANTS.minMtu);
  assert.equal(relay.config.peerTableCapacity, DEFAULT_PEER_CAPACITY);
  const cone = parseMiredoConf('RelayType cone\n', 'miredo.conf');
  assert.ok(cone.ok);
  assert.equal(cone.config.peerTableCapacity, DEFAULT_PEER_CAPACITY);
  const server = parseServerConf('ServerBindAddress 192.0.2.1\n', 'miredo-server.conf');
  assert.ok(server.ok);
  assert.equal(server.config.prefix, TEREDO_CONSTANTS.prefix);
  assert.equal(server.config.interfaceMtu, TEREDO_CONSTANTS.minMtu);
});

test('peer table sized by role: a client small, a relay a million peers in at most 128 MB of table', () => {
  const client = parseMiredoConf('ServerAddress 192.0.2.1\n', 'miredo.conf');
  assert.ok(client.ok);
  assert.equal(client.config.peerTableCapacity, CLIENT_DEFAULT_PEER_CAPACITY);
  assert.ok(
    peerTableByteLength(CLIENT_DEFAULT_PEER_CAPACITY) <= 2 * 1024 * 1024,
    'a client table within 2 MiB',
  );
  assert.ok(CLIENT_DEFAULT_PEER_CAPACITY >= 1024, 'within PeerTableCapacity’s bounds');
  assert.ok(DEFAULT_PEER_CAPACITY >= 1_000_000);
  assert.ok(peerTableByteLength(DEFAULT_PEER_CAPACITY) <= 128 * 1024 * 1024, 'a relay table within 128 MiB');
  const configured = parseMiredoConf('ServerAddress 192.0.2.1\nPeerTableCapacity 1048576\n', 'miredo.conf');
  assert.ok(configured.ok);
  assert.equal(configured.config.peerTableCapacity, 1_048_576, 'a client may still ask for more');
});

test('configured MTUs and capacities stop at the constants’ bounds', () => {
  const relay = (line: string): boolean => parseMiredoConf(`RelayType relay\n${line}\n`, 'miredo.conf').ok;
  assert.equal(relay(`InterfaceMTU ${TEREDO_CONSTANTS.minMtu}`), true);
  assert.equal(relay(`InterfaceMTU ${TEREDO_CONSTANTS.minMtu - 1}`), false);
  assert.equal(relay(`InterfaceMTU ${TEREDO_CONSTANTS.maxMtu}`), true);
  assert.equal(relay(`PeerTableCapacity ${MAX_PEER_CAPACITY}`), true);
  assert.equal(relay(`PeerTableCapacity ${MAX_PEER_CAPACITY + 1}`), false);
});

test('what the bootstrap configures on a relay passes its own helper policy, and nothing below it', () => {
  const baseline = relayBaseline(TEREDO_CONSTANTS.minMtu, TEREDO_CONSTANTS.prefix);
  const context = { ifindex: 7, prefix: TEREDO_CONSTANTS.prefix };
  const requests: HelperRequest[] = [
    { type: 'set-mtu', id: 1, ifindex: 7, mtu: baseline.mtu ?? 0 },
    ...baseline.addresses.map((entry): HelperRequest => ({
      type: 'set-address',
      id: 2,
      ifindex: 7,
      address: formatIPv6(entry.address),
      prefixLen: entry.prefixLen,
    })),
    ...baseline.routes.map((route): HelperRequest => ({
      type: 'set-route',
      id: 3,
      ifindex: 7,
      dst: formatIPv6(route.dst),
      prefixLen: route.prefixLen,
      metric: route.metric,
    })),
  ];
  assert.deepEqual(
    requests.map((request) => decideHelperRequest(request, context).accept),
    [true, true, true],
  );
  assert.deepEqual(
    baseline.addresses.map((entry) => formatIPv6(entry.address)),
    ['fe80::ffff:ffff:ffff'],
  );
  assert.equal(baseline.routes[0]?.metric, TEREDO_ROUTE_METRIC.prefixRoute);
  const lower = { ...requests[2], metric: TEREDO_ROUTE_METRIC.prefixRoute - 1 } as HelperRequest;
  assert.equal(decideHelperRequest(lower, context).accept, false);
  const defaultRoute = (metric: number): HelperRequest => ({
    type: 'set-route',
    id: 4,
    ifindex: 7,
    dst: '::',
    prefixLen: 0,
    metric,
  });
  assert.equal(decideHelperRequest(defaultRoute(TEREDO_ROUTE_METRIC.defaultRoute), context).accept, true);
  assert.equal(
    decideHelperRequest(defaultRoute(TEREDO_ROUTE_METRIC.defaultRoute - 1), context).accept,
    false,
  );
});

test('the standard constants are frozen', () => {
  assert.ok(Object.isFrozen(TEREDO_CONSTANTS));
  assert.throws(() => {
    (TEREDO_CONSTANTS as { port: number }).port = 1;
  }, TypeError);
  assert.equal(TEREDO_CONSTANTS.port, 3544);
});

test('defineConstants returns a new frozen object with the overrides only', () => {
  const fast = defineConstants({ qualificationTimeoutMs: 40, clientRefreshIntervalMs: 300 });
  assert.ok(Object.isFrozen(fast));
  assert.equal(fast.qualificationTimeoutMs, 40);
  assert.equal(fast.clientRefreshIntervalMs, 300);
  assert.equal(fast.restartDelayMs, TEREDO_CONSTANTS.restartDelayMs);
  assert.equal(TEREDO_CONSTANTS.qualificationTimeoutMs, 4000);
  assert.notEqual(fast, TEREDO_CONSTANTS);
});

test('defineConstants rejects unknown names and impossible values', () => {
  assert.throws(() => defineConstants({ nope: 1 } as never), RangeError);
  assert.throws(() => defineConstants({ clientRefreshIntervalMs: -1 }), RangeError);
  assert.throws(() => defineConstants({ clientRefreshIntervalMs: 1.5 }), RangeError);
  assert.throws(() => defineConstants({ clientRefreshIntervalMs: Number.NaN }), RangeError);
  assert.throws(() => defineConstants({ clientRefreshIntervalMs: '30' as unknown as number }), RangeError);
});
