import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planReload } from '../../../src/bootstrap/reload-plan.js';
import type { DaemonSettings } from '../../../src/config/settings-schema.js';
import { RELAY_SETTINGS, SERVER_SETTINGS } from '../../support/fakes.js';

const relay: DaemonSettings = RELAY_SETTINGS;

const client: DaemonSettings = {
  role: 'client',
  interfaceName: 'teredo',
  syslogFacility: 'daemon',
  serverName: 'teredo.example',
  serverAddress: '198.51.100.1',
  serverAddress2: null,
  fallbackServers: [],
  localDiscovery: true,
  portMapping: 'off',
  portMappingLifetime: 3600,
  bindAddress: '0.0.0.0',
  bindPort: 0,
  peerTableCapacity: 1024,
  dataplaneWorkers: 0,
};

const server = SERVER_SETTINGS;

test('identical settings: nothing to do', () => {
  for (const settings of [relay, client, server])
    assert.deepEqual(planReload(settings, { ...settings }), { kind: 'unchanged' });
});

test('relay MTU and facility change in place; a new prefix restarts the engine', () => {
  assert.deepEqual(planReload(relay, { ...relay, interfaceMtu: 1400, syslogFacility: 'local0' }), {
    kind: 'in-place',
    changes: [
      { kind: 'mtu', from: 1280, to: 1400 },
      { kind: 'syslog-facility', from: 'daemon', to: 'local0' },
    ],
  });
  assert.deepEqual(planReload(relay, { ...relay, prefix: 0x3ffe831f }), {
    kind: 'restart',
    reasons: ['prefix'],
  });
});

test('relay resources or mode changes restart the engine', () => {
  assert.deepEqual(planReload(relay, { ...relay, interfaceName: 'other', interfaceMtu: 1400 }), {
    kind: 'restart',
    reasons: ['interfaceName'],
  });
  assert.deepEqual(planReload(relay, { ...relay, bindPort: 0, bindAddress: '192.0.2.1' }), {
    kind: 'restart',
    reasons: ['bindAddress', 'bindPort'],
  });
  assert.deepEqual(planReload(relay, { ...relay, relayType: 'restricted' }), {
    kind: 'restart',
    reasons: ['relayType'],
  });
  assert.equal(planReload(relay, client).kind, 'restart');
  assert.equal(planReload(client, relay).kind, 'restart');
});

test('client: a new server name restarts, a new facility does not, a new answer for the same name does not', () => {
  assert.deepEqual(
    planReload(client, { ...client, serverName: '198.51.100.2', serverAddress: '198.51.100.2' }),
    {
      kind: 'restart',
      reasons: ['serverName'],
    },
  );
  // The engine follows its name's addresses itself (server-follower.ts).
  assert.deepEqual(planReload(client, { ...client, serverAddress: '198.51.100.2' }), { kind: 'unchanged' });
  assert.deepEqual(planReload(client, { ...client, serverAddress: null }), { kind: 'unchanged' });
  assert.deepEqual(planReload(client, { ...client, syslogFacility: 'user' }), {
    kind: 'in-place',
    changes: [{ kind: 'syslog-facility', from: 'daemon', to: 'user' }],
  });
});

test('server: any change of its rules restarts the engine, the facility does not', () => {
  assert.deepEqual(planReload(server, { ...server, serverBindAddress2: '192.0.2.9' }), {
    kind: 'restart',
    reasons: ['serverBindAddress2'],
  });
  assert.deepEqual(
    planReload(server, {
      ...server,
      prefix: 0x3ffe831f,
      interfaceMtu: 1400,
      forwardRateLimit: { perSecond: 0, burst: 1 },
    }),
    { kind: 'restart', reasons: ['prefix', 'interfaceMtu', 'forwardRateLimit'] },
  );
  assert.equal(planReload(server, { ...server, rsRateLimit: { ...server.rsRateLimit } }).kind, 'unchanged');
  assert.equal(planReload(server, { ...server, syslogFacility: 'local1' }).kind, 'in-place');
});

test('MetricsListen set, moved or removed restarts the engine (a new socket), in every mode', () => {
  const listen = { address: '127.0.0.1', port: 9473 };
  for (const settings of [relay, client, server]) {
    const on = { ...settings, metricsListen: listen };
    assert.deepEqual(planReload(settings, on), { kind: 'restart', reasons: ['metricsListen'] });
    assert.deepEqual(planReload(on, settings), { kind: 'restart', reasons: ['metricsListen'] });
    assert.deepEqual(planReload(on, { ...on, metricsListen: { ...listen, port: 9474 } }), {
      kind: 'restart',
      reasons: ['metricsListen'],
    });
    assert.deepEqual(planReload(on, { ...on, metricsListen: { ...listen } }), { kind: 'unchanged' });
  }
});

test('client: a new FallbackServerAddress list (or order) restarts the engine, from the primary', () => {
  const listed = { ...client, fallbackServers: ['a.example', 'b.example'] };
  assert.deepEqual(planReload(listed, { ...listed }), { kind: 'unchanged' });
  assert.deepEqual(planReload(client, listed), { kind: 'restart', reasons: ['fallbackServers'] });
  assert.deepEqual(planReload(listed, { ...client, fallbackServers: ['b.example', 'a.example'] }), {
    kind: 'restart',
    reasons: ['fallbackServers'],
  });
});
