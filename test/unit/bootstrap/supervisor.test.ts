/**
 * The supervisor with a fake kernel and engine doubles (real child processes and a real IPC
 * channel, no privileges): start, reload in place, refusal of a broken file, restart after a
 * crash, crash-loop guard, summary and exit.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from '../../../src/bootstrap/command-line.js';
import type { CommandLineOptions } from '../../../src/bootstrap/command-line.js';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { parseServerConf } from '../../../src/config/server-conf.js';
import { openResources } from '../../../src/bootstrap/resources.js';
import type { DaemonSettings } from '../../../src/config/settings-schema.js';
import type { SettingsSources } from '../../../src/bootstrap/settings.js';
import { createSupervisor } from '../../../src/bootstrap/supervisor.js';
import type { Supervisor, SupervisorTiming } from '../../../src/bootstrap/supervisor.js';
import { CLIENT_DEFAULT_PEER_CAPACITY, DEFAULT_PEER_CAPACITY } from '../../../src/teredo/constants.js';
import { captureLog, FakeOs } from '../../support/fakes.js';

const FAKE_ENGINE = fileURLToPath(new URL('../../support/fake-engine.js', import.meta.url));
const FAST: SupervisorTiming = {
  restartDelayMs: 20,
  stopGraceMs: 500,
  crashWindowMs: 10_000,
  maxCrashes: 3,
  readyTimeoutMs: 2000,
};

/** The fake engine's behaviour rides on the MTU: 1280 normal, 1281 crash, 1282 never ready. */
function relaySettings(interfaceMtu: number): DaemonSettings {
  return {
    role: 'relay',
    relayType: 'cone',
    interfaceName: 'teredo',
    syslogFacility: 'daemon',
    prefix: 0x20010000,
    interfaceMtu,
    bindAddress: '0.0.0.0',
    bindPort: 3545,
    peerTableCapacity: DEFAULT_PEER_CAPACITY,
    dataplaneWorkers: 0,
  };
}

function cli(): CommandLineOptions {
  const parsed = parseCommandLine('miredo', ['-f', '-c', '/etc/relay.conf']);
  if (parsed.kind !== 'run') throw new Error(parsed.kind);
  return parsed.options;
}

class Files implements SettingsSources {
  text = '';
  readMiredoConf = (path: string, opts: object) => Promise.resolve(parseMiredoConf(this.text, path, opts));
  readServerConf = (path: string, opts: object) => Promise.resolve(parseServerConf(this.text, path, opts));
  resolve = (name: string) => Promise.resolve({ ok: true as const, address: name });
}

async function setUp(t: TestContext, settings: DaemonSettings, timing = FAST) {
  const os = new FakeOs();
  const opened = await openResources(settings, 1, os);
  assert.ok(opened.ok);
  if (!opened.ok) throw new Error('unreachable');
  const captured = captureLog();
  const files = new Files();
  const facilities: string[] = [];
  const supervisor: Supervisor = createSupervisor({
    options: cli(),
    settings,
    resources: opened.resources,
    uid: 65534,
    gid: 65534,
    chrootDir: '/',
    poolSize: 1,
    logLevel: 'debug',
    log: captured.log,
    sink: { write: (line: string) => captured.records.push(JSON.parse(line) as Record<string, unknown>) },
    setFacility: (facility) => facilities.push(facility),
    os,
    sources: files,
    enginePath: FAKE_ENGINE,
    timing,
  });
  // Whatever happens in the test, no engine double outlives it.
  t.after(async () => {
    supervisor.terminate(null);
    await supervisor.finished;
  });
  const waitFor = async (
    match: (r: Record<string, unknown>) => boolean,
    timeoutMs = 3000,
  ): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = captured.records.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(`not logged: ${JSON.stringify(captured.records.map((r) => r['msg']))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { os, supervisor, records: captured.records, files, facilities, waitFor };
}

test('start, in-place MTU reload, broken file, summary, exit', async (t) => {
  const { os, supervisor, records, files, facilities, waitFor } = await setUp(t, relaySettings(1280));
  assert.deepEqual(await supervisor.start(), { ok: true });
  await waitFor((r) => /^Engine \d+ ready$/.test(String(r['msg'])));

  os.calls.length = 0;
  files.text =
    'RelayType cone\nInterfaceName teredo\nInterfaceMTU 1400\nBindPort 3545\nSyslogFacility local3\n';
  supervisor.reload('SIGHUP');
  await waitFor((r) => r['msg'] === 'fake engine reconfigured');
  assert.deepEqual(os.calls, ['setMtu teredo 1400']);
  assert.deepEqual(facilities, ['local3']);
  assert.ok(
    records.some((r) => r['msg'] === 'Reloading configuration on signal 1 (Hangup)' && r['level'] === 35),
  );

  os.calls.length = 0;
  files.text = 'RelayType cone\nInterfaceName teredo\nInterfaceMTU 99999\n';
  supervisor.reload('SIGHUP');
  await waitFor((r) => /^Configuration not reloaded/.test(String(r['msg'])));
  assert.ok(records.some((r) => String(r['msg']).startsWith('/etc/relay.conf:3: InterfaceMTU')));
  assert.deepEqual(os.calls, []);

  await supervisor.summary();
  assert.ok(
    records.some((r) => r['msg'] === 'State summary' && r['role'] === 'relay' && r['interface'] === 'teredo'),
  );
  assert.ok(records.some((r) => r['msg'] === 'Engine summary' && r['workers'] === 1));

  os.calls.length = 0;
  supervisor.terminate('SIGTERM');
  assert.equal(await supervisor.finished, 0);
  assert.ok(records.some((r) => r['msg'] === 'Exiting on signal 15 (Terminated)'));
  assert.deepEqual(os.calls, [
    'delRoute6 7 2001::/32 1024',
    'delAddress6 7 fe80::ffff:ffff:ffff/64',
    'closeFd 10',
    'closeFd 11',
  ]);
});

test('a changed interface name restarts the engine with new resources', async (t) => {
  const { os, supervisor, files, waitFor, records } = await setUp(t, relaySettings(1280));
  assert.deepEqual(await supervisor.start(), { ok: true });
  const first = await waitFor((r) => /^Engine \d+ ready$/.test(String(r['msg'])));
  os.calls.length = 0;
  files.text = 'RelayType cone\nInterfaceName other\nInterfaceMTU 1280\nBindPort 3545\n';
  supervisor.reload('SIGHUP');
  await waitFor((r) => /^Engine \d+ ready$/.test(String(r['msg'])) && r['child'] !== first['child']);
  assert.ok(records.some((r) => r['msg'] === 'Restarting the engine (changed: interfaceName)'));
  assert.equal(os.calls[0], 'delRoute6 7 2001::/32 1024');
  assert.ok(os.calls.includes('openTun other 1'));
  supervisor.terminate('SIGINT');
  assert.equal(await supervisor.finished, 0);
});

test('a crashed engine is restarted; a crash loop makes the daemon give up', async (t) => {
  const { supervisor, records, waitFor } = await setUp(t, relaySettings(1281));
  assert.deepEqual(await supervisor.start(), { ok: true });
  await waitFor((r) => /^Child \d+ exited \(code: 3\)$/.test(String(r['msg'])));
  assert.equal(await supervisor.finished, 1);
  const ready = records.filter((r) => /^Engine \d+ ready$/.test(String(r['msg'])));
  assert.equal(ready.length, FAST.maxCrashes + 1);
  assert.ok(records.some((r) => r['level'] === 60 && /failed 4 times/.test(String(r['msg']))));
  assert.ok(records.some((r) => r['msg'] === 'Terminated with error(s).'));
});

test('an engine that never becomes ready fails the start', async (t) => {
  const { supervisor } = await setUp(t, relaySettings(1282));
  const start = await supervisor.start();
  assert.equal(start.ok, false);
  if (!start.ok) assert.match(start.reason, new RegExp(`no "ready" within ${FAST.readyTimeoutMs} ms`));
  supervisor.terminate(null, 1);
  assert.equal(await supervisor.finished, 1);
});

test('a restart whose new resources cannot be opened falls back to the previous configuration', async (t) => {
  const { os, supervisor, files, waitFor, records } = await setUp(t, relaySettings(1280));
  assert.deepEqual(await supervisor.start(), { ok: true });
  const first = await waitFor((r) => /^Engine \d+ ready$/.test(String(r['msg'])));
  os.failOn = 'openTun busy';
  os.calls.length = 0;
  files.text = 'RelayType cone\nInterfaceName busy\nInterfaceMTU 1280\nBindPort 3545\n';
  supervisor.reload('SIGHUP');
  await waitFor((r) => /^Engine \d+ ready$/.test(String(r['msg'])) && r['child'] !== first['child']);
  assert.ok(
    records.some((r) =>
      /^Cannot apply the new configuration: Cannot create the tunnel interface/.test(String(r['msg'])),
    ),
  );
  assert.ok(records.some((r) => r['msg'] === 'Kept the previous configuration'));
  assert.ok(os.calls.includes('openTun teredo 1'));
  supervisor.terminate('SIGTERM');
  assert.equal(await supervisor.finished, 0);
});

function clientSettings(): DaemonSettings {
  return {
    role: 'client',
    serverName: '192.0.2.1',
    serverAddress: '192.0.2.1',
    serverAddress2: null,
    fallbackServers: [],
    interfaceName: 'teredo',
    syslogFacility: 'daemon',
    bindAddress: '0.0.0.0',
    bindPort: 0,
    localDiscovery: false,
    peerTableCapacity: CLIENT_DEFAULT_PEER_CAPACITY,
    dataplaneWorkers: 0,
    portMapping: 'auto',
    portMappingLifetime: 3600,
  };
}

test('SIGHUP with an unchanged client file asks the engine to qualify again, keeping the engine and interface', async (t) => {
  const { os, supervisor, records, files, waitFor } = await setUp(t, clientSettings());
  assert.deepEqual(await supervisor.start(), { ok: true });
  const first = await waitFor((r) => /^Engine \d+ ready$/.test(String(r['msg'])));
  os.calls.length = 0;
  files.text = 'ServerAddress 192.0.2.1\nInterfaceName teredo\nLocalDiscovery false\n';
  supervisor.reload('SIGHUP');
  const asked = await waitFor((r) => r['msg'] === 'fake engine requalify');
  assert.equal(asked['reason'], 'reload');
  assert.ok(records.some((r) => r['msg'] === 'Configuration unchanged'));
  assert.deepEqual(os.calls, [], 'no interface or socket touched');
  assert.equal(records.filter((r) => /^Engine \d+ ready$/.test(String(r['msg']))).length, 1);
  assert.ok(!records.some((r) => r['msg'] === 'fake engine init' && r['pid'] !== first['child']));
});

test('SIGHUP of a relay asks for no qualification', async (t) => {
  const { supervisor, records, files, waitFor } = await setUp(t, relaySettings(1280));
  assert.deepEqual(await supervisor.start(), { ok: true });
  await waitFor((r) => /^Engine \d+ ready$/.test(String(r['msg'])));
  files.text = 'RelayType cone\nInterfaceName teredo\nInterfaceMTU 1280\nBindPort 3545\n';
  supervisor.reload('SIGHUP');
  await waitFor((r) => r['msg'] === 'Configuration unchanged');
  await supervisor.summary();
  assert.ok(!records.some((r) => r['msg'] === 'fake engine requalify'));
});
