/**
 * The server processor against hostile datagrams: random and mutated inputs from random sources
 * never make it throw, and every action it fills is valid and consistent with its counter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clientLinkLocal } from '../../../src/teredo/address.js';
import { verifyIcmpv6Checksum } from '../../../src/teredo/icmpv6.js';
import { isGlobalUnicastIPv4 } from '../../../src/teredo/ipv4.js';
import {
  createServerAction,
  createServerProcessor,
  SERVER_ACTION_DROP,
  SERVER_ACTION_SEND_RAW,
  SERVER_ACTION_SEND_UDP,
  SERVER_MAX_OUTPUT_BYTES,
} from '../../../src/teredo/server.js';
import type { ServerProcessor } from '../../../src/teredo/server.js';
import { SERVER_COUNTER_NAMES } from '../../../src/teredo/server-counters.js';
import { createTeredoPayload, parseTeredoPayload } from '../../../src/teredo/wire.js';
import { NONCE, validDatagrams } from './fixtures.js';
import {
  ALL_ROUTERS,
  bubble,
  CLIENT,
  CLIENT_IPV4,
  CLIENT_PORT,
  datagram,
  echoRequest,
  NATIVE,
  NATIVE_PEER_IPV4,
  OTHER_CLIENT,
  PRIMARY,
  SECONDARY,
  SERVER_LL,
  serverParams,
  solicitation,
  teredo,
} from './server-datagrams.js';

const CORPUS: readonly Uint8Array[] = [
  solicitation(),
  datagram(solicitation({ source: clientLinkLocal(true) }), { auth: { nonce: NONCE } }),
  datagram(solicitation({ source: CLIENT, destination: SERVER_LL }), {
    auth: { nonce: NONCE, confirmation: 1 },
  }),
  echoRequest(CLIENT, NATIVE, 40),
  echoRequest(NATIVE, CLIENT, 80),
  datagram(bubble(CLIENT, OTHER_CLIENT), { trailer: Uint8Array.of(1, 1, 2, 3) }),
  datagram(bubble(CLIENT, teredo({ server: 0xc0000201 })), { origin: { port: 1, ipv4: 2 } }),
  bubble(CLIENT, NATIVE),
  echoRequest(CLIENT, SERVER_LL),
  bubble(CLIENT, ALL_ROUTERS),
  echoRequest(CLIENT, NATIVE, 100),
  datagram(bubble(CLIENT, OTHER_CLIENT), { trailer: new Uint8Array(205) }),
  bubble(CLIENT, teredo({ client: 0x0a000001 })),
  ...validDatagrams().map((entry) => entry.bytes),
];

const SOURCES = [CLIENT_IPV4, NATIVE_PEER_IPV4, PRIMARY, SECONDARY, 0x0a000001, 0xc0000263];
const PORTS = [CLIENT_PORT, 3544, 3545, 0, 65535];
const OUT_OFFSET = 7;
const FILL = 0xa5;

const processors: readonly ServerProcessor[] = [
  createServerProcessor(serverParams()),
  createServerProcessor(
    serverParams({ rsRateLimit: { perSecond: 3, burst: 2 }, forwardRateLimit: { perSecond: 5, burst: 3 } }),
  ),
];
const action = createServerAction();
const payload = createTeredoPayload();
const out = new Uint8Array(OUT_OFFSET + SERVER_MAX_OUTPUT_BYTES + 9);
const seen = new Map<string, number>();

interface Arrival {
  readonly bytes: Uint8Array;
  readonly srcIPv4: number;
  readonly srcPort: number;
  readonly arrivedOn: number;
  readonly nowMs: number;
  readonly limited: boolean;
}

function checkAction(arrival: Arrival): void {
  const { bytes } = arrival;
  const input = new Uint8Array(bytes.length + 6).fill(0x60);
  input.set(bytes, 2);
  out.fill(FILL);
  const processor = processors[arrival.limited ? 1 : 0]!;
  processor.process(
    input,
    2,
    bytes.length,
    arrival.srcIPv4,
    arrival.srcPort,
    arrival.arrivedOn,
    arrival.nowMs,
    out,
    OUT_OFFSET,
    action,
  );

  const name = SERVER_COUNTER_NAMES[action.counter];
  assert.ok(name !== undefined, `counter ${action.counter}`);
  seen.set(name, (seen.get(name) ?? 0) + 1);
  assert.ok(
    Number.isInteger(action.length) && action.length >= 0 && action.length <= SERVER_MAX_OUTPUT_BYTES,
  );
  for (let i = 0; i < out.length; i++) {
    if (i < OUT_OFFSET || i >= OUT_OFFSET + action.length) assert.equal(out[i], FILL, `byte ${i} written`);
  }
  const sent = out.subarray(OUT_OFFSET, OUT_OFFSET + action.length);

  switch (action.kind) {
    case SERVER_ACTION_DROP:
      assert.ok(name.startsWith('drop-'), name);
      assert.equal(action.length, 0);
      break;
    case SERVER_ACTION_SEND_UDP:
      assert.ok(name === 'ra-sent' || name === 'forwarded-to-client', name);
      assert.ok(action.socket === 0 || action.socket === 1);
      assert.ok(Number.isInteger(action.port) && action.port >= 0 && action.port <= 0xffff);
      assert.ok(isGlobalUnicastIPv4(action.ipv4));
      assert.equal(parseTeredoPayload(sent, sent.length, payload), 'ok');
      if (name === 'ra-sent') {
        assert.deepEqual([action.ipv4, action.port], [arrival.srcIPv4, arrival.srcPort]);
        assert.ok(action.length === 104 || action.length === 117);
        assert.ok(verifyIcmpv6Checksum(sent, payload.ipv6Offset), 'RA checksum');
      } else {
        assert.equal(action.socket, 0);
      }
      break;
    case SERVER_ACTION_SEND_RAW: {
      assert.equal(name, 'forwarded-native');
      assert.ok(action.length >= 40 && action.length <= 40 + 88);
      assert.equal(parseTeredoPayload(input, bytes.length, payload, 2), 'ok');
      const packet = input.subarray(payload.ipv6Offset, payload.ipv6Offset + payload.ipv6Length);
      assert.deepEqual(sent, packet);
      break;
    }
    default:
      assert.fail(`action kind ${action.kind}`);
  }
}

// Many datagrams come from our client's mapping, so Teredo sources get past rule 4.
const origin = fc.oneof(
  fc.constant([CLIENT_IPV4, CLIENT_PORT] as const),
  fc.constant([PRIMARY, 3544] as const),
  fc.tuple(
    fc.oneof(fc.constantFrom(...SOURCES), fc.integer({ min: 0, max: 0xffffffff })),
    fc.oneof(fc.constantFrom(...PORTS), fc.integer({ min: 0, max: 0xffff })),
  ),
);

function arrivals(bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Arrival> {
  return fc
    .record({
      bytes,
      from: origin,
      arrivedOn: fc.constantFrom(0, 1),
      nowMs: fc.integer({ min: 0, max: 10_000_000 }),
      limited: fc.boolean(),
    })
    .map(({ from, ...rest }) => ({ ...rest, srcIPv4: from[0], srcPort: from[1] }));
}

const mutated = fc
  .record({
    base: fc.constantFrom(...CORPUS),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    cut: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.nat(), weight: 1 }),
    extra: fc.oneof(
      { arbitrary: fc.constant(new Uint8Array(0)), weight: 3 },
      { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 1 },
    ),
  })
  .map(({ base, flips, cut, extra }) => {
    const bytes = Uint8Array.from([...base, ...extra]);
    for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
    return cut === undefined ? bytes : bytes.slice(0, cut % (bytes.length + 1));
  });

test('random datagrams never throw and always yield a valid action', () => {
  fc.assert(fc.property(arrivals(fc.uint8Array({ maxLength: 400 })), checkAction), { numRuns: 10_000 });
});

test('mutated valid datagrams never throw and always yield a valid action', (t) => {
  fc.assert(fc.property(arrivals(mutated), checkAction), { numRuns: 40_000 });
  // The inputs reach every send and every drop reason, so the checks above were exercised.
  t.diagnostic(JSON.stringify(Object.fromEntries(seen)));
  const countedByCaller = new Set(['received', 'send-failed', 'raw-send-failed']);
  for (const name of SERVER_COUNTER_NAMES) {
    if (!countedByCaller.has(name))
      assert.ok(seen.has(name), `never saw ${name}; saw ${[...seen].join(', ')}`);
  }
});
