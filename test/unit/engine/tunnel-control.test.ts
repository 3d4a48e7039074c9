/**
 * The client's and relay's control plane (src/engine/tunnel-control.ts) with the real
 * qualification machine and tunnel core, but recorded I/O, a manual clock and helper replies
 * given by the test: qualification → helper requests → shared state, refresh, loss and
 * recovery, refusals, the relay's start, ticks and reload, and stop.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/engine/control-plane.js';
import type {
  EngineToBootstrap,
  HelperRequest,
  ResolveRequest,
  InitMessage,
  ReplyResult,
} from '../../../src/ipc/bootstrap-engine-messages.js';
import { createTunnelControl } from '../../../src/engine/tunnel-control.js';
import { attachTunnelShared } from '../../../src/ipc/tunnel-shared.js';
import { createTunnelSnapshot } from '../../../src/ipc/tunnel-state.js';
import type { TunnelSnapshot } from '../../../src/ipc/tunnel-state.js';
import { decodeTeredoAddress } from '../../../src/teredo/address.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { buildBubble } from '../../../src/teredo/bubble.js';
import { parseIPv6 } from '../../../src/teredo/ipv6-text.js';
import { createSecurityContext } from '../../../src/teredo/security.js';
import { TUNNEL_COUNTER, TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import { writeOriginIndication } from '../../../src/teredo/wire.js';
import { captureLog } from '../../support/fakes.js';
import {
  CLIENT_ADDRESS,
  FakeTime,
  ipv6Packet,
  MAPPED_IPV4,
  MAPPED_PORT,
  NATIVE_HOST,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PREFIX,
  RecordingIo,
  routerAdvertisement,
  SERVER_IPV4,
  SERVER_TEXT,
  TEREDO_PORT,
} from '../../support/tunnel-harness.js';
import type { Sent } from '../../support/tunnel-harness.js';
import { describeRequest } from '../../../src/engine/tunnel-interface.js';

const IFINDEX = 9;
const PEER_SERVER_IPV4 = 0xc0000201;

const CLIENT_INIT: InitMessage = {
  type: 'init',
  config: {
    role: 'client',
    serverName: 'teredo.example',
    serverAddress: SERVER_TEXT,
    serverAddress2: null,
    fallbackServers: [],
    localDiscovery: false,
    portMapping: 'off',
    portMappingLifetime: 3600,
    bindAddress: '0.0.0.0',
    bindPort: 0,
    peerTableCapacity: 64,
  },
  fds: { tun: [4], udp: [5], raw: null },
  interface: { name: 'teredo', index: IFINDEX },
  uid: 65534,
  gid: 65534,
  chrootDir: '/run/miredo-ts/empty',
  poolSize: 1,
  logLevel: 'debug',
};

const RELAY_INIT: InitMessage = {
  ...CLIENT_INIT,
  config: {
    role: 'relay',
    relayType: 'cone',
    prefix: PREFIX,
    interfaceMtu: 1400,
    bindAddress: '0.0.0.0',
    bindPort: 3545,
    peerTableCapacity: 64,
  },
};

interface Bench {
  readonly control: ControlPlane;
  readonly io: RecordingIo;
  readonly time: FakeTime;
  readonly requests: HelperRequest[];
  /** The client's requests to resolve its server name. */
  readonly resolves: ResolveRequest[];
  readonly records: Array<Record<string, unknown>>;
  readonly counters: Float64Array;
  state(): TunnelSnapshot;
  clock(): number;
  /** The peer table workers see. */
  peers(): number;
  /** Answers every pending helper request (and those they lead to); returns them as text. */
  serve(answer?: (request: HelperRequest) => ReplyResult): string[];
  udp(packet: Uint8Array, ipv4: number, port: number): void;
  tun(packet: Uint8Array): void;
  /** Messages logged so far, from index `from`. */
  messages(from?: number): string[];
}

function bench(init: InitMessage): Bench {
  const io = new RecordingIo();
  const time = new FakeTime();
  const requests: HelperRequest[] = [];
  const resolves: ResolveRequest[] = [];
  const { log, records } = captureLog();
  const counters = new Float64Array(TUNNEL_COUNTER_NAMES.length);
  const factory = createTunnelControl(init.config, {
    io: () => io,
    clock: time,
    timers: time,
    security: () =>
      createSecurityContext(
        Uint8Array.from({ length: 16 }, (_, i) => i),
        0x1234,
      ),
  });
  assert.ok(factory.shared instanceof SharedArrayBuffer);
  const shared = attachTunnelShared(factory.shared);
  const control = factory.create({
    log,
    init,
    send: (message: EngineToBootstrap) => {
      if (message.type === 'resolve') resolves.push(message);
      else if (message.type !== 'ready' && message.type !== 'summary-report' && message.type !== 'health')
        requests.push(message);
    },
    fatal: (text) => assert.fail(`fatal: ${text}`),
    counters,
  });

  return {
    control,
    io,
    time,
    requests,
    resolves,
    records,
    counters,
    state() {
      const snapshot = createTunnelSnapshot();
      shared.state.read(snapshot);
      return snapshot;
    },
    clock: () => shared.state.clock(),
    peers: () => shared.table.size(),
    serve(answer = () => ({ ok: true })) {
      const lines: string[] = [];
      for (let request = requests.shift(); request !== undefined; request = requests.shift()) {
        assert.equal(request.ifindex, IFINDEX);
        lines.push(describeRequest(request));
        control.reply({ type: 'reply', id: request.id, result: answer(request) });
      }
      return lines;
    },
    udp(packet, ipv4, port) {
      control.slowPath({
        type: 'slow-path',
        workerIndex: 0,
        from: 'udp',
        packet: new Uint8Array(packet),
        address: ipv4,
        port,
        localAddress: 0,
      });
    },
    tun(packet) {
      control.slowPath({
        type: 'slow-path',
        workerIndex: 0,
        from: 'tun',
        packet: new Uint8Array(packet),
        address: 0,
        port: 0,
        localAddress: 0,
      });
    },
    messages(from = 0) {
      return records.slice(from).map((record) => String(record['msg']));
    },
  };
}

function onlyRs(sent: readonly Sent[]): Uint8Array {
  assert.equal(sent.length, 1, 'one datagram');
  const [rs] = sent;
  assert.ok(rs !== undefined && rs.kind === 'udp');
  assert.equal(rs.ipv4, SERVER_IPV4);
  assert.equal(rs.port, TEREDO_PORT);
  assert.equal(rs.bytes.length, 61, 'a Router Solicitation with an authentication header');
  return rs.bytes.slice(4, 12);
}

/** The NAT type probe's RS, to the server's second address (primary + 1 by default). */
function probeRs(sent: readonly Sent[], secondary = SERVER_IPV4 + 1): Uint8Array {
  assert.equal(sent.length, 1, 'one datagram');
  const [rs] = sent;
  assert.ok(rs !== undefined && rs.kind === 'udp');
  assert.deepEqual([rs.ipv4, rs.port], [secondary, TEREDO_PORT]);
  return rs.bytes.slice(4, 12);
}

/** Starts a client and qualifies it with an RA; returns the bench with the helper requests served. */
function qualifiedClient(mtu = 1280): { b: Bench; address: Uint8Array } {
  const b = bench(CLIENT_INIT);
  b.control.start();
  const nonce = onlyRs(b.io.take());
  b.udp(routerAdvertisement(nonce, mtu), SERVER_IPV4, TEREDO_PORT);
  // The NAT type probe, answered from the second address with the same mapping.
  b.udp(routerAdvertisement(probeRs(b.io.take()), mtu), SERVER_IPV4 + 1, TEREDO_PORT);
  const up = b.records.find((record) => record['msg'] === 'New Teredo address/MTU');
  assert.ok(up, 'New Teredo address/MTU logged');
  const address = parseIPv6(String(up['address']));
  assert.ok(address);
  b.serve();
  return { b, address };
}

describe('client control plane', () => {
  it('sends the first RS at start and publishes an inactive tunnel with its server', () => {
    const b = bench(CLIENT_INIT);
    b.control.start();
    onlyRs(b.io.take());
    const state = b.state();
    assert.equal(state.active, false);
    assert.equal(state.serverIPv4, SERVER_IPV4);
    assert.equal(b.clock(), Math.floor(b.time.nowMs / 1000));
    assert.deepEqual(b.requests, [], 'nothing asked of the helper before qualification');
  });

  it('on the RA: logs the decoded address, configures the interface, and activates the fast path', () => {
    const b = bench(CLIENT_INIT);
    b.control.start();
    const nonce = onlyRs(b.io.take());
    b.udp(routerAdvertisement(nonce, 1400), SERVER_IPV4, TEREDO_PORT);
    const up = b.records.find((record) => record['msg'] === 'New Teredo address/MTU');
    assert.ok(up);
    assert.equal(up['level'], 35, 'notice');
    assert.equal(up['server'], SERVER_TEXT);
    assert.equal(up['mappedAddress'], '203.0.113.5');
    assert.equal(up['mappedPort'], MAPPED_PORT);
    assert.equal(up['cone'], false);
    assert.equal(up['mtu'], 1400);
    const address = parseIPv6(String(up['address']));
    assert.ok(address);
    const fields = decodeTeredoAddress(address);
    assert.deepEqual(
      [fields.prefix, fields.server, fields.port, fields.client],
      [PREFIX, SERVER_IPV4, MAPPED_PORT, MAPPED_IPV4],
    );
    assert.equal(fields.flags & 0xc300, 0, 'no cone, U or G bit: RFC 5991 random bits only');
    const started = b.messages().indexOf('Teredo pseudo-tunnel started');
    assert.ok(started > 0, "Miredo's up callback lines");
    assert.equal(b.messages()[started + 1], ` (address: ${String(up['address'])}, MTU: 1400)`);

    const state = b.state();
    assert.equal(state.active, true);
    assert.equal(state.prefix, PREFIX);
    assert.equal(state.mappedIPv4, MAPPED_IPV4);
    assert.equal(state.mappedPort, MAPPED_PORT);
    assert.equal(state.mtu, 1400);

    assert.deepEqual(b.serve(), [
      'set-mtu 1400',
      'link up',
      'set-address fe80::ffff:ffff:ffff/64',
      `set-address ${String(up['address'])}/32`,
      'set-route ::/0 metric 1029',
      `client-state up ${String(up['address'])} mtu 1400`,
    ]);
  });

  it('hands datagrams that are not qualification to the tunnel core', () => {
    const { b } = qualifiedClient();
    // A bubble relayed by our server with the origin of a peer: the core answers the peer directly.
    const datagram = new Uint8Array(8 + 40);
    writeOriginIndication(datagram, 0, PEER_PORT, PEER_IPV4);
    buildBubble(datagram, 8, { source: PEER_ADDRESS, destination: CLIENT_ADDRESS });
    b.udp(datagram, SERVER_IPV4, TEREDO_PORT);
    const sent = b.io.take();
    // The reply bubble, then (RFC 6081 symmetric NAT support) an indirect bubble back via its server.
    assert.deepEqual(
      sent.map((s) => (s.kind === 'udp' ? [s.ipv4, s.port, s.bytes.length] : [])),
      [
        [PEER_IPV4, PEER_PORT, 40],
        [PEER_SERVER_IPV4, TEREDO_PORT, 40],
      ],
    );
    assert.equal(b.counters[TUNNEL_COUNTER['reply-bubble-sent']], 1);
    assert.equal(b.counters[TUNNEL_COUNTER['bubble-back-sent']], 1);
  });

  it('sends TUN packets to the core: bubbles to a new Teredo peer, a ping for a native host', () => {
    const { b, address } = qualifiedClient();
    b.tun(ipv6Packet({ source: address, destination: PEER_ADDRESS }));
    const targets = (): string[] =>
      b.io.take().map((s) => (s.kind === 'udp' ? `${s.ipv4}:${s.port}` : 'tun'));
    const viaServer = `${PEER_SERVER_IPV4}:${TEREDO_PORT}`;
    // The probe found one mapping for both server addresses, and not our port ('cone'): the direct
    // bubble is held back (port-preserving-nat.ts); via its server, and via its server from our
    // address (RFC 6081 symmetric NAT support).
    assert.deepEqual(targets(), [viaServer, viaServer]);
    // No answer from the peer: the engine's timer sends the held-back direct bubble, and one more indirect.
    b.time.advance(TEREDO_CONSTANTS.directBubbleFallbackMs);
    assert.deepEqual(targets(), [`${PEER_IPV4}:${PEER_PORT}`, viaServer]);
    b.tun(ipv6Packet({ source: address, destination: NATIVE_HOST }));
    const ping = b.io.take();
    assert.equal(ping.length, 1);
    assert.ok(ping[0]?.kind === 'udp' && ping[0].ipv4 === SERVER_IPV4 && ping[0].port === TEREDO_PORT);
    assert.equal(b.peers(), 2);
  });

  it('probes the second server address after qualifying: the NAT type is logged, in the state and in miredo-ctl status and metrics', () => {
    const b = bench(CLIENT_INIT);
    b.control.start();
    b.udp(routerAdvertisement(onlyRs(b.io.take())), SERVER_IPV4, TEREDO_PORT);
    assert.equal(b.state().active, true, 'qualified without waiting for the probe');
    const probe = probeRs(b.io.take());
    assert.deepEqual(b.control.state?.(), { natType: 'unknown' });
    assert.equal(b.control.status().natType, 'unknown');
    // Another port from the second address: a symmetric NAT with consecutive ports.
    b.udp(routerAdvertisement(probe, 1280, MAPPED_IPV4, MAPPED_PORT + 1), SERVER_IPV4 + 1, TEREDO_PORT);
    const detected = b.records.find((r) => r['msg'] === 'NAT type detected');
    assert.ok(detected);
    assert.equal(detected['level'], 30, 'info');
    assert.equal(detected['natType'], 'symmetric-sequential');
    assert.equal(detected['secondMappedPort'], MAPPED_PORT + 1);
    assert.equal(detected['secondary'], '198.51.100.2');
    assert.deepEqual(b.control.state?.(), { natType: 'symmetric-sequential' });
    assert.equal(b.control.status().natType, 'symmetric-sequential', 'miredo-ctl status');
    const natGauge = b.control.metricFamilies().find((family) => family.name === 'miredo_nat_type');
    assert.deepEqual(
      natGauge?.samples.filter((sample) => 'value' in sample && sample.value === 1).map((one) => one.labels),
      [{ type: 'symmetric-sequential' }],
    );
    assert.equal(b.state().mappedPort, MAPPED_PORT, 'the address keeps the first mapping');
  });

  it('ServerAddress2 silent: NAT type unknown after two short tries, qualification untouched', () => {
    const SECOND = 0xc6336409; // 198.51.100.9
    assert.equal(CLIENT_INIT.config.role, 'client');
    const b = bench({ ...CLIENT_INIT, config: { ...CLIENT_INIT.config, serverAddress2: '198.51.100.9' } });
    b.control.start();
    b.udp(routerAdvertisement(onlyRs(b.io.take())), SERVER_IPV4, TEREDO_PORT);
    probeRs(b.io.take(), SECOND);
    b.time.advance(2_000);
    probeRs(b.io.take(), SECOND);
    b.time.advance(2_000);
    assert.deepEqual(b.io.take(), []);
    assert.ok(b.messages().includes('No reply from the second Teredo server address: NAT type unknown'));
    assert.deepEqual(b.control.state?.(), { natType: 'unknown' });
    b.time.advance(16_000);
    onlyRs(b.io.take());
    assert.equal(b.state().active, true);
  });

  it('before qualification, answers TUN packets with ICMPv6 unreachable', () => {
    const b = bench(CLIENT_INIT);
    b.control.start();
    b.io.take();
    b.tun(ipv6Packet({ source: CLIENT_ADDRESS, destination: PEER_ADDRESS }));
    const sent = b.io.take();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.kind, 'tun');
    assert.equal(b.counters[TUNNEL_COUNTER['tx-not-qualified']], 1);
  });

  it('refreshes every 20 s; losing the server removes the address and route; it then recovers', () => {
    const { b, address } = qualifiedClient();
    const firstText = String(b.records.find((r) => r['msg'] === 'New Teredo address/MTU')?.['address']);
    b.time.advance(20_000);
    const nonce = onlyRs(b.io.take());
    b.udp(routerAdvertisement(nonce), SERVER_IPV4, TEREDO_PORT);
    assert.deepEqual(b.serve(), [], 'an unchanged refresh asks nothing');
    assert.equal(b.peers(), 0);

    // A peer learnt now is forgotten when the address goes.
    b.tun(ipv6Packet({ source: address, destination: PEER_ADDRESS }));
    assert.equal(b.peers(), 1);
    // The bubbles, and the held-back direct bubble with its indirect one.
    b.time.advance(TEREDO_CONSTANTS.directBubbleFallbackMs);
    b.io.take();

    const logged = b.records.length;
    b.time.advance(20_000);
    onlyRs(b.io.take());
    b.time.advance(4_000);
    onlyRs(b.io.take());
    b.time.advance(4_000);
    onlyRs(b.io.take());
    assert.equal(b.state().active, true);
    b.time.advance(4_000);
    assert.deepEqual(b.messages(logged), [
      'No reply from Teredo server',
      'Lost Teredo connectivity',
      'Teredo pseudo-tunnel stopped',
    ]);
    assert.equal(b.state().active, false);
    assert.equal(b.peers(), 0);
    assert.deepEqual(b.serve(), [
      'del-route ::/0 metric 1029',
      `del-address ${firstText}/32`,
      'client-state down :: mtu 1280',
    ]);

    // The next attempt comes 20 s after the last RS (sent 4 s ago) and brings a new address.
    b.time.advance(15_000);
    assert.equal(b.io.take().length, 0);
    b.time.advance(1_000);
    const again = onlyRs(b.io.take());
    b.udp(routerAdvertisement(again, 1280, MAPPED_IPV4, MAPPED_PORT + 1), SERVER_IPV4, TEREDO_PORT);
    assert.equal(b.state().active, true);
    assert.equal(b.state().mappedPort, MAPPED_PORT + 1);
    const lines = b.serve();
    assert.equal(lines.length, 4);
    assert.equal(lines[0], 'link up', "asked again: Miredo's hook takes the link down");
    assert.match(lines[1] ?? '', /^set-address 2001:0:c633:6401:[0-9a-f]+:63be:34ff:8efa\/32$/);
    assert.equal(lines[2], 'set-route ::/0 metric 1029');
    assert.match(lines[3] ?? '', /^client-state up 2001:0:c633:6401:[0-9a-f]+:63be:34ff:8efa mtu 1280$/);
  });

  it('a new mapping replaces the address: the new one is set before the old one is removed', () => {
    const { b } = qualifiedClient();
    const first = String(b.records.find((r) => r['msg'] === 'New Teredo address/MTU')?.['address']);
    b.time.advance(20_000);
    const nonce = onlyRs(b.io.take());
    b.udp(routerAdvertisement(nonce, 1280, MAPPED_IPV4 + 1, MAPPED_PORT), SERVER_IPV4, TEREDO_PORT);
    const lines = b.serve();
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /^set-address 2001:0:c633:6401:[0-9a-f]+:63bf:34ff:8ef9\/32$/);
    assert.equal(lines[1], `del-address ${first}/32`);
    assert.match(lines[2] ?? '', /^client-state up .*:8ef9 mtu 1280$/);
  });

  it('requalify (SIGHUP, network change) sends an RS at once; the same answer asks nothing of the helper', () => {
    const { b } = qualifiedClient();
    b.time.advance(3000);
    b.control.requalify?.('reload');
    const nonce = onlyRs(b.io.take());
    assert.ok(
      b.records.some(
        (r) => r['msg'] === 'Qualifying again with the Teredo server' && r['reason'] === 'reload',
      ),
    );
    b.udp(routerAdvertisement(nonce, 1280), SERVER_IPV4, TEREDO_PORT);
    assert.deepEqual(b.serve(), [], 'no address flap, no route change');
    assert.equal(b.state().active, true);
    b.time.advance(19_999);
    assert.deepEqual(b.io.take(), [], 'the next refresh counts from the new RS');
    b.time.advance(1);
    onlyRs(b.io.take());
  });

  it('a name unresolved at start: no RS, the name asked until it resolves, then qualification with it', () => {
    assert.ok(CLIENT_INIT.config.role === 'client');
    const b = bench({ ...CLIENT_INIT, config: { ...CLIENT_INIT.config, serverAddress: null } });
    b.control.start();
    assert.deepEqual(b.io.take(), [], 'no server yet');
    assert.equal(b.state().serverIPv4, 0);
    const first = b.resolves.shift();
    assert.ok(first !== undefined && first.name === 'teredo.example');
    b.control.resolved?.({ type: 'resolved', id: first.id, result: { ok: false, reason: 'host not found' } });
    b.time.advance(1000);
    const second = b.resolves.shift();
    assert.ok(second !== undefined, 'asked again after the back-off');
    b.control.resolved?.({
      type: 'resolved',
      id: second.id,
      result: { ok: true, addresses: [SERVER_TEXT], ttlSeconds: 300 },
    });
    const nonce = onlyRs(b.io.take());
    b.udp(routerAdvertisement(nonce, 1280), SERVER_IPV4, TEREDO_PORT);
    assert.ok(b.records.some((r) => r['msg'] === 'New Teredo address/MTU'));
    assert.equal(b.state().serverIPv4, SERVER_IPV4);
  });

  it("a failed round moves to the name's next address: down, then qualified with the other server", () => {
    const { b } = qualifiedClient();
    const request = b.resolves.shift();
    assert.ok(request !== undefined);
    const other = '192.0.2.99';
    b.control.resolved?.({
      type: 'resolved',
      id: request.id,
      result: { ok: true, addresses: [SERVER_TEXT, other], ttlSeconds: 300 },
    });
    b.time.advance(20_000);
    b.io.take();
    b.time.advance(4000);
    b.io.take();
    b.time.advance(4000);
    b.io.take();
    b.time.advance(4000);
    const sent = b.io.take();
    assert.equal(sent.length, 1);
    assert.ok(sent[0]?.kind === 'udp');
    assert.equal(sent[0].ipv4, 0xc0000263, 'the RS goes to the next address at once');
    assert.ok(b.messages().includes('Lost Teredo connectivity'));
    assert.equal(b.state().active, false);
    assert.equal(b.state().serverIPv4, 0xc0000263);
  });

  it('keeps running when the helper refuses, and logs why', () => {
    const b = bench(CLIENT_INIT);
    b.control.start();
    b.udp(routerAdvertisement(onlyRs(b.io.take())), SERVER_IPV4, TEREDO_PORT);
    b.serve((request) =>
      request.type === 'set-address' && request.prefixLen === 32
        ? { ok: false, kind: 'refused', reason: 'outside the Teredo prefix' }
        : { ok: true },
    );
    assert.ok(
      b.records.some(
        (r) => r['level'] === 50 && /set-address .*refused: outside the Teredo prefix/.test(String(r['msg'])),
      ),
    );
    assert.equal(b.state().active, true, 'the tunnel itself works; the kernel lacks the address');
    b.time.advance(20_000);
    assert.equal(
      b.io.take().filter((s) => s.kind === 'udp' && s.ipv4 === SERVER_IPV4).length,
      1,
      'qualification goes on',
    );
  });

  it('ignores a forged RA (wrong nonce) and counts nothing as delivered', () => {
    const b = bench(CLIENT_INIT);
    b.control.start();
    b.io.take();
    b.udp(routerAdvertisement(new Uint8Array(8)), SERVER_IPV4, TEREDO_PORT);
    assert.equal(b.state().active, false);
    assert.deepEqual(b.requests, []);
    assert.equal(b.counters[TUNNEL_COUNTER['decapsulated']], 0);
  });

  it('stop: removes the address and route through the helper, stops every timer', async () => {
    const { b } = qualifiedClient();
    const stopped = b.control.stop();
    assert.equal(b.state().active, false);
    assert.equal(b.time.pending(), 0);
    const lines = b.serve();
    assert.equal(lines.length, 3);
    assert.equal(lines[0], 'del-route ::/0 metric 1029');
    assert.equal(lines[2], 'client-state down :: mtu 1280');
    await stopped;
    assert.equal(b.messages().at(-1), 'Teredo pseudo-tunnel stopped');
  });
});

describe('relay control plane', () => {
  it('starts at once: active state with its prefix and MTU, a 1 s tick for the clock and expiry', () => {
    const b = bench(RELAY_INIT);
    b.control.start();
    const state = b.state();
    assert.equal(state.active, true);
    assert.equal(state.prefix, PREFIX);
    assert.equal(state.mtu, 1400);
    assert.deepEqual(b.io.take(), [], 'a relay does not qualify');
    const before = b.clock();
    b.time.advance(3_000);
    assert.equal(b.clock(), before + 3);
  });

  it('a cone relay sends only the indirect bubble for a packet to a new client, and expires it later', () => {
    const b = bench(RELAY_INIT);
    b.control.start();
    b.tun(ipv6Packet({ source: NATIVE_HOST, destination: PEER_ADDRESS }));
    const sent = b.io.take();
    assert.deepEqual(
      sent.map((s) => (s.kind === 'udp' ? `${s.ipv4}:${s.port}` : 'tun')),
      [`${PEER_SERVER_IPV4}:${TEREDO_PORT}`],
    );
    assert.equal(b.peers(), 1);
    b.time.advance(61_000);
    assert.equal(b.peers(), 0, 'idle peers go within 60 s');
  });

  it('a new prefix on reload resets the peers and is published', () => {
    const b = bench(RELAY_INIT);
    b.control.start();
    b.tun(ipv6Packet({ source: NATIVE_HOST, destination: PEER_ADDRESS }));
    assert.equal(b.peers(), 1);
    assert.equal(RELAY_INIT.config.role, 'relay');
    if (RELAY_INIT.config.role !== 'relay') return;
    b.control.reconfigure({ ...RELAY_INIT.config, prefix: 0x3ffe831f, interfaceMtu: 1500 });
    assert.equal(b.peers(), 0);
    assert.equal(b.state().prefix, 0x3ffe831f);
    assert.equal(b.state().mtu, 1500);
  });

  it('stop clears the timers and asks nothing of the helper', async () => {
    const b = bench(RELAY_INIT);
    b.control.start();
    await b.control.stop();
    assert.equal(b.time.pending(), 0);
    assert.deepEqual(b.requests, []);
  });
});
