import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseBootstrapToEngine,
  parseEngineToBootstrap,
} from '../../../src/ipc/bootstrap-engine-messages.js';
import {
  parseDataplaneTask,
  parseEngineToWorker,
  parseWorkerToEngine,
} from '../../../src/ipc/engine-worker-messages.js';
import type { InitMessage } from '../../../src/ipc/bootstrap-engine-messages.js';
import { RELAY_INIT } from '../../support/fakes.js';

const relayInit: InitMessage = RELAY_INIT;

const serverInit: InitMessage = {
  type: 'init',
  config: {
    role: 'server',
    serverBindAddress: '192.0.2.1',
    serverBindAddress2: '192.0.2.2',
    prefix: 0x20010000,
    interfaceMtu: 1280,
    rsRateLimit: { perSecond: 50, burst: 100 },
    forwardRateLimit: { perSecond: 1000, burst: 2000 },
  },
  fds: { tun: [], udp: [4, 5], raw: 6 },
  interface: null,
  uid: 100,
  gid: 101,
  chrootDir: '/var/empty',
  poolSize: 1,
  logLevel: 'debug',
};

function assertInvalid(result: { ok: boolean }, what: string): void {
  assert.equal(result.ok, false, `${what} should be refused`);
}

test('valid init messages for each role parse unchanged', () => {
  for (const init of [relayInit, serverInit]) {
    const parsed = parseBootstrapToEngine(init);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    if (parsed.ok) assert.deepEqual(parsed.message, init);
  }
  const client = {
    ...relayInit,
    config: {
      role: 'client',
      serverName: 'teredo.example',
      serverAddress: '198.51.100.1',
      serverAddress2: null,
      fallbackServers: [],
      bindAddress: '0.0.0.0',
      bindPort: 0,
      peerTableCapacity: 1024,
      localDiscovery: true,
      portMapping: 'off',
      portMappingLifetime: 3600,
    },
  };
  assert.ok(parseBootstrapToEngine(client).ok);
  const discovering = {
    ...client,
    fds: { ...client.fds, discovery: 20 },
    localLink: { address: '10.0.0.2', prefixLength: 24 },
  };
  assert.ok(parseBootstrapToEngine(discovering).ok, 'a client with its discovery socket and link');
  for (const wrong of [
    { ...discovering, localLink: undefined },
    { ...client, localLink: discovering.localLink },
    { ...discovering, fds: { ...discovering.fds, discovery: discovering.fds.udp[0] } },
    { ...discovering, localLink: { address: '10.0.0.2', prefixLength: 33 } },
    { ...discovering, localLink: { address: 'eth0', prefixLength: 24 } },
    { ...relayInit, fds: { ...relayInit.fds, discovery: 20 }, localLink: discovering.localLink },
  ]) {
    assert.equal(parseBootstrapToEngine(wrong).ok, false, JSON.stringify(wrong.localLink));
  }
});

test('init messages with wrong privileges or descriptors are refused', () => {
  assertInvalid(parseBootstrapToEngine({ ...relayInit, uid: 0 }), 'uid 0');
  assertInvalid(parseBootstrapToEngine({ ...relayInit, gid: 0 }), 'gid 0');
  assertInvalid(
    parseBootstrapToEngine({ ...relayInit, fds: { tun: [1, 5], udp: [6, 7], raw: null } }),
    'stdio fd',
  );
  assertInvalid(
    parseBootstrapToEngine({ ...relayInit, fds: { tun: [4, 5], udp: [5, 7], raw: null } }),
    'duplicate fd',
  );
  assertInvalid(
    parseBootstrapToEngine({ ...relayInit, fds: { tun: [4], udp: [6, 7], raw: null } }),
    'queue count',
  );
  assertInvalid(
    parseBootstrapToEngine({ ...relayInit, fds: { tun: [4, 5], udp: [6, 7], raw: 8 } }),
    'raw for a relay',
  );
  assertInvalid(parseBootstrapToEngine({ ...relayInit, interface: null }), 'relay without interface');
  assertInvalid(
    parseBootstrapToEngine({ ...serverInit, fds: { tun: [], udp: [4], raw: 6 } }),
    'one server socket',
  );
  assertInvalid(
    parseBootstrapToEngine({ ...serverInit, fds: { tun: [], udp: [4, 5], raw: null } }),
    'no raw socket',
  );
  assertInvalid(parseBootstrapToEngine({ ...relayInit, chrootDir: 'relative' }), 'relative chroot');
  assertInvalid(parseBootstrapToEngine({ ...relayInit, poolSize: 0 }), 'no worker');
  assertInvalid(parseBootstrapToEngine({ ...relayInit, logLevel: 'trace' }), 'unknown level');
  assertInvalid(parseBootstrapToEngine({ ...relayInit, extra: true }), 'unknown key');
  assertInvalid(
    parseBootstrapToEngine({ ...relayInit, config: { ...relayInit.config, interfaceMtu: 1000 } }),
    'MTU below 1280',
  );
  assertInvalid(
    parseBootstrapToEngine({ ...relayInit, config: { ...relayInit.config, bindAddress: 'host' } }),
    'name',
  );
  assertInvalid(
    parseBootstrapToEngine({ ...relayInit, interface: { name: 'x'.repeat(16), index: 9 } }),
    'long name',
  );
});

test('stop, summary, reconfigure and reply messages', () => {
  assert.ok(parseBootstrapToEngine({ type: 'stop' }).ok);
  assert.ok(parseBootstrapToEngine({ type: 'summary', id: 3 }).ok);
  assert.ok(parseBootstrapToEngine({ type: 'reconfigure', config: relayInit.config }).ok);
  assert.ok(parseBootstrapToEngine({ type: 'reply', id: 3, result: { ok: true } }).ok);
  assert.ok(
    parseBootstrapToEngine({ type: 'reply', id: 3, result: { ok: false, kind: 'refused', reason: 'no' } }).ok,
  );
  assertInvalid(
    parseBootstrapToEngine({ type: 'reply', id: 3, result: { ok: false } }),
    'refusal without reason',
  );
  assertInvalid(parseBootstrapToEngine({ type: 'reply', id: -1, result: { ok: true } }), 'negative id');
  assertInvalid(parseBootstrapToEngine({ type: 'stop', now: true }), 'extra key');
  assertInvalid(parseBootstrapToEngine({ type: 'summary' }), 'summary without id');
  assertInvalid(parseBootstrapToEngine({ type: 'exec', command: 'sh' }), 'unknown type');
  for (const junk of [null, undefined, 42, 'stop', [], {}])
    assertInvalid(parseBootstrapToEngine(junk), String(junk));
});

test('engine → bootstrap: ready and summary-report', () => {
  assert.ok(parseEngineToBootstrap({ type: 'ready', pid: 1234, workers: 2 }).ok);
  assertInvalid(parseEngineToBootstrap({ type: 'ready', pid: 0, workers: 2 }), 'pid 0');
  const summary = {
    role: 'relay',
    pid: 1234,
    uptimeSeconds: 1.5,
    workers: 2,
    uid: 65534,
    gid: 65534,
    maxRssBytes: 1 << 20,
    counters: { received: 3, 'drop-loop': 1 },
  };
  assert.ok(parseEngineToBootstrap({ type: 'summary-report', id: 1, summary }).ok);
  assertInvalid(
    parseEngineToBootstrap({ type: 'summary-report', id: 1, summary: { ...summary, secret: 1 } }),
    'extra',
  );
});

test('engine → bootstrap: every helper request in its valid form', () => {
  const requests = [
    { type: 'set-address', id: 1, ifindex: 9, address: '2001:0:c633:6401::1', prefixLen: 32 },
    { type: 'set-address', id: 1, ifindex: 9, address: '20010000c63364010000000000000001', prefixLen: 32 },
    { type: 'del-address', id: 2, ifindex: 9, address: 'fe80::ffff:ffff:ffff', prefixLen: 64 },
    { type: 'set-mtu', id: 3, ifindex: 9, mtu: 1280 },
    { type: 'set-mtu', id: 3, ifindex: 9, mtu: 1000 },
    { type: 'set-route', id: 4, ifindex: 9, dst: '::', prefixLen: 0, metric: 1029 },
    { type: 'del-route', id: 5, ifindex: 9, dst: '2001::', prefixLen: 32, metric: 1024 },
    { type: 'link', id: 6, ifindex: 9, up: false },
  ];
  for (const request of requests) {
    const parsed = parseEngineToBootstrap(request);
    assert.ok(parsed.ok, `${JSON.stringify(request)}: ${parsed.ok ? '' : parsed.error}`);
  }
});

test('engine → bootstrap: malformed helper requests are refused by the schema', () => {
  const bad = [
    { type: 'set-address', id: 1, ifindex: 9, address: 'not-an-address', prefixLen: 32 },
    { type: 'set-address', id: 1, ifindex: 9, address: '192.0.2.1', prefixLen: 32 },
    { type: 'set-address', id: 1, ifindex: 9, address: 'fe80::1%eth0', prefixLen: 64 },
    { type: 'set-address', id: 1, ifindex: 9, address: '2001::1', prefixLen: 129 },
    { type: 'set-address', id: 1, ifindex: 0, address: '2001::1', prefixLen: 32 },
    { type: 'set-address', id: 1, ifindex: 9, address: '2001::1' },
    { type: 'set-mtu', id: 1, ifindex: 9, mtu: -1 },
    { type: 'set-mtu', id: 1, ifindex: 9, mtu: 1280.5 },
    { type: 'set-mtu', id: 1, ifindex: '9', mtu: 1280 },
    { type: 'set-route', id: 1, ifindex: 9, dst: '::', prefixLen: 0 },
    { type: 'link', id: 1, ifindex: 9, up: 'yes' },
    { type: 'link', id: 1, ifindex: 9, up: true, name: 'eth0' },
    { type: 'run-hook', id: 1, script: '/bin/sh' },
  ];
  for (const request of bad) assertInvalid(parseEngineToBootstrap(request), JSON.stringify(request));
});

test('engine ↔ worker messages', () => {
  const counters = new SharedArrayBuffer(64);
  const jail = { dev: 2049n, ino: 2n };
  const relay = {
    workerIndex: 0,
    config: relayInit.config,
    tunFd: 4,
    udpFds: [6],
    rawFd: null,
    counters,
    jail,
  };
  const server = { ...relay, config: serverInit.config, tunFd: null, udpFds: [4, 5], rawFd: 6 };
  const shared = new SharedArrayBuffer(64);
  assert.ok(parseDataplaneTask({ ...relay, shared }).ok);
  assert.ok(parseDataplaneTask({ ...server, shared: null }).ok);
  assertInvalid(parseDataplaneTask({ ...relay, shared, jail: undefined }), 'no jail');
  assertInvalid(
    parseDataplaneTask({ ...relay, shared, jail: { dev: 2049, ino: 2 } }),
    'jail ids not bigints',
  );
  assertInvalid(parseDataplaneTask({ ...relay, shared, jail: { dev: -1n, ino: 2n } }), 'negative device');
  assertInvalid(parseDataplaneTask({ ...relay, shared, tunFd: 2 }), 'stdio fd');
  assertInvalid(parseDataplaneTask({ ...relay, shared, workerIndex: 64 }), 'index');
  assertInvalid(parseDataplaneTask({ ...relay, shared, udpFds: [4, 5, 6] }), 'three sockets');
  assertInvalid(
    parseDataplaneTask({ ...relay, shared, counters: new ArrayBuffer(8) }),
    'counters not shared',
  );
  assertInvalid(parseDataplaneTask({ ...relay, shared, port: {} }), 'unknown field');
  assert.ok(parseWorkerToEngine({ type: 'worker-ready', workerIndex: 3 }).ok);
  assertInvalid(parseWorkerToEngine({ type: 'worker-ready' }), 'no index');
  const slow = {
    type: 'slow-path',
    workerIndex: 0,
    from: 'udp',
    packet: new Uint8Array(40),
    address: 1,
    port: 3544,
    localAddress: 0x0a000002,
  };
  assert.ok(parseWorkerToEngine(slow).ok);
  assertInvalid(parseWorkerToEngine({ ...slow, packet: new Uint8Array(65536) }), 'packet too long');
  assertInvalid(parseWorkerToEngine({ ...slow, from: 'raw' }), 'unknown source');
  assertInvalid(parseWorkerToEngine({ ...slow, packet: [1, 2] }), 'not bytes');
  const reading = { type: 'worker-reading', workerIndex: 1, uid: 65534, gid: 65534 };
  assert.ok(parseWorkerToEngine(reading).ok);
  assertInvalid(parseWorkerToEngine({ ...reading, uid: -1 }), 'negative uid');
  assert.ok(parseWorkerToEngine({ type: 'worker-refused', workerIndex: 1, reason: 'uid 0, euid 0' }).ok);
  assertInvalid(
    parseWorkerToEngine({ type: 'worker-refused', workerIndex: 1, reason: 'x'.repeat(513) }),
    'reason too long',
  );
  for (const type of ['worker-start', 'worker-stop', 'worker-fault'])
    assert.ok(parseEngineToWorker({ type }).ok, type);
  assertInvalid(parseEngineToWorker({ type: 'worker-start', now: true }), 'extra field');
  assertInvalid(parseEngineToWorker({ type: 'worker-exec' }), 'unknown');
});
