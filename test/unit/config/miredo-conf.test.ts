import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDiagnostic } from '../../../src/config/diagnostic.js';
import type { ConfigResult, Diagnostic } from '../../../src/config/diagnostic.js';
import { MIREDO_DEFAULTS, MiredoConfigSchema, parseMiredoConf } from '../../../src/config/miredo-conf.js';
import type { MiredoConfig, MiredoConfOptions } from '../../../src/config/miredo-conf.js';

const F = 'miredo.conf';

function parse(text: string, opts?: MiredoConfOptions): ConfigResult<MiredoConfig> {
  return parseMiredoConf(text, F, opts);
}

function config(text: string, opts?: MiredoConfOptions): MiredoConfig {
  const result = parse(text, opts);
  assert.ok(result.ok, `expected success, got ${JSON.stringify(result)}`);
  return result.config;
}

function errors(text: string, opts?: MiredoConfOptions): readonly Diagnostic[] {
  const result = parse(text, opts);
  assert.ok(!result.ok, `expected failure for ${JSON.stringify(text)}`);
  return result.errors;
}

function formatted(list: readonly Diagnostic[]): string[] {
  return list.map(formatDiagnostic);
}

const SERVER = 'ServerAddress 192.0.2.1\n';

test('a client needs only ServerAddress; everything else has Miredo defaults', () => {
  assert.deepEqual(config(SERVER), {
    relayType: 'client',
    serverAddress: '192.0.2.1',
    serverAddress2: null,
    fallbackServers: [],
    interfaceName: null,
    bindAddress: '0.0.0.0',
    bindPort: 0,
    prefix: 0x20010000,
    interfaceMtu: 1280,
    syslogFacility: 'daemon',
    peerTableCapacity: 16_384,
    dataplaneWorkers: 0,
    localDiscovery: true,
    portMapping: 'auto',
    portMappingLifetime: 3600,
  });
  assert.deepEqual(parse(SERVER).warnings, []);
});

test('a client reads every client directive, case-insensitively', () => {
  const text = [
    'relaytype AutoClient',
    'SERVERADDRESS teredo.example.com',
    'serveraddress2 192.0.2.2',
    'InterfaceName teredo',
    'BindAddress 198.51.100.7',
    'bindPort 0xDD9',
    'SyslogFacility LOCAL3',
    'localdiscovery Disabled',
    'fallbackserveraddress teredo2.example.com',
  ].join('\n');
  assert.deepEqual(config(text), {
    relayType: 'client',
    serverAddress: 'teredo.example.com',
    serverAddress2: '192.0.2.2',
    fallbackServers: [{ name: 'teredo2.example.com', line: 9 }],
    interfaceName: 'teredo',
    bindAddress: '198.51.100.7',
    bindPort: 3545,
    prefix: MIREDO_DEFAULTS.prefix,
    interfaceMtu: 1280,
    syslogFacility: 'local3',
    peerTableCapacity: 16_384,
    dataplaneWorkers: 0,
    localDiscovery: false,
    portMapping: 'auto',
    portMappingLifetime: 3600,
  });
  assert.deepEqual(parse(text).warnings, []);
});

test('origins give the line of every field set in the file', () => {
  const result = parse('# x\nBindPort 1\nServerAddress 192.0.2.1\n');
  assert.ok(result.ok);
  assert.deepEqual(result.origins, { bindPort: 2, serverAddress: 3 });
});

test('the parsed config is frozen and satisfies MiredoConfigSchema', () => {
  const parsed = config(SERVER);
  assert.ok(Object.isFrozen(parsed));
  assert.deepEqual(MiredoConfigSchema.parse(JSON.parse(JSON.stringify(parsed))), parsed);
});

test('MiredoConfigSchema refuses inconsistent objects', () => {
  const good = config(SERVER);
  for (const bad of [
    { ...good, serverAddress: null },
    { ...good, relayType: 'cone' },
    { ...good, prefix: 0xff000000 },
    { ...good, bindPort: 65536 },
    { ...good, interfaceMtu: 1000 },
    { ...good, interfaceName: 'x'.repeat(16) },
    { ...good, syslogFacility: 'mark' },
    { ...good, bindAddress: '::1' },
    { ...good, peerTableCapacity: 1023 },
    { ...good, peerTableCapacity: 2 ** 24 + 1 },
    { ...good, peerTableCapacity: 4096.5 },
    { ...good, dataplaneWorkers: -1 },
    { ...good, dataplaneWorkers: 65 },
  ]) {
    assert.equal(MiredoConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('PeerTableCapacity and DataplaneWorkers (our extensions) are read in every mode, in Miredo integer syntax', () => {
  for (const mode of ['RelayType client\n' + SERVER, 'RelayType cone\n', 'RelayType restricted\n']) {
    const result = parse(`${mode}PeerTableCapacity 65536\nDataplaneWorkers 2\n`);
    assert.ok(result.ok, mode);
    assert.equal(result.config.peerTableCapacity, 65_536);
    assert.equal(result.config.dataplaneWorkers, 2);
    assert.deepEqual(
      result.warnings.filter((warning) => !(warning.advisory ?? false)),
      [],
      'not superfluous',
    );
  }
  const result = parse(`${SERVER}peertablecapacity 0x400\nDATAPLANEWORKERS 0100\n`);
  assert.ok(result.ok);
  assert.deepEqual([result.config.peerTableCapacity, result.config.dataplaneWorkers], [1024, 64]);
  assert.deepEqual(result.origins, { serverAddress: 1, peerTableCapacity: 2, dataplaneWorkers: 3 });
  assert.equal(
    config(`${SERVER}PeerTableCapacity 16777216\nDataplaneWorkers 0\n`).peerTableCapacity,
    2 ** 24,
  );
  assert.equal(MIREDO_DEFAULTS.peerTableCapacity, 1_048_576);
  assert.equal(MIREDO_DEFAULTS.dataplaneWorkers, 0);
});

test('PeerTableCapacity outside 1024..16777216 and DataplaneWorkers outside 0..64 are errors at their line', () => {
  assert.deepEqual(formatted(errors(`${SERVER}PeerTableCapacity 1023\nDataplaneWorkers 65\n`)), [
    'miredo.conf:2: PeerTableCapacity: 1023 is outside 1024 to 16777216',
    'miredo.conf:3: DataplaneWorkers: 65 is outside 0 to 64',
  ]);
  assert.deepEqual(formatted(errors(`RelayType cone\nPeerTableCapacity 16777217\n`)), [
    'miredo.conf:2: PeerTableCapacity: 16777217 is outside 1024 to 16777216',
  ]);
  assert.deepEqual(formatted(errors(`RelayType cone\nPeerTableCapacity 1M\nDataplaneWorkers many\n`)), [
    'miredo.conf:2: PeerTableCapacity: "1M" is not a number of peers (expected an integer from 1024 to 16777216)',
    'miredo.conf:3: DataplaneWorkers: "many" is not a number of workers (0 = automatic) (expected an integer from 0 to 64)',
  ]);
  assert.deepEqual(formatted(errors(`RelayType cone\nDataplaneWorkers -1\n`)), [
    'miredo.conf:2: DataplaneWorkers: -1 is outside 0 to 64',
  ]);
});

test('RelayType: client/autoclient → client, relay/cone → cone, restricted', () => {
  const expectations: ReadonlyArray<readonly [string, MiredoConfig['relayType']]> = [
    ['client', 'client'],
    ['AutoClient', 'client'],
    ['relay', 'cone'],
    ['CONE', 'cone'],
    ['restricted', 'restricted'],
  ];
  for (const [value, type] of expectations) {
    assert.equal(config(`RelayType ${value}\n${type === 'client' ? SERVER : ''}`).relayType, type, value);
  }
});

test('restricted relays carry Miredo’s deprecation warning, as an advisory', () => {
  const result = parse('RelayType restricted\n');
  assert.ok(result.ok);
  assert.equal(result.warnings.length, 1);
  assert.equal(result.warnings[0]?.advisory, true);
  assert.equal(result.warnings[0]?.line, 1);
  assert.match(result.warnings[0]?.message ?? '', /deprecated and STRONGLY DISCOURAGED/);
});

test('an invalid RelayType is the only error: the mode, and so the rest, is unknown', () => {
  assert.deepEqual(formatted(errors('RelayType server\nBindPort http\n')), [
    'miredo.conf:1: RelayType: "server" is not a relay type (expected client, autoclient, relay, cone or restricted)',
  ]);
});

test('ServerAddress is required in client mode, reported against the whole file', () => {
  assert.deepEqual(formatted(errors('InterfaceName teredo\n')), [
    'miredo.conf:0: ServerAddress: required in client mode (or give the server on the command line)',
  ]);
  assert.equal(errors('').length, 1);
});

test('a server on the command line replaces ServerAddress and ServerAddress2', () => {
  const result = parse('ServerAddress 192.0.2.1\nServerAddress2 192.0.2.2\n', {
    serverOverride: '203.0.113.9',
  });
  assert.ok(result.ok);
  assert.equal(result.config.serverAddress, '203.0.113.9');
  assert.equal(result.config.serverAddress2, null);
  assert.deepEqual(formatted(result.warnings), [
    'miredo.conf:1: ServerAddress: superseded by the server given on the command line; ignored',
    'miredo.conf:2: ServerAddress2: superseded by the server given on the command line; ignored',
  ]);
  assert.equal(config('', { serverOverride: 'teredo.example.com' }).serverAddress, 'teredo.example.com');
});

test('a malformed server on the command line is an error of the command line', () => {
  assert.deepEqual(formatted(errors('', { serverOverride: '2001:db8::1' })), [
    '(command line):0: server: "2001:db8::1" is not an IPv4 address or host name',
  ]);
});

test('server addresses are IPv4 or host names, kept as written for later resolution', () => {
  assert.equal(config('ServerAddress 127.1\n').serverAddress, '127.1');
  assert.equal(config('ServerAddress localhost\n').serverAddress, 'localhost');
  assert.deepEqual(formatted(errors('ServerAddress ::1\n')), [
    'miredo.conf:1: ServerAddress: "::1" is not an IPv4 address or host name',
  ]);
  assert.deepEqual(formatted(errors(`${SERVER}ServerAddress2 a..b\n`)), [
    'miredo.conf:2: ServerAddress2: "a..b" is not an IPv4 address or host name',
  ]);
});

test('client mode does not read Prefix or InterfaceMTU: they are superfluous', () => {
  const result = parse(`${SERVER}Prefix 2001::\nInterfaceMTU 1400\n`);
  assert.ok(result.ok);
  assert.equal(result.config.interfaceMtu, 1280);
  assert.deepEqual(formatted(result.warnings), [
    'miredo.conf:2: Prefix: only used in relay modes (RelayType cone or restricted); ignored',
    'miredo.conf:3: InterfaceMTU: only used in relay modes (RelayType cone or restricted); ignored',
  ]);
});

test('relay modes do not read ServerAddress(2), and ignore a server on the command line', () => {
  const result = parse('RelayType cone\nServerAddress 192.0.2.1\nServerAddress2 192.0.2.2\n', {
    serverOverride: '192.0.2.3',
  });
  assert.ok(result.ok);
  assert.equal(result.config.serverAddress, null);
  assert.deepEqual(formatted(result.warnings), [
    'miredo.conf:2: ServerAddress: only used in client mode; ignored',
    'miredo.conf:3: ServerAddress2: only used in client mode; ignored',
  ]);
});

test('Prefix: first 32 bits of an IPv6 address, default 2001:0::', () => {
  assert.equal(config('RelayType cone\n').prefix, 0x20010000);
  assert.equal(config('RelayType cone\nPrefix 3ffe:831f::\n').prefix, 0x3ffe831f);
  assert.equal(config('RelayType cone\nPrefix 2001:db8:1234::1\n').prefix, 0x20010db8);
  assert.equal(config('RelayType cone\nPrefix ::ffff:1.2.3.4\n').prefix, 0);
});

test('Prefix: the multicast check tests the first byte (Miredo 1.2.6 tests the fourth)', () => {
  assert.deepEqual(formatted(errors('RelayType cone\nPrefix ff00::\n')), [
    'miredo.conf:2: Prefix: "ff00::" is a multicast address (ff00::/8), not a Teredo prefix',
  ]);
  assert.equal(config('RelayType cone\nPrefix 2001:ff::\n').prefix, 0x200100ff);
});

test('Prefix: not an address, a prefix length, a name or a zone index is an error', () => {
  for (const value of ['2001::/32', 'localhost', '192.0.2.1', '[2001::]', '2001:0:0:0:0:0:0:0:1']) {
    assert.deepEqual(formatted(errors(`RelayType cone\nPrefix ${value}\n`)), [
      `miredo.conf:2: Prefix: "${value}" is not an IPv6 address`,
    ]);
  }
  assert.match(errors('RelayType cone\nPrefix fe80::%1\n')[0]?.message ?? '', /zone index/);
});

test('InterfaceMTU: int16 from 1280 (values below pass Miredo’s checkconf but break the tunnel)', () => {
  assert.equal(config('RelayType cone\nInterfaceMTU 0x5dc\n').interfaceMtu, 1500);
  assert.equal(config('RelayType cone\nInterfaceMTU 65535\n').interfaceMtu, 65535);
  assert.deepEqual(formatted(errors('RelayType cone\nInterfaceMTU 1279\n')), [
    'miredo.conf:2: InterfaceMTU: 1279 is below the IPv6 minimum MTU of 1280',
  ]);
  assert.deepEqual(formatted(errors('RelayType cone\nInterfaceMTU 65536\n')), [
    'miredo.conf:2: InterfaceMTU: "65536" is not an MTU (expected an integer from 1280 to 65535)',
  ]);
});

test('BindAddress: IPv4 or host name, default 0.0.0.0', () => {
  assert.equal(config(`${SERVER}BindAddress localhost\n`).bindAddress, 'localhost');
  assert.equal(config(`${SERVER}BindAddress 10.0.0.1\n`).bindAddress, '10.0.0.1');
  assert.deepEqual(formatted(errors(`${SERVER}BindAddress 192.0.2.1/24\n`)), [
    'miredo.conf:2: BindAddress: "192.0.2.1/24" is not an IPv4 address or host name',
  ]);
});

test('BindPort: strtoul base 0, whole string, at most 65535', () => {
  assert.equal(config(`${SERVER}BindPort 3545\n`).bindPort, 3545);
  assert.equal(config(`${SERVER}BindPort 06731\n`).bindPort, 3545);
  assert.equal(config(`${SERVER}BindPort 0xdd9\n`).bindPort, 3545);
  assert.deepEqual(formatted(errors(`# c\n${SERVER}BindPort http\n`)), [
    'miredo.conf:3: BindPort: "http" is not a port number',
  ]);
  assert.deepEqual(formatted(errors(`${SERVER}BindPort 65536\n`)), [
    'miredo.conf:2: BindPort: "65536" is not a port number (maximum 65535)',
  ]);
  assert.equal(errors(`${SERVER}BindPort 08\n`).length, 1);
});

test('InterfaceName: at most 15 characters, a name the kernel accepts', () => {
  assert.equal(config(`${SERVER}InterfaceName ${'t'.repeat(15)}\n`).interfaceName, 't'.repeat(15));
  assert.equal(config(`${SERVER}InterfaceName teredo%d\n`).interfaceName, 'teredo%d');
  assert.deepEqual(formatted(errors(`${SERVER}InterfaceName ${'t'.repeat(16)}\n`)), [
    `miredo.conf:2: InterfaceName: "${'t'.repeat(16)}" is too long for an interface name (at most 15 characters)`,
  ]);
  for (const name of ['a/b', 'a:1', '.', '..']) {
    assert.match(
      errors(`${SERVER}InterfaceName ${name}\n`)[0]?.message ?? '',
      /not a valid interface name/,
      name,
    );
  }
});

test('SyslogFacility: every facility Miredo knows, case-insensitively', () => {
  for (const facility of [
    'auth',
    'authpriv',
    'cron',
    'daemon',
    'ftp',
    'kern',
    'lpr',
    'mail',
    'news',
    'syslog',
    'user',
    'uucp',
  ]) {
    assert.equal(config(`${SERVER}SyslogFacility ${facility.toUpperCase()}\n`).syslogFacility, facility);
  }
  for (let n = 0; n <= 7; n++)
    assert.equal(config(`${SERVER}SyslogFacility local${n}\n`).syslogFacility, `local${n}`);
});

test('an unknown SyslogFacility is a warning and the default is kept, as in Miredo', () => {
  const result = parse(`${SERVER}SyslogFacility local8\n`);
  assert.ok(result.ok);
  assert.equal(result.config.syslogFacility, 'daemon');
  assert.equal(result.warnings.length, 1);
  assert.match(
    formatDiagnostic(result.warnings[0]!),
    /^miredo\.conf:2: SyslogFacility: "local8" is not a syslog facility/,
  );
});

test('the first occurrence wins; repeats, in any case, are superfluous', () => {
  const result = parse(`${SERVER}BindPort 1\nbindport 2\nBINDPORT x\n`);
  assert.ok(result.ok);
  assert.equal(result.config.bindPort, 1);
  assert.deepEqual(formatted(result.warnings), [
    'miredo.conf:3: bindport: duplicate directive (already set at line 2); ignored',
    'miredo.conf:4: BINDPORT: duplicate directive (already set at line 2); ignored',
  ]);
});

test('unknown directives are superfluous, all of them reported (Miredo stops at 5)', () => {
  const names = ['RefreshInterval', 'HostName', 'a', 'b', 'c', 'd', 'e'];
  const result = parse(SERVER + names.map((n) => `${n} 1\n`).join(''));
  assert.ok(result.ok);
  assert.deepEqual(
    result.warnings.map((w) => [w.line, w.directive, w.message]),
    names.map((n, i) => [i + 2, n, 'unknown directive; ignored']),
  );
});

test('errors and warnings are each in line order', () => {
  const result = parse('zzz 1\nBindPort x\nfoo\nServerAddress ::1\nInterfaceMTU 1\n');
  assert.ok(!result.ok);
  assert.deepEqual(
    result.errors.map((d) => d.line),
    [2, 4],
  );
  assert.deepEqual(
    result.warnings.map((d) => d.line),
    [1, 3, 5],
  );
});

test('formatDiagnostic follows file:line: directive: message', () => {
  assert.equal(
    formatDiagnostic({
      file: 'miredo.conf',
      line: 3,
      directive: 'BindPort',
      severity: 'error',
      message: '"http" is not a port number',
    }),
    'miredo.conf:3: BindPort: "http" is not a port number',
  );
  assert.equal(
    formatDiagnostic({ file: '/etc/miredo/miredo.conf', line: 0, severity: 'error', message: 'cannot read' }),
    '/etc/miredo/miredo.conf:0: cannot read',
  );
});

test('property: arbitrary text never throws; a success is a valid config, a failure has errors', () => {
  const line = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc
      .tuple(
        fc.constantFrom(
          'RelayType',
          'ServerAddress',
          'ServerAddress2',
          'BindPort',
          'BindAddress',
          'Prefix',
          'InterfaceMTU',
          'InterfaceName',
          'SyslogFacility',
          'PeerTableCapacity',
          'DataplaneWorkers',
          'Other',
        ),
        fc.string({ maxLength: 20 }),
      )
      .map(([n, v]) => `${n} ${v}`),
  );
  fc.assert(
    fc.property(
      fc.array(line, { maxLength: 12 }),
      fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      (lines, server) => {
        const result = parse(lines.join('\n'), server === undefined ? {} : { serverOverride: server });
        if (result.ok) assert.ok(MiredoConfigSchema.safeParse(result.config).success);
        else assert.ok(result.errors.length > 0);
        for (const d of [...(result.ok ? [] : result.errors), ...result.warnings]) {
          assert.ok(d.file === F || d.file === '(command line)');
        }
      },
    ),
  );
});

test('MetricsListen: PORT on loopback, IPV4:PORT, [IPV6]:PORT; absent by default; bad values refused', () => {
  const read = (value: string) => parseMiredoConf(`RelayType cone\nMetricsListen ${value}\n`, 'm.conf');
  const settingOf = (value: string) => {
    const result = read(value);
    return result.ok ? result.config.metricsListen : null;
  };
  assert.deepEqual(settingOf('9473'), { address: '127.0.0.1', port: 9473 });
  assert.deepEqual(settingOf('0.0.0.0:9100'), { address: '0.0.0.0', port: 9100 });
  assert.deepEqual(settingOf('[::1]:9473'), { address: '::1', port: 9473 });
  const absent = parseMiredoConf('RelayType cone\n', 'm.conf');
  assert.ok(absent.ok && absent.config.metricsListen === undefined);
  for (const bad of ['0', '70000', 'localhost:9473', '::1:9473', '[::1]', '1.2.3.400:80']) {
    assert.equal(read(bad).ok, false, bad);
  }
});

test('LocalDiscovery: the boolean words and numbers of Miredo; a relay does not read it', () => {
  const value = (text: string): boolean => config(`${SERVER}LocalDiscovery ${text}\n`).localDiscovery;
  for (const yes of ['yes', 'TRUE', 'on', 'Enabled', '1', '0x10', '-3', '010'])
    assert.equal(value(yes), true, yes);
  for (const no of ['no', 'False', 'OFF', 'disabled', '0', '0x0', '00']) assert.equal(value(no), false, no);
  assert.deepEqual(formatted(errors(`${SERVER}LocalDiscovery maybe\n`)), [
    'miredo.conf:2: LocalDiscovery: "maybe" is not a boolean (expected yes, no, true, false, on, off, enabled, disabled or a number)',
  ]);
  const relay = parse('RelayType cone\nLocalDiscovery no\n');
  assert.ok(relay.ok);
  assert.deepEqual(formatted(relay.warnings), [
    'miredo.conf:2: LocalDiscovery: only used in client mode; ignored',
  ]);
});
