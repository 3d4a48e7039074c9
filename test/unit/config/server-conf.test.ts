import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDiagnostic } from '../../../src/config/diagnostic.js';
import type { ConfigResult, Diagnostic } from '../../../src/config/diagnostic.js';
import {
  SERVER_DEFAULTS,
  ServerConfigSchema,
  parseServerConf,
  sourceRateLimit,
} from '../../../src/config/server-conf.js';
import type { ServerConfig, ServerConfOptions } from '../../../src/config/server-conf.js';
import { isGlobalUnicastIPv4 } from '../../../src/teredo/ipv4.js';

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
    rsRateLimit: { perSecond: 50, burst: 100 },
    forwardRateLimit: { perSecond: 1000, burst: 2000 },
  });
  assert.deepEqual(SERVER_DEFAULTS.rsRateLimit, { perSecond: 50, burst: 100 });
  assert.equal(config('ServerBindAddress 198.51.100.255\n').serverBindAddress2, '198.51.101.0');
});

test('every server directive is read, case-insensitively', () => {
  const result = parse(
    'serverbindaddress 192.0.2.221\nSERVERBINDADDRESS2 203.0.113.7\nPrefix 3ffe:831f::\nInterfaceMTU 1400\nSyslogFacility User\nrsratelimit 7\nFORWARDRATELIMIT 0\n',
  );
  assert.ok(result.ok);
  assert.deepEqual(result.warnings, []);
  assert.deepEqual(result.config, {
    serverBindAddress: '192.0.2.221',
    serverBindAddress2: '203.0.113.7',
    prefix: 0x3ffe831f,
    interfaceMtu: 1400,
    syslogFacility: 'user',
    rsRateLimit: { perSecond: 7, burst: 14 },
    forwardRateLimit: { perSecond: 0, burst: 1 },
  });
  assert.deepEqual(result.origins, {
    serverBindAddress: 1,
    serverBindAddress2: 2,
    prefix: 3,
    interfaceMtu: 4,
    syslogFacility: 5,
    rsRateLimit: 6,
    forwardRateLimit: 7,
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

test('the two addresses must differ', () => {
  assert.deepEqual(errorLines('ServerBindAddress 192.0.2.1\nServerBindAddress2 192.0.2.1\n'), [
    'miredo-server.conf:2: ServerBindAddress2: must differ from ServerBindAddress',
  ]);
});

test("both server addresses must be global unicast, with Miredo's sentence and the address", () => {
  assert.deepEqual(errorLines('ServerBindAddress 10.0.0.1\n'), [
    'miredo-server.conf:1: ServerBindAddress: 10.0.0.1 is not a global unicast address: Server IPv4 addresses must be global unicast',
  ]);
  assert.deepEqual(errorLines('# two\nServerBindAddress 192.0.2.1\nServerBindAddress2 192.168.1.1\n'), [
    'miredo-server.conf:3: ServerBindAddress2: 192.168.1.1 is not a global unicast address: Server IPv4 addresses must be global unicast',
  ]);
  assert.deepEqual(errorLines('', { bindOverride: '127.0.0.1' }), [
    '(command line):0: address: 127.0.0.1 is not a global unicast address: Server IPv4 addresses must be global unicast',
  ]);
  for (const address of [
    '0.1.2.3',
    '169.254.0.1',
    '172.20.0.1',
    '192.88.99.1',
    '224.0.0.1',
    '255.255.255.255',
  ]) {
    assert.equal(
      errorLines(`ServerBindAddress ${address}\nServerBindAddress2 192.0.2.9\n`).length,
      1,
      address,
    );
  }
  // Miredo's table accepts the documentation ranges and 100.64/10, which labs rely on.
  assert.equal(config('ServerBindAddress 100.64.0.1\n').serverBindAddress2, '100.64.0.2');
});

test('a default secondary address that is not global unicast must be set explicitly', () => {
  assert.deepEqual(errorLines('ServerBindAddress 9.255.255.255\n'), [
    'miredo-server.conf:1: ServerBindAddress: the default ServerBindAddress2 (the next address) would be 10.0.0.0: Server IPv4 addresses must be global unicast; set ServerBindAddress2',
  ]);
  assert.equal(
    config('ServerBindAddress 223.255.255.255\nServerBindAddress2 192.0.2.1\n').serverBindAddress2,
    '192.0.2.1',
  );
  assert.deepEqual(errorLines('', { bindOverride: '126.255.255.255' }), [
    'miredo-server.conf:0: ServerBindAddress: the default ServerBindAddress2 (the next address) would be 127.0.0.0: Server IPv4 addresses must be global unicast; set ServerBindAddress2',
  ]);
});

test('RSRateLimit and ForwardRateLimit: packets per second, burst twice that, 0 = no limit', () => {
  const base = 'ServerBindAddress 192.0.2.1\n';
  const limits = (text: string): [unknown, unknown] => {
    const parsed = config(base + text);
    return [parsed.rsRateLimit, parsed.forwardRateLimit];
  };
  assert.deepEqual(limits('RSRateLimit 1\nForwardRateLimit 500000\n'), [
    { perSecond: 1, burst: 2 },
    { perSecond: 500000, burst: 1000000 },
  ]);
  // Miredo's integer syntax: hex and leading-zero octal.
  assert.deepEqual(limits('RSRateLimit 0x10\nForwardRateLimit 010\n'), [
    { perSecond: 16, burst: 32 },
    { perSecond: 8, burst: 16 },
  ]);
  assert.deepEqual(limits('RSRateLimit 0\n')[0], { perSecond: 0, burst: 1 });
  assert.deepEqual(sourceRateLimit(0), { perSecond: 0, burst: 1 });
  assert.deepEqual(errorLines(`${base}RSRateLimit fast\nForwardRateLimit 500001\n`), [
    'miredo-server.conf:2: RSRateLimit: "fast" is not a packet rate (expected packets per second from 0 to 500000; 0 = no limit)',
    'miredo-server.conf:3: ForwardRateLimit: 500001 is above the maximum of 500000 packets per second (0 = no limit)',
  ]);
  assert.deepEqual(errorLines(`${base}ForwardRateLimit 1.5\nRSRateLimit 99999999999999999999999\n`), [
    'miredo-server.conf:2: ForwardRateLimit: "1.5" is not a packet rate (expected packets per second from 0 to 500000; 0 = no limit)',
    'miredo-server.conf:3: RSRateLimit: "99999999999999999999999" is not a packet rate (expected packets per second from 0 to 500000; 0 = no limit)',
  ]);
  const twice = parse(`${base}RSRateLimit 5\nRSRateLimit 6\n`);
  assert.ok(twice.ok);
  assert.equal(twice.config.rsRateLimit.perSecond, 5, 'the first occurrence wins');
  assert.equal(warningLines(twice).length, 1);
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
    { ...good, serverBindAddress: '10.0.0.1' },
    { ...good, serverBindAddress2: '127.0.0.2' },
    { ...good, rsRateLimit: { perSecond: 500001, burst: 1 } },
    { ...good, forwardRateLimit: { perSecond: 1, burst: 0 } },
  ]) {
    assert.equal(ServerConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('property: a global primary gets primary + 1 when that is global, and is refused otherwise', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      const quad = (v: number) => [24, 16, 8, 0].map((s) => (v >>> s) & 0xff).join('.');
      const result = parse(`ServerBindAddress ${quad(n)}\n`);
      const expected = n < 0xffffffff && isGlobalUnicastIPv4(n) && isGlobalUnicastIPv4(n + 1);
      assert.equal(result.ok, expected, quad(n));
      if (result.ok) assert.equal(result.config.serverBindAddress2, quad(n + 1));
    }),
  );
});
