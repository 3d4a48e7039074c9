import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine } from '../../../src/bootstrap/command-line.js';
import type { CommandLineOptions } from '../../../src/bootstrap/command-line.js';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { parseServerConf } from '../../../src/config/server-conf.js';
import type { ResolveResult } from '../../../src/config/resolve.js';
import { loadSettings } from '../../../src/bootstrap/settings.js';
import type { SettingsSources } from '../../../src/bootstrap/settings.js';

function options(program: 'miredo' | 'miredo-server', args: string[]): CommandLineOptions {
  const parsed = parseCommandLine(program, ['-c', '/etc/test.conf', ...args]);
  if (parsed.kind !== 'run') throw new Error(parsed.kind);
  return parsed.options;
}

const names: Record<string, string> = {
  'teredo.example': '198.51.100.1',
  'teredo2.example': '198.51.100.2',
  'relay.example': '192.0.2.10',
};

function sources(text: string): SettingsSources {
  return {
    readMiredoConf: (path, opts) => Promise.resolve(parseMiredoConf(text, path, opts)),
    readServerConf: (path, opts) => Promise.resolve(parseServerConf(text, path, opts)),
    resolve: (name): Promise<ResolveResult> => {
      if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return Promise.resolve({ ok: true, address: name });
      const address = names[name];
      return Promise.resolve(
        address === undefined
          ? { ok: false, code: 'ENOTFOUND', message: 'host not found' }
          : { ok: true, address },
      );
    },
  };
}

test('a relay configuration becomes relay settings', async () => {
  const result = await loadSettings(
    options('miredo', []),
    sources(
      'RelayType cone\nInterfaceName teredo\nInterfaceMTU 1400\nBindAddress relay.example\nBindPort 3545\n',
    ),
  );
  assert.deepEqual(result, {
    ok: true,
    warnings: [],
    settings: {
      role: 'relay',
      relayType: 'cone',
      interfaceName: 'teredo',
      syslogFacility: 'daemon',
      prefix: 0x20010000,
      interfaceMtu: 1400,
      bindAddress: '192.0.2.10',
      bindPort: 3545,
      peerTableCapacity: 1048576,
      dataplaneWorkers: 0,
    },
  });
});

test('a client resolves its server; the command line overrides ServerAddress', async () => {
  const fromFile = await loadSettings(options('miredo', []), sources('ServerAddress teredo.example\n'));
  assert.ok(fromFile.ok);
  if (fromFile.ok && fromFile.settings.role === 'client') {
    assert.equal(fromFile.settings.serverName, 'teredo.example');
    assert.equal(fromFile.settings.serverAddress, '198.51.100.1');
  }
  const fromArgs = await loadSettings(
    options('miredo', ['teredo2.example']),
    sources('ServerAddress teredo.example\n'),
  );
  assert.ok(fromArgs.ok);
  if (fromArgs.ok && fromArgs.settings.role === 'client')
    assert.equal(fromArgs.settings.serverAddress, '198.51.100.2');
});

test('configuration errors come back as FILE:LINE texts', async () => {
  const result = await loadSettings(options('miredo', []), sources('RelayType cone\nInterfaceMTU abc\n'));
  assert.equal(result.ok, false);
  if (!result.ok) assert.match(result.errors.join('\n'), /^\/etc\/test\.conf:2: InterfaceMTU: /m);
});

test('an unresolvable server is not fatal: a warning naming the line, no address yet', async () => {
  const result = await loadSettings(options('miredo', []), sources('\nServerAddress nowhere.example\n'));
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.warnings, [
    '/etc/test.conf:2: Cannot resolve Teredo server address "nowhere.example": host not found; retrying in the background',
  ]);
  assert.ok(result.settings.role === 'client');
  assert.equal(result.settings.serverName, 'nowhere.example');
  assert.equal(result.settings.serverAddress, null);
});

test("a non-global server address is not used at load (the engine hears Miredo's refusal)", async () => {
  const result = await loadSettings(options('miredo', []), sources('ServerAddress 10.1.2.3\n'));
  assert.ok(result.ok && result.settings.role === 'client');
  assert.equal(result.settings.serverAddress, null);
});

test('warnings are passed on', async () => {
  const result = await loadSettings(
    options('miredo', []),
    sources('ServerAddress teredo.example\nPrefix 3ffe::\n'),
  );
  assert.ok(result.ok);
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0] ?? '', /^\/etc\/test\.conf:2: /);
});

test('miredo-server settings, with the positional bind address', async () => {
  const result = await loadSettings(options('miredo-server', ['192.0.2.5']), sources(''));
  assert.ok(result.ok, JSON.stringify(result));
  if (result.ok && result.settings.role === 'server') {
    assert.equal(result.settings.serverBindAddress, '192.0.2.5');
    assert.equal(result.settings.serverBindAddress2, '192.0.2.6');
  }
});
