/**
 * RFC 6081 hairpinning (src/teredo/hairpinning.ts) in the tunnel core: our indirect bubbles carry
 * our local address; a neighbour's Alternate Address trailer, relayed by our server from our own
 * public IPv4, gets a bubble to its local address and its packets are accepted from there; every
 * other case sends nothing and counts its refusal (issue 13 item 5).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { isPrivateIPv4 } from '../../../src/teredo/hairpinning.js';
import { writeAlternateAddressTrailer } from '../../../src/teredo/trailers.js';
import type { AlternateAddress } from '../../../src/teredo/trailers.js';
import { hexOf } from './fixtures.js';
import {
  bench,
  bubble,
  CLIENT_ADDRESS,
  ipv6Packet,
  MAPPED_IPV4,
  MAPPED_PORT,
  PREFIX,
  SERVER_IPV4,
  TEREDO_PORT,
  tun,
  udp,
  withOrigin,
} from './relay-harness.js';
import type { Bench } from './relay-harness.js';

const LOCAL_IPV4 = 0x0a000002; // 10.0.0.2
const LOCAL_PORT = 20001;
const NEIGHBOUR_PORT = 40001;
const NEIGHBOUR_LOCAL = { ipv4: 0x0a000003, port: 20002 }; // 10.0.0.3:20002
const NEIGHBOUR = encodeTeredoAddress({
  prefix: PREFIX,
  server: SERVER_IPV4,
  flags: 0,
  port: NEIGHBOUR_PORT,
  client: MAPPED_IPV4,
});
const STRANGER_IPV4 = 0xcb00714d; // 203.0.113.77: another public address
const NEIGHBOUR_LL = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);

function client(): Bench {
  const b = bench();
  b.core.setClientIdentity({
    address: CLIENT_ADDRESS,
    serverIPv4: SERVER_IPV4,
    mtu: 1280,
    localIPv4: LOCAL_IPV4,
    localPort: LOCAL_PORT,
  });
  return b;
}

function trailer(entries: readonly AlternateAddress[]): Uint8Array {
  const out = new Uint8Array(32);
  return out.slice(0, writeAlternateAddressTrailer(out, 0, entries));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

/** The neighbour's indirect bubble as our server relays it: origin = its mapping. */
function relayedBubble(
  entries: readonly AlternateAddress[] = [NEIGHBOUR_LOCAL],
  originIPv4 = MAPPED_IPV4,
  originPort = NEIGHBOUR_PORT,
): Uint8Array {
  return withOrigin(concat(bubble(NEIGHBOUR_LL, CLIENT_ADDRESS), trailer(entries)), originPort, originIPv4);
}

const HAIRPIN_COUNTERS = [
  'hairpin-bubble-sent',
  'hairpin-peer-accepted',
  'hairpin-refused-not-via-server',
  'hairpin-refused-not-bubble',
  'hairpin-refused-other-nat',
  'hairpin-refused-self',
  'hairpin-refused-not-private',
  'hairpin-refused-paced',
  'hairpin-refused-rate',
] as const;

function hairpinCounters(b: Bench): Record<string, number> {
  return Object.fromEntries(
    HAIRPIN_COUNTERS.map((name) => [name, b.counter(name)]).filter(([, v]) => v !== 0),
  );
}

/** Datagrams sent to a local (private) address: hairpin bubbles. */
function toOthers(sent: ReturnType<Bench['udp']>): ReturnType<Bench['udp']> {
  return sent.filter((s) => s.kind === 'udp' && isPrivateIPv4(s.ipv4));
}

describe('hairpinning: sending', () => {
  it('our indirect bubble carries our local address; the direct one carries no trailer', () => {
    const b = client();
    const sent = b.tun(ipv6Packet(CLIENT_ADDRESS, NEIGHBOUR));
    const direct = udp(sent.find((s) => s.kind === 'udp' && s.ipv4 === MAPPED_IPV4));
    const indirect = udp(sent.find((s) => s.kind === 'udp' && s.ipv4 === SERVER_IPV4));
    assert.equal(direct.bytes.length, 40);
    assert.equal(indirect.port, TEREDO_PORT);
    assert.equal(hexOf(indirect.bytes.subarray(40)), '030800000a0000024e21');
  });

  it('no trailer without a private local address (no NAT, or unknown)', () => {
    for (const localIPv4 of [0, MAPPED_IPV4]) {
      const b = bench();
      b.core.setClientIdentity({
        address: CLIENT_ADDRESS,
        serverIPv4: SERVER_IPV4,
        mtu: 1280,
        localIPv4,
        localPort: 1,
      });
      const indirect = udp(
        b.tun(ipv6Packet(CLIENT_ADDRESS, NEIGHBOUR)).find((s) => s.kind === 'udp' && s.ipv4 === SERVER_IPV4),
      );
      assert.equal(indirect.bytes.length, 40);
    }
  });
});

describe('hairpinning: receiving', () => {
  it("a neighbour's bubble through our server: a bubble to its local address, then its packets from there", () => {
    const b = client();
    const sent = b.udp(relayedBubble(), SERVER_IPV4, TEREDO_PORT);
    const hairpin = udp(toOthers(sent)[0]);
    assert.deepEqual([hairpin.ipv4, hairpin.port], [NEIGHBOUR_LOCAL.ipv4, NEIGHBOUR_LOCAL.port]);
    assert.equal(hexOf(hairpin.bytes), hexOf(bubble(CLIENT_ADDRESS, NEIGHBOUR_LL)), 'our reply bubble');
    assert.equal(toOthers(sent).length, 1);

    const data = ipv6Packet(NEIGHBOUR, CLIENT_ADDRESS);
    const delivered = b.udp(data, NEIGHBOUR_LOCAL.ipv4, NEIGHBOUR_LOCAL.port);
    assert.equal(hexOf(tun(delivered[0]).bytes), hexOf(data));
    // Our answer goes to its local address.
    const answer = udp(b.tun(ipv6Packet(CLIENT_ADDRESS, NEIGHBOUR))[0]);
    assert.deepEqual([answer.ipv4, answer.port], [NEIGHBOUR_LOCAL.ipv4, NEIGHBOUR_LOCAL.port]);
    assert.deepEqual(hairpinCounters(b), { 'hairpin-bubble-sent': 1, 'hairpin-peer-accepted': 1 });
  });

  it('packets from a local address we sent no bubble to are not accepted', () => {
    const b = client();
    assert.deepEqual(
      b.udp(ipv6Packet(NEIGHBOUR, CLIENT_ADDRESS), NEIGHBOUR_LOCAL.ipv4, NEIGHBOUR_LOCAL.port),
      [],
    );
    b.udp(relayedBubble(), SERVER_IPV4, TEREDO_PORT);
    // Another port of the same host, or another peer's address from the right one: refused.
    assert.deepEqual(b.udp(ipv6Packet(NEIGHBOUR, CLIENT_ADDRESS), NEIGHBOUR_LOCAL.ipv4, 9999), []);
    const other = encodeTeredoAddress({
      prefix: PREFIX,
      server: SERVER_IPV4,
      flags: 0,
      port: 40009,
      client: MAPPED_IPV4,
    });
    assert.deepEqual(
      b.udp(ipv6Packet(other, CLIENT_ADDRESS), NEIGHBOUR_LOCAL.ipv4, NEIGHBOUR_LOCAL.port),
      [],
    );
    assert.equal(b.counter('hairpin-peer-accepted'), 0);
  });

  it('the acceptance ends peerValidityMs after our last bubble', () => {
    const b = client();
    b.udp(relayedBubble(), SERVER_IPV4, TEREDO_PORT);
    b.advance(30_001);
    assert.deepEqual(
      b.udp(ipv6Packet(NEIGHBOUR, CLIENT_ADDRESS), NEIGHBOUR_LOCAL.ipv4, NEIGHBOUR_LOCAL.port),
      [],
    );
  });

  it('one bubble per entry per bubble interval; at most 4 entries in a trailer', () => {
    const b = client();
    b.udp(relayedBubble(), SERVER_IPV4, TEREDO_PORT);
    assert.deepEqual(toOthers(b.udp(relayedBubble(), SERVER_IPV4, TEREDO_PORT)), []);
    b.advance(2_001);
    assert.equal(toOthers(b.udp(relayedBubble(), SERVER_IPV4, TEREDO_PORT)).length, 1);
    assert.deepEqual(hairpinCounters(b), { 'hairpin-bubble-sent': 2, 'hairpin-refused-paced': 1 });
  });

  it('at most 8 hairpin bubbles a second for the whole tunnel', () => {
    const b = client();
    const four = (n: number): AlternateAddress[] =>
      [0, 1, 2, 3].map((i) => ({ ipv4: 0x0a000010 + n * 4 + i, port: 20000 }));
    let sent = 0;
    for (let n = 0; n < 3; n++)
      sent += toOthers(
        b.udp(relayedBubble(four(n), MAPPED_IPV4, 41000 + n), SERVER_IPV4, TEREDO_PORT),
      ).length;
    assert.equal(sent, 8);
    assert.equal(b.counter('hairpin-refused-rate'), 4);
  });
});

describe('hairpinning: crafted Alternate Address trailers send nothing (issue 13 item 5)', () => {
  const cases: ReadonlyArray<{
    readonly name: string;
    readonly counter: (typeof HAIRPIN_COUNTERS)[number];
    readonly datagram: Uint8Array;
    readonly from: readonly [number, number];
  }> = [
    {
      name: 'from a peer behind another public address',
      counter: 'hairpin-refused-other-nat',
      datagram: relayedBubble([NEIGHBOUR_LOCAL], STRANGER_IPV4),
      from: [SERVER_IPV4, TEREDO_PORT],
    },
    {
      name: 'straight from the peer (no server, no origin indication)',
      counter: 'hairpin-refused-not-via-server',
      datagram: concat(bubble(NEIGHBOUR, CLIENT_ADDRESS), trailer([NEIGHBOUR_LOCAL])),
      from: [MAPPED_IPV4, NEIGHBOUR_PORT],
    },
    {
      name: 'from the server address but without an origin indication',
      counter: 'hairpin-refused-not-via-server',
      datagram: concat(bubble(NEIGHBOUR, CLIENT_ADDRESS), trailer([NEIGHBOUR_LOCAL])),
      from: [SERVER_IPV4, TEREDO_PORT],
    },
    {
      name: 'with an origin indication from a host that is not our server',
      counter: 'hairpin-refused-not-via-server',
      datagram: relayedBubble(),
      from: [STRANGER_IPV4, TEREDO_PORT],
    },
    {
      name: 'on a packet that is not a bubble',
      counter: 'hairpin-refused-not-bubble',
      datagram: withOrigin(
        concat(ipv6Packet(NEIGHBOUR, CLIENT_ADDRESS), trailer([NEIGHBOUR_LOCAL])),
        NEIGHBOUR_PORT,
        MAPPED_IPV4,
      ),
      from: [SERVER_IPV4, TEREDO_PORT],
    },
    {
      name: 'pointing at a public host (a third party)',
      counter: 'hairpin-refused-not-private',
      datagram: relayedBubble([{ ipv4: 0xc6336409, port: 53 }]),
      from: [SERVER_IPV4, TEREDO_PORT],
    },
    {
      name: 'from our own mapping',
      counter: 'hairpin-refused-self',
      datagram: relayedBubble([NEIGHBOUR_LOCAL], MAPPED_IPV4, MAPPED_PORT),
      from: [SERVER_IPV4, TEREDO_PORT],
    },
    {
      name: 'pointing at our own local address',
      counter: 'hairpin-refused-self',
      datagram: relayedBubble([{ ipv4: LOCAL_IPV4, port: LOCAL_PORT }]),
      from: [SERVER_IPV4, TEREDO_PORT],
    },
  ];
  for (const { name, counter, datagram, from } of cases) {
    it(name, () => {
      const b = client();
      const sent = b.udp(datagram, from[0], from[1]);
      const hairpinned = sent.filter((s) => s.kind === 'udp' && isPrivateIPv4(s.ipv4));
      assert.deepEqual(hairpinned, [], 'nothing to a local address');
      assert.ok(
        sent.every((s) => s.kind !== 'udp' || s.ipv4 === MAPPED_IPV4 || s.ipv4 === STRANGER_IPV4),
        `only the RFC 4380 reply bubble, to the packet's own origin: ${JSON.stringify(sent.map((s) => (s.kind === 'udp' ? s.ipv4 : 'tun')))}`,
      );
      assert.deepEqual(hairpinCounters(b), { [counter]: 1 });
    });
  }
});
