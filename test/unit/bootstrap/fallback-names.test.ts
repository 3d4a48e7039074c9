/**
 * The bootstrap resolves, for the engine, the client's configured server names: ServerAddress and
 * each FallbackServerAddress, and nothing else (SECURITY.md); one rate limit covers them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClientNameService, RESOLVE_RATE } from '../../../src/bootstrap/name-service.js';
import type { DaemonSettings } from '../../../src/config/settings-schema.js';
import { captureLog, RELAY_SETTINGS } from '../../support/fakes.js';

const client: DaemonSettings = {
  role: 'client',
  interfaceName: null,
  syslogFacility: 'daemon',
  // Literals: resolved without DNS (server-name-resolver.ts).
  serverName: '192.0.2.1',
  serverAddress: '192.0.2.1',
  serverAddress2: null,
  fallbackServers: ['198.51.100.5', '203.0.113.7'],
  localDiscovery: false,
  portMapping: 'off',
  portMappingLifetime: 3600,
  bindAddress: '0.0.0.0',
  bindPort: 0,
  peerTableCapacity: 1024,
  dataplaneWorkers: 0,
};

test('ServerAddress and every FallbackServerAddress are answered; any other name is refused', async () => {
  const { log, records } = captureLog();
  const names = createClientNameService(() => client, log);
  const ask = (name: string) => names.answer({ type: 'resolve', id: 1, name });
  assert.deepEqual(await ask('198.51.100.5'), { ok: true, addresses: ['198.51.100.5'], ttlSeconds: 86_400 });
  assert.deepEqual(await ask('203.0.113.7'), { ok: true, addresses: ['203.0.113.7'], ttlSeconds: 86_400 });
  assert.equal(RESOLVE_RATE.burst, 4);
  assert.deepEqual(await ask('198.51.100.9'), { ok: false, reason: 'not a configured server name' });
  assert.equal(records.filter((r) => /not a configured server name/.test(String(r.msg))).length, 1);
});

test('a relay asks for nothing: no names at all', async () => {
  const names = createClientNameService(() => RELAY_SETTINGS, captureLog().log);
  assert.deepEqual(await names.answer({ type: 'resolve', id: 1, name: '198.51.100.5' }), {
    ok: false,
    reason: 'not a configured server name',
  });
});
