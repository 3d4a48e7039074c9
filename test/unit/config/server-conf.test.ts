import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDiagnostic } from '../../../src/config/diagnostic.js';
import type { ConfigResult, Diagnostic } from '../../../src/config/diagnostic.js';
import { ServerConfigSchema, parseServerConf } from '../../../src/config/server-conf.js';
import type { ServerConfig, ServerConfOptions } from '../../../src/config/server-conf.js';

const F = 'miredo-server.conf';

function parse(text: string, opts?: ServerConfOptions): ConfigResult<ServerConfig> {
  return parseServerConf(text, F, opts);
}

function config(text: string, opts?: ServerConfOptions): ServerConfig {
  const result = parse(text, opts);
  assert.ok(result.ok, `expected success, got ${JSON.stringify(result)}`);
  return result.config;
}

function errorLines(text: string, opts?: ServerConfOptions): string[] {
  const result = parse(text, opts);
  assert.ok(!result.ok, `expected failure for ${JSON.stringify(text)}`);
  return result.errors.map(formatDiagnostic);
}

function warningLines(result: ConfigResult<ServerConfig>): string[] {
  return result.warnings.map((w: Diagnostic) => formatDiagnostic(w));
}

test('the secondary address defaults to primary + 1; other settings to Miredo defaults', () => {
  assert.deepEqual(config('ServerBindAddress 192.0.2.221\n'), {
    serverBindAddress: '192.0.2.221',
    serverBindAddress2: '192.0.2.222',
    prefix: 0x20010000,
    interfaceMtu: 1280,
    syslogFacility: 'daemon',
  });
  assert.equal(config('ServerBindAddress 198.51.100.255\n').serverBindAddress2, '198.51.101.0');
});

test('every server directive is read, case-insensitively', () => {
  const result = parse(
    'serverbindaddress 192.0.2.221\nSERVERBINDADDRESS2 203.0.113.7\nPrefix 3ffe:831f::\nInterfaceMTU 1400\nSyslogFacility User\n',
  );
  assert.ok(result.ok);
  assert.deepEqual(result.warnings, []);
  assert.deepEqual(result.config, {
    serverBindAddress: '192.0.2.221',
    serverBindAddress2: '203.0.113.7',
    prefix: 0x3ffe831f,
    interfaceMtu: 1400,
    syslogFacility: 'user',
  });
  assert.deepEqual(result.origins, {
    serverBindAddress: 1,
    serverBindAddress2: 2,
    prefix: 3,
    interfaceMtu: 4,
    syslogFacility: 5,
  });
  assert.ok(Object.isFrozen(result.config));
});

test('ServerBindAddress is required unless given on the command line', () => {
  assert.deepEqual(errorLines('SyslogFacility daemon\n'), [
    'miredo-server.conf:0: ServerBindAddress: required (or give the address on the command line)',
  ]);
  assert.equal(config('', { bindOverride: '192.0.2.10' }).serverBindAddress2, '192.0.2.11');
});

test('an address on the command line makes both ServerBindAddress directives superfluous', () => {
  const result = parse('ServerBindAddress 192.0.2.221\nServerBindAddress2 192.0.2.1\n', {
    bindOverride: '192.0.2.100',
  });
  assert.ok(result.ok);
  assert.equal(result.config.serverBindAddress, '192.0.2.100');
  assert.equal(result.config.serverBindAddress2, '192.0.2.101');
  assert.deepEqual(warningLines(result), [
    'miredo-server.conf:1: ServerBindAddress: superseded by the address given on the command line; ignored',
    'miredo-server.conf:2: ServerBindAddress2: superseded by the address given on the command line; ignored',
  ]);
  assert.deepEqual(errorLines('', { bindOverride: 'server.example.com' }), [
    '(command line):0: address: "server.example.com" is not a dotted-quad IPv4 address',
  ]);
});

test('server addresses must be dotted quads: no names, no inet_aton forms', () => {
  for (const value of ['localhost', '127.1', '192.0.2.010', '0xc00002dd', '::1']) {
    assert.deepEqual(errorLines(`ServerBindAddress ${value}\n`), [
      `miredo-server.conf:1: ServerBindAddress: "${value}" is not a dotted-quad IPv4 address`,
    ]);
  }
  assert.deepEqual(errorLines('ServerBindAddress 192.0.2.1\nServerBindAddress2 bad\n'), [
    'miredo-server.conf:2: ServerBindAddress2: "bad" is not a dotted-quad IPv4 address',
  ]);
});

test('the two addresses must differ, and 255.255.255.255 has no default successor', () => {
  assert.deepEqual(errorLines('ServerBindAddress 192.0.2.1\nServerBindAddress2 192.0.2.1\n'), [
    'miredo-server.conf:2: ServerBindAddress2: must differ from ServerBindAddress',
  ]);
  assert.deepEqual(errorLines('ServerBindAddress 255.255.255.255\n'), [
    'miredo-server.conf:1: ServerBindAddress: 255.255.255.255 has no successor for the default ServerBindAddress2; set ServerBindAddress2',
  ]);
  assert.equal(
    config('ServerBindAddress 255.255.255.255\nServerBindAddress2 192.0.2.1\n').serverBindAddress2,
    '192.0.2.1',
  );
});

test('the server refuses an MTU below 1280 (Miredo fails at start-up) and a multicast prefix', () => {
  assert.deepEqual(errorLines('ServerBindAddress 192.0.2.1\nInterfaceMTU 1000\n'), [
    'miredo-server.conf:2: InterfaceMTU: 1000 is below the IPv6 minimum MTU of 1280',
  ]);
  assert.deepEqual(errorLines('ServerBindAddress 192.0.2.1\nPrefix ff02::\n'), [
    'miredo-server.conf:2: Prefix: "ff02::" is a multicast address (ff00::/8), not a Teredo prefix',
  ]);
});

test('client and relay directives are unknown to the server; a bad facility is a warning', () => {
  const result = parse('ServerBindAddress 192.0.2.1\nBindPort 5\nRelayType cone\nSyslogFacility bad\n');
  assert.ok(result.ok);
  assert.equal(result.config.syslogFacility, 'daemon');
  assert.deepEqual(
    result.warnings.map((w) => [w.line, w.directive]),
    [
      [2, 'BindPort'],
      [3, 'RelayType'],
      [4, 'SyslogFacility'],
    ],
  );
});

test('ServerConfigSchema accepts parsed configs and refuses inconsistent ones', () => {
  const good = config('ServerBindAddress 192.0.2.1\n');
  assert.deepEqual(ServerConfigSchema.parse(JSON.parse(JSON.stringify(good))), good);
  for (const bad of [
    { ...good, serverBindAddress2: good.serverBindAddress },
    { ...good, serverBindAddress: 'localhost' },
    { ...good, interfaceMtu: 576 },
    { ...good, prefix: 0xff020000 },
  ]) {
    assert.equal(ServerConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('property: any primary address but the last gets primary + 1 as its secondary', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xfffffffe }), (n) => {
      const quad = (v: number) => [24, 16, 8, 0].map((s) => (v >>> s) & 0xff).join('.');
      assert.equal(config(`ServerBindAddress ${quad(n)}\n`).serverBindAddress2, quad(n + 1));
    }),
  );
});
