/**
 * Robustness of the tunnel core against hostile input: random and mutated TUN packets and UDP
 * datagrams, from random sources, mixed with clock jumps, ticks and identity changes, never make
 * it throw; everything it emits is a whole IPv6 packet; its peer flags always tell the data
 * plane the truth about bubble and ping counters; its queues stay within their budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { PEER_COUNTING, PEER_QUEUED } from '../../../src/teredo/peers.js';
import { writeAuthHeader, writeOriginIndication } from '../../../src/teredo/wire.js';
import {
  address,
  bench,
  CLIENT_ADDRESS,
  NATIVE_HOST,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PREFIX,
  RELAY_IPV4,
  RELAY_PORT,
  RELAY_SIDE_HOST,
  SERVER_IPV4,
  TEREDO_PORT,
} from './relay-harness.js';
import type { Bench, Sent } from './relay-harness.js';
import { TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import type { TunnelCounterName } from '../../../src/teredo/tunnel-counters.js';

const ADDRESSES = [
  CLIENT_ADDRESS,
  PEER_ADDRESS,
  NATIVE_HOST,
  RELAY_SIDE_HOST,
  address('fe80::ffff:ffff:ffff'),
  address('fe80::1'),
  address('ff02::2'),
  address('::'),
  encodeTeredoAddress({ prefix: PREFIX, server: 0x0a000001, flags: 0, port: 1, client: 0xcb000001 }),
  encodeTeredoAddress({ prefix: PREFIX, server: SERVER_IPV4, flags: 0x8000, port: 2, client: 0x0a000002 }),
];

const IDENTITIES = [
  null,
  {
    address: encodeTeredoAddress({
      prefix: PREFIX,
      server: SERVER_IPV4,
      flags: 0,
      port: 9,
      client: 0xcb000009,
    }),
    serverIPv4: SERVER_IPV4,
    mtu: 1280,
  },
  { address: CLIENT_ADDRESS, serverIPv4: SERVER_IPV4, mtu: 1400 },
];

const SOURCES: ReadonlyArray<readonly [number, number]> = [
  [SERVER_IPV4, TEREDO_PORT],
  [PEER_IPV4, PEER_PORT],
  [PEER_IPV4, PEER_PORT + 1],
  [RELAY_IPV4, RELAY_PORT],
  [0x0a000001, 5000],
];

const addressArb = fc.oneof(fc.constantFrom(...ADDRESSES), fc.uint8Array({ minLength: 16, maxLength: 16 }));

/** A mostly well-formed IPv6 packet, then maybe damaged. */
const packetArb = fc
  .record({
    source: addressArb,
    destination: addressArb,
    nextHeader: fc.constantFrom(17, 58, 59, 6, 0),
    icmpType: fc.constantFrom(1, 128, 129, 134, 2),
    payload: fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ maxLength: 120 }) },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 121, max: 1400 }).map((size) => new Uint8Array(size).fill(0x5a)),
      },
    ),
    damage: fc.oneof(
      fc.constant<{ kind: 'none' }>({ kind: 'none' }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(200) }),
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.nat(200),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('trailer' as const), extra: fc.uint8Array({ maxLength: 16 }) }),
    ),
  })
  .map(({ source, destination, nextHeader, icmpType, payload, damage }) => {
    const body = nextHeader === 59 && payload.length % 2 === 0 ? new Uint8Array(0) : payload;
    let packet = new Uint8Array(40 + body.length);
    packet[0] = 0x60;
    packet[4] = body.length >>> 8;
    packet[5] = body.length & 0xff;
    packet[6] = nextHeader;
    packet[7] = 64;
    packet.set(source, 8);
    packet.set(destination, 24);
    packet.set(body, 40);
    if (nextHeader === 58 && body.length > 0) packet[40] = icmpType;
    if (damage.kind === 'truncate') packet = packet.slice(0, damage.at % (packet.length + 1));
    if (damage.kind === 'flip' && packet.length > 0) packet[damage.at % packet.length] = damage.value;
    if (damage.kind === 'trailer') packet = Uint8Array.from([...packet, ...damage.extra]);
    return packet;
  });

const datagramArb = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc
    .record({
      auth: fc.option(fc.record({ id: fc.uint8Array({ maxLength: 4 }), confirmation: fc.nat(1) })),
      origin: fc.option(fc.tuple(fc.nat(0xffff), fc.constantFrom(RELAY_IPV4, PEER_IPV4, 0, 0x0a000001))),
      packet: packetArb,
    })
    .map(({ auth, origin, packet }) => {
      const out = new Uint8Array(64 + packet.length);
      let at = 0;
      if (auth !== null) {
        at += writeAuthHeader(out, at, {
          nonce: new Uint8Array(8),
          clientId: auth.id,
          confirmation: auth.confirmation,
        });
      }
      if (origin !== null) at += writeOriginIndication(out, at, origin[0], origin[1]);
      out.set(packet, at);
      return out.slice(0, at + packet.length);
    }),
);

type Event =
  | { readonly kind: 'tun'; readonly packet: Uint8Array }
  | { readonly kind: 'udp'; readonly datagram: Uint8Array; readonly from: number }
  | { readonly kind: 'reflect'; readonly pick: number; readonly from: number }
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'tick' }
  | { readonly kind: 'identity'; readonly which: number };

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 4, arbitrary: packetArb.map((packet) => ({ kind: 'tun' as const, packet })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(datagramArb, fc.nat(SOURCES.length - 1))
      .map(([datagram, from]) => ({ kind: 'udp' as const, datagram, from })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.nat(), fc.nat(SOURCES.length - 1))
      .map(([pick, from]) => ({ kind: 'reflect' as const, pick, from })),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 400_000 }).map((ms) => ({ kind: 'advance' as const, ms })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 1, arbitrary: fc.nat(2).map((which) => ({ kind: 'identity' as const, which })) },
);

/** What a peer (or host) would send back for something we sent: addresses swapped, requests answered. */
function reflect(sent: Uint8Array): Uint8Array {
  const packet = sent.slice();
  if (packet.length >= 40) {
    packet.set(sent.subarray(24, 40), 8);
    packet.set(sent.subarray(8, 24), 24);
    if (packet.length > 40 && packet[6] === 58 && packet[40] === 128) packet[40] = 129;
  }
  return packet;
}

function assertWholeIPv6(bytes: Uint8Array): void {
  assert.ok(bytes.length >= 40 && bytes.length <= 65535, `length ${bytes.length}`);
  assert.equal(bytes[0]! >>> 4, 6);
  assert.equal(40 + ((bytes[4]! << 8) | bytes[5]!), bytes.length);
}

function checkInvariants(b: Bench): void {
  const stats = b.core.stats();
  let queuedPeers = 0;
  for (let slot = 0; slot < b.table.slots; slot++) {
    const flags = b.table.flags(slot);
    const counting = b.table.bubbles(slot) !== 0 || b.table.pings(slot) !== 0;
    assert.equal((flags & PEER_COUNTING) !== 0, counting, 'PEER_COUNTING mirrors the counters');
    if ((flags & PEER_QUEUED) !== 0) queuedPeers++;
  }
  assert.ok(queuedPeers <= stats.queuedPackets);
  assert.ok(stats.queuedBytes <= queuedPeers * 1280, 'each peer within its 1280-byte budget');
  assert.equal(queuedPeers > 0, stats.queuedPackets > 0, 'PEER_QUEUED iff something is queued');
  for (const value of b.counters) assert.ok(Number.isInteger(value) && value >= 0);
}

function run(b: Bench, events: readonly Event[]): void {
  const history: Uint8Array[] = [];
  const record = (sent: readonly Sent[]): void => {
    for (const item of sent) {
      if (item.kind === 'udp') {
        assert.ok(item.bytes.length <= 65507);
        assertWholeIPv6(item.bytes);
        history.push(item.bytes);
      } else {
        assertWholeIPv6(item.bytes);
      }
    }
  };
  for (const event of events) {
    switch (event.kind) {
      case 'tun':
        record(b.tun(event.packet));
        break;
      case 'udp': {
        const [ipv4, port] = SOURCES[event.from]!;
        record(b.udp(event.datagram, ipv4, port));
        break;
      }
      case 'reflect': {
        const sent = history[event.pick % Math.max(1, history.length)];
        if (sent !== undefined) {
          const [ipv4, port] = SOURCES[event.from]!;
          record(b.udp(reflect(sent), ipv4, port));
        }
        break;
      }
      case 'advance':
        b.advance(event.ms);
        break;
      case 'tick':
        b.core.tick(b.nowMs);
        break;
      case 'identity':
        try {
          b.core.setClientIdentity(IDENTITIES[event.which] ?? null);
        } catch (error) {
          // Only a relay refuses, by contract.
          assert.ok(error instanceof RangeError && b.table.size() >= 0);
        }
        break;
    }
    checkInvariants(b);
  }
}

const roles = [
  { name: 'client', options: { role: 'client' as const } },
  { name: 'unqualified client', options: { role: 'client' as const, qualified: false } },
  { name: 'restricted relay', options: { role: 'relay' as const, cone: false } },
  { name: 'cone relay', options: { role: 'relay' as const, cone: true } },
];

/** Paths each role's random sequences must reach, or the generators have gone blind. */
const MUST_REACH: Readonly<Record<string, readonly TunnelCounterName[]>> = {
  client: [
    'encapsulated',
    'decapsulated',
    'bubble-sent',
    'reply-bubble-sent',
    'ping-sent',
    'rx-ping-reply',
    'rx-mapping-learned',
    'rx-hmac-bubble',
    'rx-queued',
    'queue-flushed',
    'icmp-sent',
    'peers-expired',
    'peers-reset',
    'drop-rx-malformed',
    'drop-rx-link-local-source',
    'drop-tx-queue-full',
  ],
  'unqualified client': ['tx-not-qualified', 'drop-rx-not-qualified', 'icmp-sent'],
  'restricted relay': [
    'bubble-sent',
    'rx-hmac-bubble',
    'rx-mapping-learned',
    'queue-flushed',
    'tx-relay-not-teredo',
  ],
  'cone relay': ['bubble-sent', 'rx-mapping-learned', 'queue-flushed', 'drop-rx-unknown-peer'],
};

for (const { name, options } of roles) {
  test(`${name}: random event sequences never throw and keep the invariants`, () => {
    const totals = new Float64Array(TUNNEL_COUNTER_NAMES.length);
    fc.assert(
      fc.property(
        fc.array(eventArb, { minLength: 10, maxLength: 60, size: 'max' }),
        fc.constantFrom(2, 8, 64),
        (events, capacity) => {
          const b = bench({ ...options, capacity });
          run(b, events);
          b.counters.forEach((value, index) => (totals[index] = totals[index]! + value));
        },
      ),
      { numRuns: 400 },
    );
    const unreached = (MUST_REACH[name] ?? []).filter(
      (counter) => totals[TUNNEL_COUNTER_NAMES.indexOf(counter)] === 0,
    );
    assert.deepEqual(unreached, []);
  });

  test(`${name}: raw random bytes from the TUN device and the network never throw`, () => {
    const b = bench(options);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 160 }),
        fc.nat(SOURCES.length - 1),
        fc.boolean(),
        (bytes, from, toTun) => {
          const [ipv4, port] = SOURCES[from]!;
          const sent = toTun ? b.tun(bytes) : b.udp(bytes, ipv4, port);
          for (const item of sent) assertWholeIPv6(item.bytes);
        },
      ),
      { numRuns: 3000 },
    );
  });
}
