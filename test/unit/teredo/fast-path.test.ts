/**
 * The data plane's fast path (src/teredo/fast-path.ts): the cases it takes, the cases it
 * leaves to the control plane, and a property: whenever it takes a packet, the tunnel core (the
 * reference behaviour) would have sent exactly the same bytes to exactly the same place.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fastPathFromTun, fastPathFromUdp, fromSolicitedPeer } from '../../../src/teredo/fast-path.js';
import type { FastPathContext } from '../../../src/teredo/fast-path.js';
import { createPeerSnapshot, createTunnelShared } from '../../../src/ipc/tunnel-shared.js';
import type { TunnelShared } from '../../../src/ipc/tunnel-shared.js';
import { createTunnelSnapshot } from '../../../src/ipc/tunnel-state.js';
import { clientLinkLocal } from '../../../src/teredo/address.js';
import { PEER_COUNTING, PEER_QUEUED, PEER_SOLICITED, PEER_TRUSTED } from '../../../src/teredo/peers.js';
import { createTunnelCore } from '../../../src/teredo/relay.js';
import type { TunnelOutput } from '../../../src/teredo/relay.js';
import { createSecurityContext } from '../../../src/teredo/security.js';
import { TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import {
  address,
  BAD_SERVER_PEER,
  CLIENT_ADDRESS,
  ipv6Packet,
  NATIVE_HOST,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PREFIX,
  RELAY_IPV4,
  RELAY_PORT,
  SERVER_IPV4,
  TEREDO_PORT,
} from '../../support/tunnel-harness.js';

const NOW = 1000;

interface Setup {
  readonly shared: TunnelShared;
  readonly context: FastPathContext;
  /** Adds a peer with these flags and mapping, last heard `age` seconds ago. */
  peer(key: Uint8Array, flags: number, ipv4: number, port: number, age?: number): number;
}

function setup(role: 'client' | 'relay', active = true): Setup {
  const shared = createTunnelShared(64, 3);
  shared.state.publish({
    active,
    prefix: PREFIX,
    serverIPv4: role === 'client' ? SERVER_IPV4 : 0,
    mappedIPv4: 0,
    mappedPort: 0,
    mtu: 1280,
  });
  shared.state.setClock(NOW);
  const state = createTunnelSnapshot();
  shared.state.read(state);
  const context: FastPathContext = {
    relay: role === 'relay',
    table: shared.table,
    state,
    peer: createPeerSnapshot(),
    now: NOW,
    validitySeconds: 30,
  };
  return {
    shared,
    context,
    peer(key, flags, ipv4, port, age = 0) {
      const slot = shared.table.insert(key, 0, NOW - age);
      shared.table.setFlags(slot, flags);
      shared.table.setMapping(slot, ipv4, port);
      shared.table.touchRx(slot, NOW - age);
      return slot;
    },
  };
}

const fromTun = (s: Setup, packet: Uint8Array, length = packet.length): number =>
  fastPathFromTun(s.context, packet, 0, length);
const fromUdp = (s: Setup, packet: Uint8Array, ipv4: number, port: number, length = packet.length): number =>
  fastPathFromUdp(s.context, packet, 0, length, ipv4, port);

describe('fast path, TUN to UDP', () => {
  const toPeer = ipv6Packet({ source: CLIENT_ADDRESS, destination: PEER_ADDRESS });

  it('sends to a trusted, valid peer at its mapping', () => {
    const s = setup('client');
    const slot = s.peer(PEER_ADDRESS, PEER_TRUSTED, PEER_IPV4, PEER_PORT, 30);
    assert.equal(fromTun(s, toPeer), slot);
    assert.equal(s.context.peer.mappedIPv4, PEER_IPV4);
    assert.equal(s.context.peer.mappedPort, PEER_PORT);
  });

  it('leaves the peer to the control plane while untrusted, queued, counting or stale', () => {
    for (const [flags, age] of [
      [0, 0],
      [PEER_TRUSTED | PEER_QUEUED, 0],
      [PEER_TRUSTED | PEER_COUNTING, 0],
      [PEER_TRUSTED, 31],
    ] as const) {
      const s = setup('client');
      s.peer(PEER_ADDRESS, flags, PEER_IPV4, PEER_PORT, age);
      assert.equal(fromTun(s, toPeer), -1, `flags ${flags} age ${age}`);
    }
  });

  it('takes nothing before qualification, for unknown peers, multicast, bad servers or short packets', () => {
    const inactive = setup('client', false);
    inactive.peer(PEER_ADDRESS, PEER_TRUSTED, PEER_IPV4, PEER_PORT);
    assert.equal(fromTun(inactive, toPeer), -1);

    const s = setup('client');
    assert.equal(fromTun(s, toPeer), -1, 'unknown peer');
    s.peer(PEER_ADDRESS, PEER_TRUSTED, PEER_IPV4, PEER_PORT);
    s.peer(BAD_SERVER_PEER, PEER_TRUSTED, PEER_IPV4, PEER_PORT);
    assert.equal(fromTun(s, ipv6Packet({ source: CLIENT_ADDRESS, destination: address('ff02::1') })), -1);
    assert.equal(fromTun(s, ipv6Packet({ source: CLIENT_ADDRESS, destination: BAD_SERVER_PEER })), -1);
    assert.equal(fromTun(s, toPeer, 39), -1, 'shorter than a header');
    assert.equal(fromTun(s, toPeer, toPeer.length - 1), -1, 'payload cut short');
    const v4 = toPeer.slice();
    v4[0] = 0x45;
    assert.equal(fromTun(s, v4), -1, 'not IPv6');
  });

  it('client: native destinations only from our Teredo address; relay: never', () => {
    const client = setup('client');
    const slot = client.peer(NATIVE_HOST, PEER_TRUSTED, RELAY_IPV4, RELAY_PORT);
    assert.equal(fromTun(client, ipv6Packet({ source: CLIENT_ADDRESS, destination: NATIVE_HOST })), slot);
    assert.equal(
      fromTun(client, ipv6Packet({ source: address('2001:db8:5::1'), destination: NATIVE_HOST })),
      -1,
    );

    const relay = setup('relay');
    relay.peer(NATIVE_HOST, PEER_TRUSTED, RELAY_IPV4, RELAY_PORT);
    assert.equal(
      fromTun(relay, ipv6Packet({ source: address('2001:db8:5::1'), destination: NATIVE_HOST })),
      -1,
    );
    const toClient = relay.peer(PEER_ADDRESS, PEER_TRUSTED, PEER_IPV4, PEER_PORT);
    assert.equal(fromTun(relay, ipv6Packet({ source: NATIVE_HOST, destination: PEER_ADDRESS })), toClient);
  });
});

describe('fast path, UDP to TUN', () => {
  const fromPeer = ipv6Packet({ source: PEER_ADDRESS, destination: CLIENT_ADDRESS });

  it('delivers from a trusted peer at its exact mapping', () => {
    const s = setup('client');
    const slot = s.peer(PEER_ADDRESS, PEER_TRUSTED, PEER_IPV4, PEER_PORT, 100);
    assert.equal(fromUdp(s, fromPeer, PEER_IPV4, PEER_PORT), slot, 'validity does not matter on receive');
    assert.equal(fromUdp(s, fromPeer, PEER_IPV4, PEER_PORT + 1), -1);
    assert.equal(fromUdp(s, fromPeer, PEER_IPV4 + 1, PEER_PORT), -1);
  });

  it('leaves bubbles, headers, the server, link-local sources and multicast to the control plane', () => {
    const s = setup('client');
    s.peer(PEER_ADDRESS, PEER_TRUSTED, PEER_IPV4, PEER_PORT);
    const bubble = ipv6Packet({
      source: PEER_ADDRESS,
      destination: CLIENT_ADDRESS,
      nextHeader: 59,
      payload: new Uint8Array(0),
    });
    assert.equal(fromUdp(s, bubble, PEER_IPV4, PEER_PORT), -1, 'bubble');
    const withOrigin = new Uint8Array(8 + fromPeer.length);
    withOrigin.set(fromPeer, 8);
    assert.equal(fromUdp(s, withOrigin, PEER_IPV4, PEER_PORT), -1, 'origin indication');
    s.peer(address('fe80::1'), PEER_TRUSTED, SERVER_IPV4, TEREDO_PORT);
    assert.equal(fromUdp(s, fromPeer, SERVER_IPV4, TEREDO_PORT), -1, 'from our server');
    const linkLocal = ipv6Packet({ source: address('fe80::1'), destination: clientLinkLocal(false) });
    assert.equal(fromUdp(s, linkLocal, SERVER_IPV4, TEREDO_PORT), -1);
    assert.equal(
      fromUdp(s, ipv6Packet({ source: PEER_ADDRESS, destination: address('ff02::1') }), PEER_IPV4, PEER_PORT),
      -1,
    );
    assert.equal(fromUdp(s, fromPeer, PEER_IPV4, PEER_PORT, 45), -1, 'truncated');
    for (const flags of [PEER_TRUSTED | PEER_QUEUED, PEER_TRUSTED | PEER_COUNTING]) {
      s.shared.table.setFlags(s.shared.table.find(PEER_ADDRESS, 0), flags);
      assert.equal(fromUdp(s, fromPeer, PEER_IPV4, PEER_PORT), -1);
    }
  });

  it('relay: only Teredo sources, but its server filter does not apply', () => {
    const relay = setup('relay');
    relay.peer(NATIVE_HOST, PEER_TRUSTED, RELAY_IPV4, RELAY_PORT);
    assert.equal(
      fromUdp(relay, ipv6Packet({ source: NATIVE_HOST, destination: PEER_ADDRESS }), RELAY_IPV4, RELAY_PORT),
      -1,
    );
    const slot = relay.peer(PEER_ADDRESS, PEER_TRUSTED, SERVER_IPV4, TEREDO_PORT);
    assert.equal(fromUdp(relay, fromPeer, SERVER_IPV4, TEREDO_PORT), slot);
  });
});

// ---- the property: the fast path never decides differently from the reference core ----

type Sent = { kind: 'udp'; bytes: string; ipv4: number; port: number } | { kind: 'tun'; bytes: string };

function recorder(): { out: TunnelOutput; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    out: {
      sendUdp: (bytes, offset, length, ipv4, port) =>
        sent.push({
          kind: 'udp',
          bytes: Buffer.from(bytes.subarray(offset, offset + length)).toString('hex'),
          ipv4,
          port,
        }),
      writeTun: (bytes, offset, length) =>
        sent.push({
          kind: 'tun',
          bytes: Buffer.from(bytes.subarray(offset, offset + length)).toString('hex'),
        }),
    },
  };
}

const PEERS = [PEER_ADDRESS, NATIVE_HOST, BAD_SERVER_PEER, address('fe80::1'), CLIENT_ADDRESS];
const SOURCES = [...PEERS, address('2001:db8:5::1'), address('ff02::1')];
const OUTER: ReadonlyArray<readonly [number, number]> = [
  [PEER_IPV4, PEER_PORT],
  [RELAY_IPV4, RELAY_PORT],
  [SERVER_IPV4, TEREDO_PORT],
  [PEER_IPV4, PEER_PORT + 1],
];

/** `likely` most of the time, anything from `all` otherwise. */
function mostly<T>(likely: fc.Arbitrary<T>, all: readonly T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 4, arbitrary: likely }, { weight: 1, arbitrary: fc.constantFrom(...all) });
}

const peerArbitrary = fc.record({
  key: fc.constantFrom(...PEERS),
  flags: mostly(fc.constant(PEER_TRUSTED), [0, PEER_TRUSTED | PEER_QUEUED, PEER_TRUSTED | PEER_COUNTING]),
  outer: mostly(fc.constantFrom(OUTER[0]!, OUTER[1]!), OUTER),
  age: mostly(fc.integer({ min: 0, max: 30 }), [31, 40]),
});

const packetArbitrary = fc.record({
  fromTun: fc.boolean(),
  ours: mostly(fc.constant(CLIENT_ADDRESS), SOURCES),
  theirs: mostly(fc.constantFrom(PEER_ADDRESS, NATIVE_HOST), SOURCES),
  nextHeader: mostly(fc.constant(17), [58, 59, 6]),
  payload: fc.uint8Array({ maxLength: 24 }),
  cut: mostly(fc.constant(0), [1, 3, 30]),
  outer: mostly(fc.constantFrom(OUTER[0]!, OUTER[1]!), OUTER),
});

describe('slow-path budget of answers we wait for (fromSolicitedPeer)', () => {
  const fromHost = ipv6Packet({ source: NATIVE_HOST, destination: CLIENT_ADDRESS });
  const solicited = (s: Setup, ipv4: number): boolean =>
    fromSolicitedPeer(s.context, fromHost, 0, fromHost.length, ipv4, RELAY_PORT);

  it('counts a trusted native peer only while a new relay of its is being tested', () => {
    const s = setup('client');
    const slot = s.peer(NATIVE_HOST, PEER_TRUSTED, RELAY_IPV4, RELAY_PORT);
    assert.equal(solicited(s, RELAY_IPV4 + 1), false, 'trusted, nothing under test');
    s.shared.table.setFlags(slot, PEER_TRUSTED | PEER_COUNTING | PEER_QUEUED);
    assert.equal(solicited(s, RELAY_IPV4 + 1), true, 'its relays are being tested');
    s.shared.table.setFlags(slot, PEER_SOLICITED);
    assert.equal(solicited(s, RELAY_IPV4 + 1), true, 'pending and solicited, as before');
    const relay = setup('relay');
    relay.peer(NATIVE_HOST, PEER_TRUSTED | PEER_COUNTING, RELAY_IPV4, RELAY_PORT);
    assert.equal(solicited(relay, RELAY_IPV4 + 1), false, 'a relay tests no relays');
  });
});

describe('fast path agrees with the tunnel core', () => {
  it('takes a packet only when the core would send or deliver exactly the same bytes', () => {
    let taken = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('client' as const, 'relay' as const),
        fc.array(peerArbitrary, { maxLength: 5 }),
        packetArbitrary,
        (role, peers, p) => {
          const s = setup(role);
          const counters = new Float64Array(TUNNEL_COUNTER_NAMES.length);
          const core = createTunnelCore({
            role,
            cone: false,
            prefix: PREFIX,
            table: s.shared.table,
            security: createSecurityContext(new Uint8Array(16), 1),
            counters,
          });
          if (role === 'client')
            core.setClientIdentity({ address: CLIENT_ADDRESS, serverIPv4: SERVER_IPV4, mtu: 1280 });
          for (const peer of peers) {
            if (s.shared.table.find(peer.key, 0) < 0)
              s.peer(peer.key, peer.flags, peer.outer[0], peer.outer[1], peer.age);
          }
          const packet = ipv6Packet({
            source: p.fromTun ? p.ours : p.theirs,
            destination: p.fromTun ? p.theirs : p.ours,
            nextHeader: p.nextHeader,
            payload: p.nextHeader === 59 && p.payload.length % 2 === 0 ? new Uint8Array(0) : p.payload,
          });
          const length = Math.max(0, packet.length - p.cut);
          const [ipv4, port] = p.outer;
          const slot = p.fromTun ? fromTun(s, packet, length) : fromUdp(s, packet, ipv4, port, length);
          if (slot < 0) return;
          taken += 1;
          const expected: Sent = p.fromTun
            ? {
                kind: 'udp',
                bytes: Buffer.from(packet).toString('hex'),
                ipv4: s.context.peer.mappedIPv4,
                port: s.context.peer.mappedPort,
              }
            : { kind: 'tun', bytes: Buffer.from(packet).toString('hex') };
          const { out, sent } = recorder();
          if (p.fromTun) core.fromTun(packet, 0, length, NOW * 1000, 1_700_000_000, out);
          else core.fromUdp(packet, 0, length, ipv4, port, NOW * 1000, 1_700_000_000, out);
          assert.deepEqual(sent, [expected]);
        },
      ),
      { numRuns: 3000 },
    );
    assert.ok(taken > 200, `the property exercised the fast path only ${taken} times`);
  });
});
