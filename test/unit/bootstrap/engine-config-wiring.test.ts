/**
 * PeerTableCapacity and DataplaneWorkers from miredo.conf to the engine: the settings, the pool
 * size (one TUN queue and one UDP socket per worker, 0 = a client one, a relay one per CPU), the engine configuration
 * and the peer table it sizes, a restart when either changes on SIGHUP; and the engine's
 * environment, which carries nothing but the test-only fault injection switch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from '../../../src/bootstrap/command-line.js';
import type { CommandLineOptions } from '../../../src/bootstrap/command-line.js';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { parseServerConf } from '../../../src/config/server-conf.js';
import { runBootstrap } from '../../../src/bootstrap/bootstrap.js';
import { engineEnvironment } from '../../../src/bootstrap/engine-process.js';
import { engineConfigSchema } from '../../../src/ipc/engine-config.js';
import { planReload } from '../../../src/bootstrap/reload-plan.js';
import { openResources } from '../../../src/bootstrap/resources.js';
import { loadSettings, poolSizeFor } from '../../../src/bootstrap/settings.js';
import type { DaemonSettings } from '../../../src/config/settings-schema.js';
import type { SettingsSources } from '../../../src/bootstrap/settings.js';
import { engineConfigFor } from '../../../src/bootstrap/settings-views.js';
import { createSupervisor } from '../../../src/bootstrap/supervisor.js';
import type { SupervisorTiming } from '../../../src/bootstrap/supervisor.js';
import { createTunnelControl } from '../../../src/engine/tunnel-control.js';
import { createTunnelShared } from '../../../src/ipc/tunnel-shared.js';
import {
  CLIENT_DEFAULT_PEER_CAPACITY,
  DEFAULT_PEER_CAPACITY,
  MAX_PEER_CAPACITY,
} from '../../../src/teredo/constants.js';
import { captureLog, FakeOs, SERVER_SETTINGS } from '../../support/fakes.js';

const FAKE_ENGINE = fileURLToPath(new URL('../../support/fake-engine.js', import.meta.url));
const FAST: SupervisorTiming = {
  restartDelayMs: 20,
  stopGraceMs: 500,
  crashWindowMs: 10_000,
  maxCrashes: 3,
  readyTimeoutMs: 2000,
};

class Files implements SettingsSources {
  constructor(public text: string) {}
  readMiredoConf = (path: string, opts: object) => Promise.resolve(parseMiredoConf(this.text, path, opts));
  readServerConf = (path: string, opts: object) => Promise.resolve(parseServerConf(this.text, path, opts));
  resolve = (name: string) => Promise.resolve({ ok: true as const, address: name });
}

function cli(...extra: string[]): CommandLineOptions {
  const parsed = parseCommandLine('miredo', ['-f', '-c', '/etc/relay.conf', ...extra]);
  if (parsed.kind !== 'run') throw new Error(parsed.kind);
  return parsed.options;
}

const RELAY_TEXT = 'RelayType cone\nInterfaceName teredo\nBindPort 3545\n';

async function relaySettings(extra = ''): Promise<Extract<DaemonSettings, { role: 'relay' }>> {
  const loaded = await loadSettings(cli(), new Files(`${RELAY_TEXT}${extra}`));
  assert.ok(loaded.ok && loaded.settings.role === 'relay');
  return loaded.settings;
}

test('the two directives reach the settings, with their defaults', async () => {
  const configured = await relaySettings('PeerTableCapacity 4096\nDataplaneWorkers 3\n');
  assert.equal(configured.peerTableCapacity, 4096);
  assert.equal(configured.dataplaneWorkers, 3);
  const defaults = await relaySettings();
  assert.equal(defaults.peerTableCapacity, 1_048_576);
  assert.equal(defaults.dataplaneWorkers, 0);
  const client = await loadSettings(cli(), new Files('ServerAddress 192.0.2.1\nPeerTableCapacity 2048\n'));
  assert.ok(client.ok && client.settings.role === 'client');
  assert.equal(client.settings.peerTableCapacity, 2048);
  const clientDefaults = await loadSettings(cli(), new Files('ServerAddress 192.0.2.1\n'));
  assert.ok(clientDefaults.ok && clientDefaults.settings.role === 'client');
  assert.equal(clientDefaults.settings.peerTableCapacity, CLIENT_DEFAULT_PEER_CAPACITY);
  assert.equal(poolSizeFor(clientDefaults.settings, 4), 1);
  const twoWorkers = await loadSettings(cli(), new Files('ServerAddress 192.0.2.1\nDataplaneWorkers 2\n'));
  assert.ok(twoWorkers.ok);
  assert.equal(poolSizeFor(twoWorkers.settings, 4), 2);
});

test('pool size: DataplaneWorkers, 0 (or absent) = one per CPU for a relay, a server always one', async () => {
  assert.equal(poolSizeFor(await relaySettings('DataplaneWorkers 3\n'), 2), 3);
  assert.equal(poolSizeFor(await relaySettings('DataplaneWorkers 0\n'), 2), 2);
  assert.equal(poolSizeFor(await relaySettings(), 4), 4);
  assert.equal(poolSizeFor(SERVER_SETTINGS, 4), 1);
});

test('PeerTableCapacity reaches the engine configuration and sizes the peer table', async () => {
  const settings = await relaySettings('PeerTableCapacity 4096\n');
  const opened = await openResources(settings, 1, new FakeOs());
  assert.ok(opened.ok);
  const config = engineConfigFor(settings, opened.resources);
  assert.ok(config.role === 'relay');
  assert.equal(config.peerTableCapacity, 4096);
  assert.ok(engineConfigSchema.safeParse(config).success);
  assert.equal(createTunnelControl(config).shared?.byteLength, createTunnelShared(4096).buffer.byteLength);

  const server = engineConfigFor(SERVER_SETTINGS, opened.resources);
  assert.ok(!('peerTableCapacity' in server));
  const { peerTableCapacity: _capacity, ...unsized } = config;
  for (const bad of [
    unsized,
    ...[0, 1023, MAX_PEER_CAPACITY + 1, 1.5].map((capacity) => ({ ...config, peerTableCapacity: capacity })),
  ])
    assert.equal(engineConfigSchema.safeParse(bad).success, false);
  assert.equal(engineConfigSchema.safeParse({ ...server, peerTableCapacity: 4096 }).success, false);
});

test('without PeerTableCapacity, a client and a relay get their role’s default capacity, from their configuration', async () => {
  const relay = await relaySettings();
  const client = await loadSettings(cli(), new Files('ServerAddress 192.0.2.1\n'));
  assert.ok(client.ok);
  const opened = await openResources(relay, 1, new FakeOs());
  assert.ok(opened.ok);
  for (const [settings, capacity] of [
    [relay, DEFAULT_PEER_CAPACITY],
    [client.settings, CLIENT_DEFAULT_PEER_CAPACITY],
  ] as const) {
    const config = engineConfigFor(settings, opened.resources);
    assert.ok(config.role !== 'server');
    assert.equal(config.peerTableCapacity, capacity);
  }
});

test('a new PeerTableCapacity or DataplaneWorkers restarts the engine; the default spelled out does not', async () => {
  const current = await relaySettings();
  assert.deepEqual(planReload(current, await relaySettings('PeerTableCapacity 4096\n')), {
    kind: 'restart',
    reasons: ['peerTableCapacity'],
  });
  assert.deepEqual(planReload(current, await relaySettings('DataplaneWorkers 1\n')), {
    kind: 'restart',
    reasons: ['dataplaneWorkers'],
  });
  assert.deepEqual(
    planReload(current, await relaySettings('PeerTableCapacity 1048576\nDataplaneWorkers 0\n')),
    {
      kind: 'unchanged',
    },
  );
  const client = await loadSettings(cli(), new Files('ServerAddress 192.0.2.1\n'));
  const bigger = await loadSettings(cli(), new Files('ServerAddress 192.0.2.1\nDataplaneWorkers 2\n'));
  assert.ok(client.ok && bigger.ok);
  assert.deepEqual(planReload(client.settings, bigger.settings), {
    kind: 'restart',
    reasons: ['dataplaneWorkers'],
  });
});

test('a SIGHUP with another DataplaneWorkers reopens one TUN queue and UDP socket per worker', async () => {
  const settings = await relaySettings();
  const os = new FakeOs();
  const opened = await openResources(settings, 1, os);
  assert.ok(opened.ok);
  const { log, records } = captureLog();
  const files = new Files(`${RELAY_TEXT}DataplaneWorkers 3\n`);
  const supervisor = createSupervisor({
    options: cli(),
    settings,
    resources: opened.resources,
    uid: 65534,
    gid: 65534,
    chrootDir: '/',
    poolSize: 1,
    logLevel: 'debug',
    log,
    sink: { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) },
    setFacility: () => undefined,
    os,
    sources: files,
    enginePath: FAKE_ENGINE,
    timing: FAST,
  });
  try {
    assert.deepEqual(await supervisor.start(), { ok: true });
    os.calls.length = 0;
    supervisor.reload('SIGHUP');
    const deadline = Date.now() + 5000;
    while (records.filter((r) => /^Engine \d+ ready$/.test(String(r['msg']))).length < 2) {
      assert.ok(Date.now() < deadline, `no second engine: ${JSON.stringify(records.map((r) => r['msg']))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(records.some((r) => r['msg'] === 'Restarting the engine (changed: dataplaneWorkers)'));
    assert.ok(os.calls.includes('openTun teredo 3'), os.calls.join('; '));
    assert.equal(os.calls.filter((call) => call.startsWith('openUdp4 ')).length, 3);
  } finally {
    supervisor.terminate(null);
    await supervisor.finished;
  }
});

test('the bootstrap opens DataplaneWorkers queues at start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wiring-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const os = new FakeOs();
  const errors: string[] = [];
  // InterfaceMTU 1282 makes the fake engine never ready: the start fails and the daemon ends.
  const code = await runBootstrap(
    // A jail must be root's and writable by nobody else, up to / (bootstrap/jail-directory.ts): / is.
    cli('-p', join(dir, 'miredo.pid'), '-t', '/', '-u', 'nobody'),
    { error: (text) => errors.push(text), done: () => undefined },
    {
      os,
      sources: new Files(`${RELAY_TEXT}InterfaceMTU 1282\nDataplaneWorkers 3\n`),
      lookupUser: (name) => ({ name, uid: 65534, gid: 65534 }),
      getuid: () => 0,
      enginePath: FAKE_ENGINE,
      poolSize: 2,
      logLevel: 'debug',
      timing: FAST,
    },
  );
  assert.equal(code, 1);
  assert.ok(os.calls.includes('openTun teredo 3'), os.calls.join('; '));
  assert.equal(os.calls.filter((call) => call.startsWith('openUdp4 ')).length, 3);
  assert.ok(errors.some((text) => /^Cannot start the engine/.test(text)));
});

test("the engine's environment carries only the fault injection switch, and only when on", () => {
  assert.deepEqual(engineEnvironment({ PATH: '/bin', HOME: '/root' }), {});
  assert.deepEqual(engineEnvironment({ MIREDO_TS_FAULT_INJECTION: 'yes' }), {});
  assert.deepEqual(engineEnvironment({ MIREDO_TS_FAULT_INJECTION: '1', LD_PRELOAD: '/x.so' }), {
    MIREDO_TS_FAULT_INJECTION: '1',
  });
});
