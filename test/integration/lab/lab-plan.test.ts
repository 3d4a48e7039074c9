/**
 * The lab's pure parts, no root needed: the address plan, daemon configuration and
 * command lines (checked by Debian's miredo-checkconf when it is installed), ping output
 * parsing and Teredo address decoding.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  captureFilter,
  clientConfig,
  daemonCommand,
  describeTeredoAddress,
  findTeredoAddress,
  ipv6AddressesFromJson,
  parseCapturedLine,
  parsePingOutput,
  pingArguments,
  planLab,
  relayConfig,
  serverConfig,
} from '../../../scripts/lab/index.js';

describe('lab plan', () => {
  const plan = planLab(
    {
      nats: [
        { name: 'nat-a', kind: 'cone', clients: ['alice', 'dave'] },
        { name: 'nat-b', kind: 'symmetric', clients: ['bob'], udpTimeoutSeconds: 120 },
      ],
      directClients: ['eve'],
    },
    'abc123',
  );

  it('has the fixed public nodes with their addresses', () => {
    assert.deepEqual(
      [...plan.nodes.keys()],
      ['wan', 'server', 'relay', 'ipv6host', 'nat-a', 'nat-b', 'alice', 'dave', 'bob', 'eve'],
    );
    const server = plan.nodes.get('server');
    assert.ok(server?.role === 'server');
    assert.deepEqual(server.ipv4, ['198.51.100.1', '198.51.100.2']);
    assert.deepEqual(server.ipv6, ['2001:db8:1::1']);
    const relay = plan.nodes.get('relay');
    assert.ok(relay?.role === 'relay');
    assert.deepEqual([relay.ipv4, relay.ipv6], [['198.51.100.3'], ['2001:db8:1::3']]);
    const host = plan.nodes.get('ipv6host');
    assert.ok(host?.role === 'ipv6host');
    assert.deepEqual([host.ipv4, host.ipv6], [[], ['2001:db8:1::2']]);
    assert.deepEqual(host.teredoRoute, { prefix: '2001::/32', via: '2001:db8:1::3' });
  });

  it('numbers NATs and their clients, with the NAT as gateway', () => {
    const natB = plan.nodes.get('nat-b');
    assert.ok(natB?.role === 'nat');
    assert.deepEqual(
      [natB.kind, natB.wanIPv4, natB.lanIPv4, natB.lanPrefix],
      ['symmetric', '198.51.100.11', '10.2.0.1', '10.2.0.0/24'],
    );
    assert.equal(natB.udpTimeoutSeconds, 120);
    const dave = plan.nodes.get('dave');
    assert.ok(dave?.role === 'client');
    assert.deepEqual([dave.ipv4, dave.nat, dave.gatewayIPv4], ['10.1.0.3', 'nat-a', '10.1.0.1']);
    assert.deepEqual(dave.portRange, [20100, 20199], "dave's ephemeral ports are his alone behind nat-a");
    assert.deepEqual(dave.attachment, { node: 'nat-a', bridge: 'lan0', port: 'c1' });
    const eve = plan.nodes.get('eve');
    assert.ok(eve?.role === 'client');
    assert.deepEqual(
      [eve.ipv4, eve.nat, eve.gatewayIPv4, eve.attachment.node],
      ['198.51.100.100', null, null, 'wan'],
    );
    assert.equal(eve.portRange, null);
  });

  it('gives every namespace and every WAN bridge port a distinct name carrying the lab id', () => {
    const namespaces = [...plan.nodes.values()].map((node) => node.netns);
    assert.equal(new Set(namespaces).size, namespaces.length);
    assert.ok(namespaces.every((name) => name.startsWith('mtl-abc123-')));
    const ports = [...plan.nodes.values()].flatMap((node) =>
      'bridgePort' in node
        ? [node.bridgePort]
        : node.role === 'client' && node.attachment.node === 'wan'
          ? [node.attachment.port]
          : [],
    );
    assert.equal(ports.length, 6);
    assert.equal(new Set(ports).size, ports.length);
    assert.ok(ports.every((port) => port.length <= 15));
  });

  it('refuses duplicate, reserved and malformed names', () => {
    assert.throws(() => planLab({ directClients: ['x', 'x'] }, 'id'), /x is already used/);
    assert.throws(() => planLab({ directClients: ['relay'] }, 'id'), /relay is reserved/);
    assert.throws(
      () => planLab({ nats: [{ name: 'Bad_Name', kind: 'cone', clients: [] }] }, 'id'),
      /node names/,
    );
    assert.throws(() => planLab({}, 'Not-An-Id'), /lab id/);
  });
});

describe('daemon configuration and command lines', () => {
  const paths = { config: '/tmp/x/relay.conf', pidFile: '/tmp/x/relay.pid', jail: '/tmp/x/jail' };
  const context = {
    repoRoot: '/repo/',
    nodeBinary: '/usr/bin/node',
    debianServer: '/usr/sbin/miredo-server',
    debianMiredo: '/usr/sbin/miredo',
  };

  it('writes one directive per line, each ending in a newline (Miredo skips an unterminated last line)', () => {
    assert.equal(serverConfig({ primaryIPv4: '198.51.100.1' }), 'ServerBindAddress 198.51.100.1\n');
    assert.equal(
      serverConfig({ primaryIPv4: '198.51.100.1', secondaryIPv4: '198.51.100.7', extra: ['RSRateLimit 0'] }),
      'ServerBindAddress 198.51.100.1\nServerBindAddress2 198.51.100.7\nRSRateLimit 0\n',
    );
    assert.equal(
      relayConfig({
        relayType: 'cone',
        interfaceName: 'teredo',
        bindAddress: '198.51.100.3',
        bindPort: 3545,
      }),
      'RelayType cone\nInterfaceName teredo\nBindAddress 198.51.100.3\nBindPort 3545\n',
    );
    assert.equal(
      clientConfig({ serverAddress: '198.51.100.1', interfaceName: 'teredo' }),
      'RelayType client\nServerAddress 198.51.100.1\nInterfaceName teredo\n',
    );
  });

  it(
    "Debian's miredo-checkconf accepts the client and relay configurations",
    { skip: !existsSync('/usr/sbin/miredo-checkconf') && 'miredo-checkconf not installed' },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'mtl-conf-'));
      try {
        const files = {
          client: clientConfig({ serverAddress: '198.51.100.1', interfaceName: 'teredo', bindPort: 3545 }),
          cone: relayConfig({ relayType: 'cone', interfaceName: 'teredo', bindAddress: '198.51.100.3' }),
          restricted: relayConfig({
            relayType: 'restricted',
            interfaceName: 'teredo',
            bindAddress: '198.51.100.3',
          }),
        };
        for (const [name, text] of Object.entries(files)) {
          const file = join(dir, `${name}.conf`);
          writeFileSync(file, text);
          // Throws (exit 255) on any diagnostic, even a warning.
          execFileSync('/usr/sbin/miredo-checkconf', [file], { stdio: 'pipe' });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('runs ours unprivileged in a chroot and Debian with its own users, all in the foreground', () => {
    assert.deepEqual(daemonCommand('ours', 'relay', paths, context), {
      command: '/usr/bin/node',
      args: [
        '/repo/bin/miredo',
        '-f',
        '-c',
        paths.config,
        '-p',
        paths.pidFile,
        '-u',
        'nobody',
        '-t',
        paths.jail,
      ],
    });
    assert.equal(daemonCommand('ours', 'server', paths, context).args[0], '/repo/bin/miredo-server');
    assert.deepEqual(daemonCommand('debian', 'server', paths, context), {
      command: '/usr/sbin/miredo-server',
      args: ['-f', '-c', paths.config, '-p', paths.pidFile, '-u', 'miredo-server'],
    });
    assert.deepEqual(daemonCommand('debian', 'client', paths, context), {
      command: '/usr/sbin/miredo',
      args: ['-f', '-c', paths.config, '-p', paths.pidFile, '-u', 'miredo'],
    });
  });
});

describe('ping output', () => {
  const ok = (stdout: string, code = 0) => ({ code, signal: null, stdout, stderr: '' });

  it('asks for replies until the deadline, IPv6 only, numeric', () => {
    assert.deepEqual(pingArguments('2001:db8:1::2'), [
      '-6',
      '-n',
      '-c',
      '3',
      '-i',
      '0.2',
      '-w',
      '10',
      '2001:db8:1::2',
    ]);
    assert.deepEqual(pingArguments('::1', { count: 1, intervalSeconds: 1, deadlineSeconds: 2, size: 1200 }), [
      '-6',
      '-n',
      '-c',
      '1',
      '-i',
      '1',
      '-w',
      '2',
      '-s',
      '1200',
      '::1',
    ]);
  });

  it('reads RTTs and counts, leaving duplicates out', () => {
    const result = parsePingOutput(
      'alice',
      '2001:db8:1::2',
      ok(
        [
          'PING 2001:db8:1::2(2001:db8:1::2) 56 data bytes',
          '64 bytes from 2001:db8:1::2: icmp_seq=1 ttl=63 time=0.668 ms',
          '64 bytes from 2001:db8:1::2: icmp_seq=2 ttl=63 time=12.5 ms',
          '64 bytes from 2001:db8:1::2: icmp_seq=2 ttl=63 time=12.9 ms (DUP!)',
          '64 bytes from 2001:db8:1::2: icmp_seq=4 ttl=63 time=0.303 ms',
          '',
          '--- 2001:db8:1::2 ping statistics ---',
          '4 packets transmitted, 3 received, +1 duplicates, 25% packet loss, time 612ms',
          'rtt min/avg/max/mdev = 0.303/0.445/0.668/0.159 ms',
        ].join('\n'),
      ),
    );
    assert.deepEqual(result.rttsMs, [0.668, 12.5, 0.303]);
    assert.equal(result.transmitted, 4);
    assert.equal(result.received, 3);
  });

  it('reports no replies, and unreachable errors as such', () => {
    const lost = parsePingOutput(
      'bob',
      'x',
      ok('--- x ping statistics ---\n15 packets transmitted, 0 received, 100% packet loss, time 2800ms\n', 1),
    );
    assert.deepEqual([lost.transmitted, lost.received, lost.rttsMs], [15, 0, []]);
    const unreachable = parsePingOutput('bob', 'x', {
      code: 2,
      signal: null,
      stdout: '',
      stderr: 'ping: connect: Network is unreachable\n',
    });
    assert.deepEqual([unreachable.transmitted, unreachable.received], [0, 0]);
    assert.match(unreachable.transcript, /Network is unreachable/);
  });
});

describe('Teredo addresses on an interface', () => {
  it('decodes the reference test vector', () => {
    assert.deepEqual(describeTeredoAddress('2001:0:c000:201:8000:cfc6:3fff:fd74'), {
      address: '2001:0:c000:201:8000:cfc6:3fff:fd74',
      server: '192.0.2.1',
      mappedIPv4: '192.0.2.139',
      mappedPort: 12345,
      cone: true,
    });
    assert.equal(describeTeredoAddress('2001:db8::1'), null);
    assert.equal(describeTeredoAddress('not an address'), null);
  });

  it('finds the Teredo address among what `ip -j -6 addr` lists', () => {
    const json = JSON.stringify([
      {
        ifname: 'teredo',
        addr_info: [
          { family: 'inet6', local: '2001:0:c633:6401:20cf:4c6f:39cc:9bf5', prefixlen: 32 },
          { family: 'inet6', local: 'fe80::ffff:ffff:ffff', prefixlen: 64 },
        ],
      },
    ]);
    const addresses = ipv6AddressesFromJson(json);
    assert.deepEqual(addresses, ['2001:0:c633:6401:20cf:4c6f:39cc:9bf5', 'fe80::ffff:ffff:ffff']);
    const found = findTeredoAddress(addresses);
    assert.equal(found?.mappedIPv4, '198.51.100.10');
    assert.equal(found?.mappedPort, 45968);
    assert.equal(found?.server, '198.51.100.1');
    assert.deepEqual(ipv6AddressesFromJson('garbage'), []);
    assert.equal(findTeredoAddress(['fe80::ffff:ffff:ffff']), null);
  });
});

describe('captured packets', () => {
  const line = (values: readonly string[]): string => values.join('\t');

  it('reads a relayed bubble with its origin indication', () => {
    const packet = parseCapturedLine(
      line([
        '0.184',
        '198.51.100.1',
        '3544',
        '198.51.100.11',
        '34167',
        'fe80::28a3:dc10:cce6:f82e',
        '2001:0:c633:6401:cbb:7a88:39cc:9bf4',
        '59',
        '0',
        '',
        '198.51.100.10',
        '50651',
        '',
      ]),
    );
    assert.deepEqual(packet, {
      time: 0.184,
      udp: { src: '198.51.100.1', srcPort: 3544, dst: '198.51.100.11', dstPort: 34167 },
      ipv6: { src: 'fe80::28a3:dc10:cce6:f82e', dst: '2001:0:c633:6401:cbb:7a88:39cc:9bf4' },
      kind: 'bubble',
      origin: { ipv4: '198.51.100.10', port: 50651 },
      nonce: null,
    });
  });

  it('tells RS, RA and echoes apart, native or tunnelled, and keeps the nonce', () => {
    const rs = parseCapturedLine(
      line([
        '0',
        '198.51.100.10',
        '50651',
        '198.51.100.1',
        '3544',
        'fe80::ffff:ffff:ffff',
        'ff02::2',
        '58',
        '8',
        '133',
        '',
        '',
        '94:d8:57:21:62:ee:f4:a8',
      ]),
    );
    assert.equal(rs?.kind, 'router-solicitation');
    assert.equal(rs?.nonce, '94d8572162eef4a8');
    const nativeEcho = parseCapturedLine(
      line(['0.2', '', '', '', '', '2001:0:c633:6401::1', '2001:db8:1::2', '58', '26', '128', '', '', '']),
    );
    assert.deepEqual([nativeEcho?.kind, nativeEcho?.udp], ['echo-request', null]);
    const arp = parseCapturedLine(line(['0.3', '', '', '', '', '', '', '', '', '', '', '', '']));
    assert.deepEqual([arp?.kind, arp?.ipv6], ['not-ipv6', null]);
    assert.equal(parseCapturedLine('garbage'), null);
  });

  it('always lets the end marker through the capture filter', () => {
    assert.equal(captureFilter(40000, {}), null);
    assert.equal(captureFilter(40000, { inboundOnly: true }), 'inbound');
    assert.equal(
      captureFilter(40000, { filter: 'udp port 3544', inboundOnly: true }),
      'inbound and ((udp port 3544) or (host 127.0.0.1 and udp dst port 40000))',
    );
  });
});
