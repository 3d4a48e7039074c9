/**
 * The Teredo server's rules (reference section 4.11), one datagram at a time, comparing the exact
 * bytes sent with the core's builders and the exact drop counter.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientLinkLocal } from '../../../src/teredo/address.js';
import { defineConstants, NEXT_HEADER } from '../../../src/teredo/constants.js';
import {
  buildRouterAdvertisement,
  createRouterAdvertisement,
  parseRouterAdvertisement,
} from '../../../src/teredo/icmpv6.js';
import type { RouterAdvertisementFields } from '../../../src/teredo/icmpv6.js';
import {
  createServerAction,
  createServerProcessor,
  SERVER_ACTION_DROP,
  SERVER_ACTION_SEND_RAW,
  SERVER_ACTION_SEND_UDP,
  SERVER_MAX_OUTPUT_BYTES,
} from '../../../src/teredo/server.js';
import { SERVER_COUNTER, SERVER_COUNTER_NAMES } from '../../../src/teredo/server-counters.js';
import { createTeredoPayload, parseTeredoPayload } from '../../../src/teredo/wire.js';
import { address, bytesOf, hexOf, NONCE } from './fixtures.js';
import {
  ALL_ROUTERS,
  bubble,
  CLIENT,
  CLIENT_IPV4,
  CLIENT_PORT,
  concat,
  datagram,
  echoRequest,
  ipv6Packet,
  judge,
  NATIVE,
  NATIVE_PEER_IPV4,
  NATIVE_PEER_PORT,
  originIndication,
  OTHER_CLIENT,
  OTHER_SERVER,
  PRIMARY,
  SECONDARY,
  SERVER_LL,
  serverParams,
  solicitation,
  teredo,
} from './server-datagrams.js';
import type { JudgeOptions, Sent } from './server-datagrams.js';

const server = createServerProcessor(serverParams());
const RESTRICTED_LL = clientLinkLocal(false);
const CONE_LL = clientLinkLocal(true);
const RS = solicitation();
const AUTH = { nonce: NONCE };
const FROM_RELAY: JudgeOptions = { from: [NATIVE_PEER_IPV4, NATIVE_PEER_PORT] };

function run(bytes: Uint8Array, options?: JudgeOptions): Sent {
  return judge(server, bytes, options);
}

function assertDrop(sent: Sent, counter: string, what = ''): void {
  assert.equal(sent.kind, 'drop', `${what}: expected a drop (${counter}), got ${sent.kind} ${sent.counter}`);
  assert.equal(sent.counter, counter, what);
  assert.equal(sent.bytes.length, 0, what);
}

function assertUdp(sent: Sent, expected: Uint8Array, to: readonly [number, number], socket = 0): void {
  assert.equal(sent.kind, 'udp', `expected a UDP send, got ${sent.kind} ${sent.counter}`);
  assert.deepEqual([sent.ipv4, sent.port, sent.socket], [to[0], to[1], socket]);
  assert.equal(hexOf(sent.bytes), hexOf(expected));
}

function expectedRA(fields: Partial<RouterAdvertisementFields> = {}): Uint8Array {
  const out = new Uint8Array(SERVER_MAX_OUTPUT_BYTES);
  const length = buildRouterAdvertisement(out, 0, {
    originPort: CLIENT_PORT,
    originIPv4: CLIENT_IPV4,
    destination: RESTRICTED_LL,
    serverIPv4: PRIMARY,
    ...fields,
  });
  return out.slice(0, length);
}

function assertRA(
  sent: Sent,
  expected: Uint8Array,
  socket = 0,
  to: readonly [number, number] = [CLIENT_IPV4, CLIENT_PORT],
): void {
  assert.equal(sent.counter, 'ra-sent');
  assertUdp(sent, expected, to, socket);
}

describe('rule 1: a whole IPv6 packet', () => {
  const cases: ReadonlyArray<readonly [string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['one byte', bytesOf('60')],
    ['auth header cut', datagram(RS, { auth: AUTH }).slice(0, 12)],
    ['auth value longer than the datagram', concat(bytesOf('0001 00 ff'), new Uint8Array(60))],
    ['origin indication cut', bytesOf('0000 63bf 34ff')],
    ['IPv6 header cut', RS.slice(0, 39)],
    ['IPv4 instead of IPv6', concat(bytesOf('45'), RS.subarray(1))],
    ['payload shorter than announced', RS.slice(0, 47)],
    [
      'payload length lies',
      ipv6Packet({ source: CLIENT, destination: NATIVE, nextHeader: 58, payloadLength: 9 }),
    ],
  ];
  for (const [name, bytes] of cases) {
    test(name, () => assertDrop(run(bytes), 'drop-malformed', name));
  }

  test('only bytes[offset, offset + length) count, not what follows in the buffer', () => {
    // judge() puts 0x60 bytes after the datagram: a parser reading past `length` would find "more payload".
    assertDrop(run(RS.slice(0, 47)), 'drop-malformed');
    assertRA(run(RS), expectedRA());
  });
});

describe('rule 2: a bubble or ICMPv6', () => {
  test('UDP, "no next header" with a payload and extension headers are dropped', () => {
    for (const [name, nextHeader, payload] of [
      ['UDP', 17, new Uint8Array(8)],
      ['no next header with payload', NEXT_HEADER.noNextHeader, new Uint8Array(8)],
      ['hop-by-hop before ICMPv6', 0, bytesOf('3a00 0000 0000 0000 8000 0000 0000 0000')],
    ] as const) {
      const packet = ipv6Packet({ source: CLIENT, destination: NATIVE, nextHeader, payload });
      assertDrop(run(datagram(packet)), 'drop-not-icmpv6-or-bubble', name);
    }
  });

  test('a bubble and an empty ICMPv6 packet pass', () => {
    const sent = run(bubble(CLIENT, NATIVE));
    assert.equal(sent.counter, 'forwarded-native');
    const empty = ipv6Packet({ source: CLIENT, destination: NATIVE, nextHeader: NEXT_HEADER.icmpv6 });
    assert.equal(run(empty).counter, 'forwarded-native');
  });
});

describe('rule 3: the outer source is global unicast', () => {
  const refused = [
    0x0a010203, 0xac100001, 0xc0a80101, 0x7f000001, 0xa9fe0101, 0x00010203, 0xc0586301, 0xe0000001,
    0xffffffff,
  ];
  test('RSs from private, loopback, link-local, 6to4-anycast, multicast and broadcast sources', () => {
    for (const ipv4 of refused) {
      assertDrop(run(RS, { from: [ipv4, CLIENT_PORT] }), 'drop-source-not-global', ipv4.toString(16));
    }
  });

  test('what Miredo counts as global passes (shared, benchmarking and class E space)', () => {
    for (const ipv4 of [0x64400001, 0xc6120001, 0xf0000001]) {
      const sent = run(RS, { from: [ipv4, CLIENT_PORT] });
      assertRA(sent, expectedRA({ originIPv4: ipv4 }), 0, [ipv4, CLIENT_PORT]);
    }
  });

  test('also for forwarding', () => {
    const source = teredo({ client: 0x0a000001 });
    assertDrop(run(bubble(source, NATIVE), { from: [0x0a000001, CLIENT_PORT] }), 'drop-source-not-global');
  });
});

describe('rule 4: what the server accepts', () => {
  test('an RS needs no authentication', () => {
    assertRA(run(RS), expectedRA());
  });

  test('an RS is recognised by its type alone, as in Miredo (code not checked)', () => {
    assertRA(run(solicitation({ code: 1 })), expectedRA());
  });

  test('an ICMPv6 message under 8 bytes or of another type is not an RS', () => {
    assertDrop(run(solicitation({ body: new Uint8Array(0) })), 'drop-destination-not-served');
    assertDrop(run(solicitation({ type: 128 })), 'drop-destination-not-served');
  });

  test('an RS from a link-local source to anything but ff02::2 is not accepted', () => {
    assertDrop(run(solicitation({ destination: SERVER_LL })), 'drop-destination-not-served');
  });

  test('an RS needs a link-local source unless it comes from a Teredo address', () => {
    assertDrop(run(solicitation({ source: NATIVE })), 'drop-destination-not-served');
  });

  test('a Teredo source must send from the mapping its address embeds', () => {
    const packet = echoRequest(CLIENT, NATIVE);
    assert.equal(run(packet).counter, 'forwarded-native');
    assertDrop(run(packet, { from: [CLIENT_IPV4, CLIENT_PORT + 1] }), 'drop-mapping-mismatch');
    assertDrop(run(packet, { from: [CLIENT_IPV4 + 1, CLIENT_PORT] }), 'drop-mapping-mismatch');
    assertDrop(run(bubble(CLIENT, OTHER_CLIENT), { from: [CLIENT_IPV4, 1] }), 'drop-mapping-mismatch');
  });

  test("a Teredo source's own server does not matter", () => {
    const elsewhere = teredo({ server: OTHER_SERVER });
    assert.equal(run(echoRequest(elsewhere, NATIVE)).counter, 'forwarded-native');
  });

  test('a non-Teredo source may only reach Teredo addresses served by our primary address', () => {
    const packet = (destination: Uint8Array): Uint8Array => echoRequest(NATIVE, destination);
    assert.equal(run(packet(CLIENT), FROM_RELAY).counter, 'forwarded-to-client');
    for (const [name, destination] of [
      ['served by our secondary address', teredo({ server: SECONDARY })],
      ['served elsewhere', teredo({ server: OTHER_SERVER })],
      ['native', address('2001:db8::2')],
    ] as const) {
      assertDrop(run(packet(destination), FROM_RELAY), 'drop-destination-not-served', name);
    }
  });

  test('"Teredo" means under the configured prefix', () => {
    const obsolete = teredo({ prefix: 0x3ffe831f });
    assertDrop(run(echoRequest(obsolete, NATIVE)), 'drop-destination-not-served');
    const obsoleteServer = createServerProcessor(serverParams({ prefix: 0x3ffe831f }));
    assert.equal(judge(obsoleteServer, echoRequest(obsolete, NATIVE)).counter, 'forwarded-native');
    assertDrop(judge(obsoleteServer, echoRequest(CLIENT, NATIVE)), 'drop-destination-not-served');
  });
});

describe('rule 5: no UDP loop with ourselves', () => {
  test('nothing from our own addresses at port 3544 is answered', () => {
    for (const ipv4 of [PRIMARY, SECONDARY]) {
      assertDrop(run(RS, { from: [ipv4, 3544] }), 'drop-loop');
      const source = teredo({ client: ipv4, port: 3544 });
      assertDrop(run(bubble(source, OTHER_CLIENT), { from: [ipv4, 3544] }), 'drop-loop');
      assertDrop(run(echoRequest(NATIVE, CLIENT), { from: [ipv4, 3544] }), 'drop-loop');
    }
  });

  test('other ports of our addresses, and port 3544 of other hosts, are served', () => {
    assertRA(run(RS, { from: [PRIMARY, 3545] }), expectedRA({ originIPv4: PRIMARY, originPort: 3545 }), 0, [
      PRIMARY,
      3545,
    ]);
    assertRA(
      run(RS, { from: [OTHER_SERVER, 3544] }),
      expectedRA({ originIPv4: OTHER_SERVER, originPort: 3544 }),
      0,
      [OTHER_SERVER, 3544],
    );
  });
});

describe('rule 6: packets for the server itself', () => {
  test('an RS with authentication gets the 117-byte RA echoing its nonce', () => {
    const sent = run(datagram(RS, { auth: AUTH }));
    assertRA(sent, expectedRA({ nonce: NONCE }));
    assert.equal(sent.bytes.length, 117);
    assert.equal(SERVER_COUNTER_NAMES[SERVER_COUNTER['ra-sent']], 'ra-sent');
  });

  test('without authentication the RA has none (104 bytes; Miredo sends stack garbage there)', () => {
    const sent = run(RS);
    assertRA(sent, expectedRA());
    assert.equal(sent.bytes.length, 104);
    assert.equal(hexOf(sent.bytes.subarray(0, 2)), '0000');
  });

  test('only the nonce is echoed, with confirmation 0, not the client ID or auth value', () => {
    const auth = {
      nonce: NONCE,
      confirmation: 1,
      clientId: bytesOf('aabbcc'),
      authValue: bytesOf('0102030405'),
    };
    const sent = run(datagram(RS, { auth, origin: { port: 1, ipv4: 0x01020304 } }));
    assertRA(sent, expectedRA({ nonce: NONCE }));
  });

  test('the RA goes back on the socket the RS came in on', () => {
    assertRA(run(RS, { arrivedOn: 0 }), expectedRA(), 0);
    assertRA(run(RS, { arrivedOn: 1 }), expectedRA(), 1);
  });

  test('a cone RS is answered from the other address, still advertising the primary one', () => {
    const cone = solicitation({ source: CONE_LL });
    const expected = expectedRA({ destination: CONE_LL });
    assertRA(run(cone, { arrivedOn: 0 }), expected, 1);
    assertRA(run(cone, { arrivedOn: 1 }), expected, 0);
    assert.equal(hexOf(expected.subarray(8 + 40 + 16 + 16, 8 + 40 + 16 + 24)), '20010000c6336401');
  });

  test('the RA a client parses gives its mapping, the prefix, our primary address and the MTU', () => {
    const custom = createServerProcessor(serverParams({ prefix: 0x3ffe831f, mtu: 1400 }));
    const sent = judge(custom, datagram(RS, { auth: AUTH }), { arrivedOn: 1 });
    assertRA(sent, expectedRA({ nonce: NONCE, prefix: 0x3ffe831f, mtu: 1400 }), 1);
    const payload = createTeredoPayload();
    assert.equal(parseTeredoPayload(sent.bytes, sent.bytes.length, payload), 'ok');
    const ra = createRouterAdvertisement();
    assert.equal(parseRouterAdvertisement(sent.bytes, payload, ra), 'ok');
    assert.deepEqual(
      { ...ra },
      {
        prefix: 0x20010000,
        serverIPv4: PRIMARY,
        mtu: 1400,
        originPort: CLIENT_PORT,
        originIPv4: CLIENT_IPV4,
      },
    );
  });

  test('an RS from a Teredo address, to ff02::2 or to our link-local address, is answered to that address', () => {
    for (const destination of [ALL_ROUTERS, SERVER_LL]) {
      const sent = run(solicitation({ source: CLIENT, destination }));
      assertRA(sent, expectedRA({ destination: CLIENT }));
    }
    const coneClient = teredo({ flags: 0x8000 });
    assertRA(
      run(solicitation({ source: coneClient }), { arrivedOn: 1 }),
      expectedRA({ destination: coneClient }),
      0,
    );
  });

  test('anything else for the server is dropped, echo requests included', () => {
    for (const destination of [ALL_ROUTERS, SERVER_LL]) {
      assertDrop(run(echoRequest(CLIENT, destination)), 'drop-to-server-not-rs');
      assertDrop(run(bubble(CLIENT, destination)), 'drop-to-server-not-rs');
      assertDrop(
        run(solicitation({ source: CLIENT, destination, body: new Uint8Array(0) })),
        'drop-to-server-not-rs',
      );
    }
  });

  test("our link-local address is the primary's: the secondary's is just a link-local destination", () => {
    const secondaryLL = address('fe80::8000:f227:39cc:9bfd');
    assertDrop(
      run(solicitation({ source: CLIENT, destination: secondaryLL })),
      'drop-destination-not-global',
    );
  });
});

describe('rule 7: only global destinations', () => {
  test('unspecified, loopback, link-local and multicast destinations are dropped', () => {
    for (const text of ['::', '::1', 'fe80::1', 'febf::1', 'ff02::1', 'ff0e::1']) {
      assertDrop(run(echoRequest(CLIENT, address(text))), 'drop-destination-not-global', text);
    }
  });

  test('unique-local and site-local destinations count as global', () => {
    for (const text of ['fd00::1', 'fec0::1', '::ffff:192.0.2.1']) {
      assert.equal(run(echoRequest(CLIENT, address(text))).counter, 'forwarded-native', text);
    }
  });
});

describe('rule 8: no open relay', () => {
  test('ICMPv6 is forwarded up to 88 bytes of payload, natively and to clients', () => {
    assert.equal(run(echoRequest(CLIENT, NATIVE, 80)).counter, 'forwarded-native');
    assertDrop(run(echoRequest(CLIENT, NATIVE, 81)), 'drop-too-large');
    assert.equal(run(echoRequest(CLIENT, OTHER_CLIENT, 80)).counter, 'forwarded-to-client');
    assertDrop(run(echoRequest(CLIENT, OTHER_CLIENT, 81)), 'drop-too-large');
    assertDrop(run(echoRequest(NATIVE, CLIENT, 1000), FROM_RELAY), 'drop-too-large');
  });

  test('the cap is the serverIcmpv6PayloadCap constant', () => {
    const constants = defineConstants({ serverIcmpv6PayloadCap: 100 });
    const roomier = createServerProcessor(serverParams({ constants }));
    assert.equal(judge(roomier, echoRequest(CLIENT, NATIVE, 92)).counter, 'forwarded-native');
    assertDrop(judge(roomier, echoRequest(CLIENT, NATIVE, 93)), 'drop-too-large');
  });
});

describe('rule 9: native destinations get the IPv6 packet on the raw socket', () => {
  test('verbatim: Teredo headers and trailer stripped, hop limit unchanged', () => {
    for (const hopLimit of [0, 1, 64, 255]) {
      const packet = echoRequest(CLIENT, NATIVE, 18, hopLimit);
      const framed = datagram(packet, {
        auth: AUTH,
        origin: { port: 9, ipv4: 0x01020304 },
        trailer: bytesOf('0101aabbccdd'),
      });
      const sent = run(framed, { arrivedOn: 1 });
      assert.equal(sent.kind, 'raw');
      assert.equal(sent.counter, 'forwarded-native');
      assert.equal(hexOf(sent.bytes), hexOf(packet));
      assert.equal(sent.bytes[7], hopLimit);
    }
  });

  test('bubbles too', () => {
    const packet = bubble(CLIENT, NATIVE);
    const sent = run(packet);
    assert.equal(sent.kind, 'raw');
    assert.equal(hexOf(sent.bytes), hexOf(packet));
  });
});

describe('rule 10: Teredo destinations get UDP from the primary socket', () => {
  test('to one of our clients: origin indication of the outer source, then the packet', () => {
    const packet = echoRequest(NATIVE, CLIENT, 20);
    for (const arrivedOn of [0, 1]) {
      const sent = run(datagram(packet, { auth: AUTH }), { ...FROM_RELAY, arrivedOn });
      assert.equal(sent.counter, 'forwarded-to-client');
      assertUdp(sent, concat(originIndication(NATIVE_PEER_PORT, NATIVE_PEER_IPV4), packet), [
        CLIENT_IPV4,
        CLIENT_PORT,
      ]);
    }
  });

  test('client to client: the incoming origin indication is replaced by the real outer source', () => {
    const packet = bubble(CLIENT, OTHER_CLIENT);
    const sent = run(datagram(packet, { origin: { port: 1, ipv4: 0x01020304 } }));
    assertUdp(sent, concat(originIndication(CLIENT_PORT, CLIENT_IPV4), packet), [0xc000024d, 50000]);
  });

  test("to another server's client: no origin indication", () => {
    const destination = teredo({ server: OTHER_SERVER, client: 0xc0000263, port: 1234 });
    const packet = bubble(CLIENT, destination);
    const sent = run(packet);
    assert.equal(sent.counter, 'forwarded-to-client');
    assertUdp(sent, packet, [0xc0000263, 1234]);
  });

  test('the destination mapping must be global unicast', () => {
    for (const client of [0x0a010203, 0x00000000, 0xe0000001, 0x7f000001, 0xffffffff]) {
      const destination = teredo({ client });
      assertDrop(run(bubble(CLIENT, destination)), 'drop-client-not-global', client.toString(16));
    }
  });

  test('a trailer is forwarded with the packet while the whole fits the output', () => {
    const packet = bubble(CLIENT, OTHER_CLIENT);
    const trailer = bytesOf('0101 0011223344556677');
    const sent = run(datagram(packet, { trailer }));
    assertUdp(sent, concat(originIndication(CLIENT_PORT, CLIENT_IPV4), packet, trailer), [0xc000024d, 50000]);

    const fits = new Uint8Array(SERVER_MAX_OUTPUT_BYTES - 8 - 40).fill(0xab);
    assert.equal(run(datagram(packet, { trailer: fits })).bytes.length, SERVER_MAX_OUTPUT_BYTES);
    const tooBig = new Uint8Array(fits.length + 1);
    assertDrop(run(datagram(packet, { trailer: tooBig })), 'drop-trailer-too-large');
    const noOrigin = teredo({ server: OTHER_SERVER });
    assert.equal(run(datagram(bubble(CLIENT, noOrigin), { trailer: tooBig })).counter, 'forwarded-to-client');
  });
});

describe('rate limits per source IPv4, checked only once a packet is accepted', () => {
  const A: readonly [number, number] = [CLIENT_IPV4, CLIENT_PORT];
  const B: readonly [number, number] = [0xc0000263, 4000];

  test('RSs: burst, then the sustained rate; another source keeps its own budget', () => {
    const limited = createServerProcessor(serverParams({ rsRateLimit: { perSecond: 1, burst: 2 } }));
    const at = (from: readonly [number, number], nowMs: number): string =>
      judge(limited, RS, { from, nowMs }).counter;
    assert.deepEqual([at(A, 1000), at(A, 1000), at(A, 1000)], ['ra-sent', 'ra-sent', 'drop-rate-limited-rs']);
    assert.equal(at(B, 1000), 'ra-sent');
    assert.equal(at(A, 1999), 'drop-rate-limited-rs');
    assert.deepEqual([at(A, 2000), at(A, 2000)], ['ra-sent', 'drop-rate-limited-rs']);
  });

  test('forwarding: both directions share one limit, apart from the RS budget', () => {
    const limited = createServerProcessor(
      serverParams({
        forwardRateLimit: { perSecond: 10, burst: 2 },
        rsRateLimit: { perSecond: 1, burst: 1 },
      }),
    );
    const at = (bytes: Uint8Array, nowMs: number): string => judge(limited, bytes, { nowMs }).counter;
    assert.equal(at(echoRequest(CLIENT, NATIVE), 0), 'forwarded-native');
    assert.equal(at(bubble(CLIENT, OTHER_CLIENT), 0), 'forwarded-to-client');
    assert.equal(at(bubble(CLIENT, OTHER_CLIENT), 0), 'drop-rate-limited-forward');
    assert.equal(at(echoRequest(CLIENT, NATIVE), 0), 'drop-rate-limited-forward');
    assert.equal(at(RS, 0), 'ra-sent');
    assert.equal(at(echoRequest(CLIENT, NATIVE), 100), 'forwarded-native');
    assert.equal(at(echoRequest(CLIENT, NATIVE), 100), 'drop-rate-limited-forward');
  });

  test('dropped packets do not spend the budget', () => {
    const limited = createServerProcessor(
      serverParams({ forwardRateLimit: { perSecond: 1, burst: 1 }, rsRateLimit: { perSecond: 1, burst: 1 } }),
    );
    const refused = [
      echoRequest(CLIENT, SERVER_LL),
      echoRequest(CLIENT, NATIVE, 200),
      bubble(CLIENT, teredo({ client: 0x0a000001 })),
      echoRequest(CLIENT, address('fe80::1')),
      RS.slice(0, 45),
    ];
    for (let i = 0; i < 20; i++)
      for (const bytes of refused) assert.equal(judge(limited, bytes).kind, 'drop');
    assert.equal(judge(limited, RS).counter, 'ra-sent');
    assert.equal(judge(limited, echoRequest(CLIENT, NATIVE)).counter, 'forwarded-native');
    assert.equal(judge(limited, RS).counter, 'drop-rate-limited-rs');
  });

  test('a rate of 0 never limits', () => {
    for (let i = 0; i < 1000; i++) {
      assert.equal(run(RS, { nowMs: 5 }).counter, 'ra-sent');
      assert.equal(run(echoRequest(CLIENT, NATIVE), { nowMs: 5 }).counter, 'forwarded-native');
    }
  });
});

describe('the caller contract', () => {
  test('the action is reused: a drop clears what a send set', () => {
    const action = createServerAction();
    judge(server, echoRequest(NATIVE, CLIENT), FROM_RELAY, action);
    assert.equal(action.kind, SERVER_ACTION_SEND_UDP);
    judge(server, echoRequest(CLIENT, NATIVE), {}, action);
    assert.equal(action.kind, SERVER_ACTION_SEND_RAW);
    judge(server, RS.slice(0, 10), {}, action);
    assert.deepEqual(
      { ...action },
      {
        kind: SERVER_ACTION_DROP,
        counter: SERVER_COUNTER['drop-malformed'],
        socket: 0,
        ipv4: 0,
        port: 0,
        length: 0,
      },
    );
  });

  test('an output buffer without SERVER_MAX_OUTPUT_BYTES of room is a programming error', () => {
    const action = createServerAction();
    const small = new Uint8Array(SERVER_MAX_OUTPUT_BYTES + 3);
    assert.throws(
      () => server.process(RS, 0, RS.length, CLIENT_IPV4, CLIENT_PORT, 0, 0, small, 4, action),
      RangeError,
    );
    assert.throws(
      () => server.process(RS, 0, RS.length, CLIENT_IPV4, CLIENT_PORT, 0, 0, small, -1, action),
      RangeError,
    );
    server.process(RS, 0, RS.length, CLIENT_IPV4, CLIENT_PORT, 0, 0, small, 3, action);
    assert.equal(action.counter, SERVER_COUNTER['ra-sent']);
  });

  test('an input region outside the buffer is malformed, not an exception', () => {
    const action = createServerAction();
    const out = new Uint8Array(SERVER_MAX_OUTPUT_BYTES);
    for (const [offset, length] of [
      [-1, 10],
      [RS.length + 1, 10],
      [0.5, 10],
      [0, -5],
      [0, Number.NaN],
    ]) {
      server.process(RS, offset!, length!, CLIENT_IPV4, CLIENT_PORT, 0, 0, out, 0, action);
      assert.equal(action.counter, SERVER_COUNTER['drop-malformed'], `${offset} ${length}`);
    }
    server.process(RS, 0, 10_000, CLIENT_IPV4, CLIENT_PORT, 0, 0, out, 0, action);
    assert.equal(action.counter, SERVER_COUNTER['ra-sent'], 'a length past the end is cut to the buffer');
  });

  test('bad parameters are refused when the processor is made', () => {
    assert.throws(() => createServerProcessor(serverParams({ primaryIPv4: -1 })), RangeError);
    assert.throws(() => createServerProcessor(serverParams({ mtu: 1.5 })), RangeError);
    assert.throws(
      () => createServerProcessor(serverParams({ rsRateLimit: { perSecond: -1, burst: 1 } })),
      RangeError,
    );
  });
});
