import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renumberDescriptors } from '../../../src/bootstrap/engine-process.js';
import { closeResources, openResources } from '../../../src/bootstrap/resources.js';
import type { DaemonSettings } from '../../../src/config/settings-schema.js';
import { captureLog, FakeOs, SERVER_SETTINGS } from '../../support/fakes.js';

const relay: DaemonSettings = {
  role: 'relay',
  relayType: 'cone',
  interfaceName: 'teredo',
  syslogFacility: 'daemon',
  prefix: 0x20010000,
  interfaceMtu: 1400,
  bindAddress: '0.0.0.0',
  bindPort: 0,
  peerTableCapacity: 1024,
  dataplaneWorkers: 0,
};

test('relay: the static tunnel is set up exactly as Miredo does, then one socket per worker on one port', async () => {
  const os = new FakeOs();
  const result = await openResources(relay, 2, os);
  assert.ok(result.ok);
  assert.deepEqual(os.calls, [
    'openTun teredo 2',
    'setMtu teredo 1400',
    'setLinkUp teredo true',
    'addAddress6 7 fe80::ffff:ffff:ffff/64',
    'addRoute6 7 2001::/32 1024',
    'openUdp4 0.0.0.0:0 reuseport rcvbuf 4194304',
    'localPort 12',
    'openUdp4 0.0.0.0:40000 reuseport rcvbuf 4194304',
  ]);
  if (!result.ok) return;
  assert.deepEqual(result.resources.tunnel, { name: 'teredo', index: 7 });
  assert.deepEqual(result.resources.tunFds, [10, 11]);
  assert.deepEqual(result.resources.udpFds, [12, 13]);
  assert.equal(result.resources.boundPort, 40000);
  assert.equal(result.resources.baseline.up, true);
  assert.equal(result.resources.baseline.mtu, 1400);

  os.calls.length = 0;
  await closeResources(result.resources, result.resources.baseline, os, captureLog().log);
  assert.deepEqual(os.calls, [
    'delRoute6 7 2001::/32 1024',
    'delAddress6 7 fe80::ffff:ffff:ffff/64',
    'closeFd 10',
    'closeFd 11',
    'closeFd 12',
    'closeFd 13',
  ]);
});

test('client: the tunnel stays unconfigured', async () => {
  const os = new FakeOs();
  const client: DaemonSettings = {
    role: 'client',
    interfaceName: null,
    syslogFacility: 'daemon',
    serverName: 's',
    serverAddress: '198.51.100.1',
    serverAddress2: null,
    fallbackServers: [],
    localDiscovery: false,
    portMapping: 'off',
    portMappingLifetime: 3600,
    bindAddress: '0.0.0.0',
    bindPort: 3545,
    peerTableCapacity: 1024,
    dataplaneWorkers: 0,
  };
  const result = await openResources(client, 1, os);
  assert.ok(result.ok);
  assert.deepEqual(os.calls, [
    'openTun - 1',
    'openUdp4 0.0.0.0:3545 reuseport rcvbuf 4194304',
    'localPort 11',
  ]);
});

const DISCOVERING: DaemonSettings = {
  role: 'client',
  interfaceName: null,
  syslogFacility: 'daemon',
  serverName: 's',
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

test('client with LocalDiscovery: the group joined on the link towards the server, announcements sent there', async () => {
  const os = new FakeOs();
  const result = await openResources(DISCOVERING, 2, os);
  assert.ok(result.ok);
  assert.deepEqual(os.calls, [
    'openTun - 2',
    'openUdp4 0.0.0.0:0 reuseport rcvbuf 4194304',
    'localPort 12',
    'openUdp4 0.0.0.0:40000 reuseport rcvbuf 4194304',
    'localLinkTowards 198.51.100.1:3544 0.0.0.0',
    'openMulticast4 224.0.0.253:3544 10.0.0.2',
    'setMulticastSend 12 10.0.0.2',
    'setMulticastSend 13 10.0.0.2',
  ]);
  if (result.ok) {
    assert.deepEqual(result.resources.discovery, {
      fd: 14,
      link: { name: 'eth0', address: '10.0.0.2', prefixLength: 24 },
    });
    assert.equal(result.resources.discoveryProblem, null);
    await closeResources(result.resources, result.resources.baseline, os, captureLog().log);
    assert.ok(os.calls.includes('closeFd 14'), 'closed with the others');
    assert.deepEqual(
      renumberDescriptors({ tun: [10, 11], udp: [12, 13], raw: null, discovery: 14 }).inEngine,
      {
        tun: [4, 5],
        udp: [6, 7],
        raw: null,
        discovery: 8,
      },
    );
  }
});

test('client with LocalDiscovery: no route or no group only turns discovery off, and says why', async () => {
  const os = new FakeOs();
  os.localLink = null;
  const noRoute = await openResources(DISCOVERING, 1, os);
  assert.ok(noRoute.ok);
  if (noRoute.ok) {
    assert.equal(noRoute.resources.discovery, null);
    assert.equal(noRoute.resources.discoveryProblem, 'no IPv4 interface for a route to 198.51.100.1');
  }
  const refused = new FakeOs();
  refused.failOn = 'openMulticast4';
  const noGroup = await openResources(DISCOVERING, 1, refused);
  assert.ok(noGroup.ok);
  if (noGroup.ok) {
    assert.equal(noGroup.resources.discovery, null);
    assert.match(noGroup.resources.discoveryProblem ?? '', /^224\.0\.0\.253:3544 on eth0: /);
  }
});

test('server: two sockets on port 3544 and the raw socket, no tunnel', async () => {
  const os = new FakeOs();
  const server = SERVER_SETTINGS;
  const result = await openResources(server, 4, os);
  assert.ok(result.ok);
  assert.deepEqual(os.calls, [
    'openUdp4 192.0.2.1:3544 rcvbuf 4194304',
    'openUdp4 192.0.2.2:3544 rcvbuf 4194304',
    'openRaw6',
  ]);
  if (result.ok) {
    assert.equal(result.resources.tunnel, null);
    assert.deepEqual(result.resources.udpFds, [10, 11]);
    assert.equal(result.resources.rawFd, 12);
  }
});

test('a failure closes whatever was opened and says what failed', async () => {
  const os = new FakeOs();
  os.failOn = 'addRoute6';
  const result = await openResources(relay, 2, os);
  assert.deepEqual(result, {
    ok: false,
    message: 'Cannot add the Teredo prefix route to teredo: addRoute6 7 2001::/32 1024 failed',
  });
  assert.deepEqual(os.closed, [10, 11]);

  const second = new FakeOs();
  second.failOn = 'openUdp4 192.0.2.2';
  const server = await openResources(
    {
      role: 'server',
      syslogFacility: 'daemon',
      serverBindAddress: '192.0.2.1',
      serverBindAddress2: '192.0.2.2',
      rsRateLimit: { perSecond: 50, burst: 100 },
      forwardRateLimit: { perSecond: 1000, burst: 2000 },
      prefix: 0,
      interfaceMtu: 1280,
    },
    1,
    second,
  );
  assert.equal(server.ok, false);
  if (!server.ok) assert.match(server.message, /^Error \(192\.0\.2\.2\): /);
  assert.deepEqual(second.closed, [10]);
});

test('descriptors are renumbered from 4 in the engine, in a fixed order', () => {
  assert.deepEqual(renumberDescriptors({ tun: [20, 21], udp: [30, 31], raw: null }), {
    passed: [20, 21, 30, 31],
    inEngine: { tun: [4, 5], udp: [6, 7], raw: null },
  });
  assert.deepEqual(renumberDescriptors({ tun: [], udp: [8, 9], raw: 10 }), {
    passed: [8, 9, 10],
    inEngine: { tun: [], udp: [4, 5], raw: 6 },
  });
});

test('MetricsListen: the listening socket is opened with the others and closed with them', async () => {
  const os = new FakeOs();
  const { log } = captureLog();
  const settings = { ...SERVER_SETTINGS, metricsListen: { address: '127.0.0.1', port: 9473 } };
  const opened = await openResources(settings, 1, os);
  assert.ok(opened.ok);
  assert.ok(os.calls.includes('openTcpListener 127.0.0.1:9473'));
  const fd = opened.resources.metricsFd;
  assert.ok(fd !== null);
  await closeResources(opened.resources, opened.resources.baseline, os, log);
  assert.ok(os.closed.includes(fd));
  const without = await openResources(SERVER_SETTINGS, 1, new FakeOs());
  assert.ok(without.ok && without.resources.metricsFd === null);
});

test('the listening control and metrics sockets follow the others into the engine', () => {
  assert.deepEqual(renumberDescriptors({ tun: [20], udp: [30], raw: null, control: 40, metrics: 41 }), {
    passed: [20, 30, 40, 41],
    inEngine: { tun: [4], udp: [5], raw: null, control: 6, metrics: 7 },
  });
});
