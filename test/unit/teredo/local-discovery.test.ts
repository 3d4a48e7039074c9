/**
 * Local client discovery (src/teredo/local-discovery.ts, RFC 4380 section 5.2.8): announcements,
 * learning a peer on the link, the probe that proves a local path, and every refusal.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTeredoAddress, formatIPv6 } from '../../../src/teredo/address.js';
import { isOnLink } from '../../../src/teredo/local-discovery-rules.js';
import { PEER_SOLICITED, PEER_TRUSTED, PEER_UNPROVEN } from '../../../src/teredo/peers.js';
import {
  address,
  bench,
  bubble,
  CLIENT_ADDRESS,
  ipv6Packet,
  MAPPED_IPV4,
  ourBubbleSource,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PREFIX,
  tun,
  udp,
  withOrigin,
} from './relay-harness.js';
import type { Bench, Sent } from './relay-harness.js';

const GROUP = 0xe00000fd;
const ALL_NODES = address('ff02::1');
/** Our interface: 10.0.0.2/24. */
const LINK = { ipv4: 0x0a000002, prefixLength: 24 };
/** A neighbour behind our NAT: 10.0.0.3:20001, mapped at our public address, port 40001. */
const NEIGHBOUR_IPV4 = 0x0a000003;
const NEIGHBOUR_PORT = 20001;
const NEIGHBOUR = encodeTeredoAddress({
  prefix: PREFIX,
  server: 0xc6336401,
  flags: 0x0100,
  port: 40001,
  client: MAPPED_IPV4,
});

function discoveryBench(): Bench {
  return bench({ localLink: LINK, random: () => 0 });
}

function discover(
  b: Bench,
  datagram: Uint8Array,
  ipv4 = NEIGHBOUR_IPV4,
  port = NEIGHBOUR_PORT,
  to = GROUP,
): Sent[] {
  b.core.fromDiscovery(datagram, 0, datagram.length, ipv4, port, to, b.nowMs, b.out);
  return b.out.take();
}

function announce(b: Bench): Sent[] {
  b.core.announce(b.nowMs, b.out);
  return b.out.take();
}

const announcement = (source: Uint8Array = NEIGHBOUR): Uint8Array => bubble(source, ALL_NODES);

/** Learns NEIGHBOUR and returns the probe we sent it. */
function learnNeighbour(b: Bench): Uint8Array {
  const sent = discover(b, announcement());
  assert.equal(sent.length, 1);
  const probe = udp(sent[0]);
  assert.deepEqual([probe.ipv4, probe.port], [NEIGHBOUR_IPV4, NEIGHBOUR_PORT]);
  return probe.bytes;
}

/** The neighbour's answer to `probe`: the reply bubble, addresses swapped. */
const answerTo = (probe: Uint8Array): Uint8Array => bubble(probe.subarray(24, 40), probe.subarray(8, 24));

describe('announcements', () => {
  test('a qualified client announces its Teredo address to 224.0.0.253:3544, then every 7.5-15 s', () => {
    const b = discoveryBench();
    const first = udp(announce(b)[0]);
    assert.deepEqual([first.ipv4, first.port], [GROUP, 3544]);
    assert.equal(first.bytes.length, 40);
    assert.equal(formatIPv6(first.bytes, 8), formatIPv6(CLIENT_ADDRESS));
    assert.equal(formatIPv6(first.bytes, 24), 'ff02::1');
    assert.deepEqual([first.bytes[4], first.bytes[5], first.bytes[6]], [0, 0, 59], 'a bubble');
    b.advance(7_499);
    assert.deepEqual(announce(b), []);
    b.advance(1);
    assert.equal(announce(b).length, 1);
    assert.equal(b.counter('discovery-sent'), 2);
  });

  test('the interval is spread over [7.5 s, 15 s) by the random source', () => {
    const b = bench({ localLink: LINK, random: () => 0.999 });
    announce(b);
    b.advance(14_900);
    assert.deepEqual(announce(b), []);
    b.advance(100);
    assert.equal(announce(b).length, 1);
  });

  test('nothing before qualification; a new address is announced at once', () => {
    const b = bench({ localLink: LINK, qualified: false, random: () => 0 });
    assert.deepEqual(announce(b), []);
    b.core.setClientIdentity({ address: CLIENT_ADDRESS, serverIPv4: 0xc6336401, mtu: 1280 });
    assert.equal(announce(b).length, 1);
    b.advance(1000);
    b.core.setClientIdentity({ address: NEIGHBOUR, serverIPv4: 0xc6336401, mtu: 1280 });
    const again = udp(announce(b)[0]);
    assert.equal(formatIPv6(again.bytes, 8), formatIPv6(NEIGHBOUR));
  });

  test('without a local link (LocalDiscovery false) nothing is announced or learnt', () => {
    const b = bench();
    assert.deepEqual(announce(b), []);
    assert.deepEqual(discover(b, announcement()), []);
    assert.equal(b.slotOf(NEIGHBOUR), -1);
    // A probe is then a link-local source, dropped as before.
    assert.deepEqual(b.udp(bubble(address('fe80::1'), CLIENT_ADDRESS), NEIGHBOUR_IPV4, NEIGHBOUR_PORT), []);
    assert.equal(b.counter('drop-rx-link-local-source'), 1);
  });
});

describe('learning a peer on the link', () => {
  test('its Teredo address is then reached at its local address, both ways', () => {
    const b = discoveryBench();
    announce(b);
    const probe = learnNeighbour(b);
    assert.equal(formatIPv6(probe, 24), formatIPv6(NEIGHBOUR), 'probe to its Teredo address');
    const source = ourBubbleSource(b.security, NEIGHBOUR_IPV4, NEIGHBOUR_PORT);
    assert.equal(
      formatIPv6(probe, 8),
      formatIPv6(source),
      'from our HMAC interface ID for its local address',
    );
    const slot = b.slotOf(NEIGHBOUR);
    assert.equal(b.table.flags(slot) & (PEER_TRUSTED | PEER_UNPROVEN), PEER_TRUSTED | PEER_UNPROVEN);

    const out = udp(b.tun(ipv6Packet(CLIENT_ADDRESS, NEIGHBOUR))[0]);
    assert.deepEqual([out.ipv4, out.port], [NEIGHBOUR_IPV4, NEIGHBOUR_PORT]);
    const delivered = b.udp(ipv6Packet(NEIGHBOUR, CLIENT_ADDRESS), NEIGHBOUR_IPV4, NEIGHBOUR_PORT);
    assert.equal(tun(delivered[0]).bytes.length, 48);
    // ... and from anywhere else it is not.
    assert.deepEqual(b.udp(ipv6Packet(NEIGHBOUR, CLIENT_ADDRESS), NEIGHBOUR_IPV4, NEIGHBOUR_PORT + 1), []);
    assert.equal(b.counter('discovery-peer-local'), 1);
  });

  test('a newcomer gets an announcement within a second, not a flood of them', () => {
    const b = discoveryBench();
    announce(b);
    b.advance(200);
    learnNeighbour(b);
    b.advance(799);
    assert.deepEqual(announce(b), []);
    b.advance(1);
    assert.equal(announce(b).length, 1);
  });

  test('answering our probe proves the local path', () => {
    const b = discoveryBench();
    const probe = learnNeighbour(b);
    assert.deepEqual(b.udp(answerTo(probe), NEIGHBOUR_IPV4, NEIGHBOUR_PORT), []);
    const flags = b.table.flags(b.slotOf(NEIGHBOUR));
    assert.equal(flags & (PEER_TRUSTED | PEER_UNPROVEN | PEER_SOLICITED), PEER_TRUSTED | PEER_SOLICITED);
    assert.equal(b.counter('discovery-path-proven'), 1);
    assert.equal(b.counter('peers-proven'), 1);
  });

  test('an answer nobody asked for, or from elsewhere, proves nothing', () => {
    const b = discoveryBench();
    const probe = learnNeighbour(b);
    assert.deepEqual(b.udp(answerTo(probe), NEIGHBOUR_IPV4 + 1, NEIGHBOUR_PORT), []);
    b.advance(10_000);
    assert.deepEqual(b.udp(answerTo(probe), NEIGHBOUR_IPV4, NEIGHBOUR_PORT), []);
    assert.equal(b.counter('drop-discovery-probe-unknown'), 1, 'the late one');
    assert.notEqual(b.table.flags(b.slotOf(NEIGHBOUR)) & PEER_UNPROVEN, 0);
    assert.equal(b.counter('discovery-path-proven'), 0);
  });

  test('a probe from the link is answered with the reply bubble', () => {
    const b = discoveryBench();
    const probeSource = address('fe80::1234:5678:9abc:def0');
    const sent = b.udp(bubble(probeSource, CLIENT_ADDRESS), NEIGHBOUR_IPV4, NEIGHBOUR_PORT);
    const reply = udp(sent[0]);
    assert.deepEqual([reply.ipv4, reply.port], [NEIGHBOUR_IPV4, NEIGHBOUR_PORT]);
    assert.equal(formatIPv6(reply.bytes, 8), formatIPv6(CLIENT_ADDRESS));
    assert.equal(formatIPv6(reply.bytes, 24), formatIPv6(probeSource));
    assert.equal(b.counter('discovery-probe-answered'), 1);
    // Not for us, or not from the link: dropped as before.
    assert.deepEqual(b.udp(bubble(probeSource, NEIGHBOUR), NEIGHBOUR_IPV4, NEIGHBOUR_PORT), []);
    assert.deepEqual(b.udp(bubble(probeSource, CLIENT_ADDRESS), 0xc0a80105, NEIGHBOUR_PORT), []);
    assert.equal(b.counter('drop-rx-link-local-source'), 2);
  });

  test('later announcements refresh the peer', () => {
    const b = discoveryBench();
    learnNeighbour(b);
    b.advance(20_000);
    discover(b, announcement());
    assert.equal(b.table.lastRx(b.slotOf(NEIGHBOUR)), Math.floor(b.nowMs / 1000));
    assert.equal(b.counter('discovery-refreshed'), 1);
  });
});

describe('a peer with a proven path elsewhere', () => {
  /** NEIGHBOUR proven at its public mapping (203.0.113.5:40001), as without discovery. */
  function provenAtMapping(b: Bench): void {
    const sent = b.tun(ipv6Packet(CLIENT_ADDRESS, NEIGHBOUR));
    const direct = udp(sent[0]);
    assert.deepEqual([direct.ipv4, direct.port], [MAPPED_IPV4, 40001]);
    const answer = bubble(NEIGHBOUR, ourBubbleSource(b.security, MAPPED_IPV4, 40001));
    b.udp(answer, MAPPED_IPV4, 40001);
    assert.equal(b.table.flags(b.slotOf(NEIGHBOUR)) & PEER_UNPROVEN, 0, 'proven');
  }

  test('keeps it on a discovery alone, and moves once the local path is proven', () => {
    const b = discoveryBench();
    provenAtMapping(b);
    const probe = learnNeighbour(b);
    assert.equal(b.counter('discovery-kept-proven'), 1);
    const still = udp(b.tun(ipv6Packet(CLIENT_ADDRESS, NEIGHBOUR))[0]);
    assert.deepEqual([still.ipv4, still.port], [MAPPED_IPV4, 40001], 'not redirected by a claim');
    b.udp(answerTo(probe), NEIGHBOUR_IPV4, NEIGHBOUR_PORT);
    const moved = udp(b.tun(ipv6Packet(CLIENT_ADDRESS, NEIGHBOUR))[0]);
    assert.deepEqual([moved.ipv4, moved.port], [NEIGHBOUR_IPV4, NEIGHBOUR_PORT]);
  });
});

describe('refusals, each counted', () => {
  const cases: readonly [string, (b: Bench) => Sent[], string][] = [
    ['from off our subnet', (b) => discover(b, announcement(), 0x0a000103), 'drop-discovery-off-link'],
    ['from the subnet broadcast', (b) => discover(b, announcement(), 0x0a0000ff), 'drop-discovery-off-link'],
    ['from port 0', (b) => discover(b, announcement(), NEIGHBOUR_IPV4, 0), 'drop-discovery-off-link'],
    ['our own, looped back', (b) => discover(b, announcement(CLIENT_ADDRESS)), 'drop-discovery-own'],
    [
      'a source that is not Teredo',
      (b) => discover(b, announcement(address('2001:db8::5'))),
      'drop-discovery-not-teredo',
    ],
    [
      'a Teredo address behind another NAT',
      (b) => discover(b, announcement(PEER_ADDRESS)),
      'drop-discovery-foreign-mapping',
    ],
    ['not a bubble', (b) => discover(b, ipv6Packet(NEIGHBOUR, ALL_NODES)), 'drop-discovery-not-bubble'],
    [
      'a bubble to someone',
      (b) => discover(b, bubble(NEIGHBOUR, CLIENT_ADDRESS)),
      'drop-discovery-not-bubble',
    ],
    [
      'with an origin indication',
      (b) => discover(b, withOrigin(announcement(), 1, 2)),
      'drop-discovery-malformed',
    ],
    [
      'not sent to the group',
      (b) => discover(b, announcement(), NEIGHBOUR_IPV4, NEIGHBOUR_PORT, LINK.ipv4),
      'drop-discovery-malformed',
    ],
    ['truncated', (b) => discover(b, announcement().subarray(0, 39)), 'drop-discovery-malformed'],
  ];
  for (const [what, send, counter] of cases) {
    test(what, () => {
      const b = discoveryBench();
      assert.deepEqual(send(b), []);
      assert.equal(b.counter(counter as Parameters<Bench['counter']>[0]), 1);
      assert.equal(b.table.size(), 0);
    });
  }

  test('before qualification', () => {
    const b = bench({ localLink: LINK, qualified: false });
    assert.deepEqual(discover(b, announcement()), []);
    assert.equal(b.counter('drop-discovery-not-qualified'), 1);
  });

  test('a client with no NAT on the link may claim its own address', () => {
    const b = discoveryBench();
    const own = encodeTeredoAddress({
      prefix: PREFIX,
      server: 0xc6336401,
      flags: 0,
      port: 3000,
      client: 0x0a000009,
    });
    assert.equal(discover(b, announcement(own), 0x0a000009, 3000).length, 1);
    assert.equal(b.counter('discovery-peer-local'), 1);
  });

  test('more than 4 at once from one source, or 40 from all, are refused', () => {
    const b = discoveryBench();
    for (let i = 0; i < 5; i++) {
      const address16 = encodeTeredoAddress({
        prefix: PREFIX,
        server: 0xc6336401,
        flags: 0,
        port: 41000 + i,
        client: MAPPED_IPV4,
      });
      discover(b, announcement(address16));
    }
    assert.equal(b.counter('drop-discovery-rate-limited'), 1);
    for (let i = 0; i < 60; i++) {
      const address16 = encodeTeredoAddress({
        prefix: PREFIX,
        server: 0xc6336401,
        flags: 0,
        port: 42000 + i,
        client: MAPPED_IPV4,
      });
      discover(b, announcement(address16), 0x0a000010 + i, 20000);
    }
    assert.equal(b.counter('discovery-received'), 40, '4 from the first source, then the total burst of 40');
    assert.equal(b.counter('drop-discovery-rate-limited'), 1 + 24);
  });

  test('a table with no room refuses the newcomer', () => {
    const b = bench({ localLink: LINK, capacity: 0, random: () => 0 });
    assert.deepEqual(discover(b, announcement()), []);
    assert.equal(b.counter('drop-discovery-table-full'), 1);
  });
});

test('isOnLink: the subnet, not its network or broadcast address; a /31 and /32 have neither', () => {
  assert.equal(isOnLink(LINK, 0x0a000001, 1), true);
  assert.equal(isOnLink(LINK, 0x0a000000, 1), false);
  assert.equal(isOnLink(LINK, 0x0a0000ff, 1), false);
  assert.equal(isOnLink(LINK, 0x0a000101, 1), false);
  assert.equal(isOnLink(LINK, PEER_IPV4, PEER_PORT), false);
  assert.equal(isOnLink({ ipv4: 0x0a000002, prefixLength: 31 }, 0x0a000003, 1), true);
  assert.equal(isOnLink({ ipv4: 0x0a000002, prefixLength: 32 }, 0x0a000002, 1), true);
  assert.equal(isOnLink({ ipv4: 0x0a000002, prefixLength: 32 }, 0x0a000003, 1), false);
  assert.equal(isOnLink({ ipv4: 0x0a000002, prefixLength: 0 }, 0xe00000fd, 1), false, 'never multicast');
});
