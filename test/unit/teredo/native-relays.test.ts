/**
 * A native peer reached through several relays (native-relays.ts): the client accepts its
 * packets through any relay validated for it by our authenticated connectivity test, tests the
 * relay the data come through at once, and sends through the relay that last carried them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  adoptRelay,
  PROBE_BURST,
  relayMatch,
  switchToAlternate,
  testAliasFlags,
} from '../../../src/teredo/native-relays.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { PING_VARIANTS } from '../../../src/teredo/security.js';
import { createPeerTable, PEER_QUEUED, PEER_TRUSTED } from '../../../src/teredo/peers.js';
import {
  bench,
  CLIENT_ADDRESS,
  echoReplyTo,
  ipv6Packet,
  NATIVE_HOST,
  PID16,
  RELAY_IPV4,
  RELAY_PORT,
  RELAY_SIDE_HOST,
  SERVER_IPV4,
  udp,
} from './relay-harness.js';
import type { Bench } from './relay-harness.js';
import { hexOf } from './fixtures.js';

const RELAY_B = 0xc6336466; // 198.51.100.102
const RELAY_C = 0xc6336467; // 198.51.100.103

function fromHost(n: number): Uint8Array {
  return ipv6Packet(NATIVE_HOST, CLIENT_ADDRESS, Uint8Array.of(n));
}

/** The pings a call sent to our server. */
function pingsIn(sent: ReturnType<Bench['udp']>): Uint8Array[] {
  return sent
    .filter((item) => item.kind === 'udp' && item.ipv4 === SERVER_IPV4)
    .map((item) => udp(item).bytes);
}

/** First contact through relay A, the test's reply through relay B: the ECMP case of issue 18. */
function trustedThroughB(b: Bench): Uint8Array[] {
  const [ping] = pingsIn(b.udp(fromHost(1), RELAY_IPV4, RELAY_PORT));
  assert.ok(ping !== undefined, 'a first contact draws a ping');
  b.udp(echoReplyTo(ping), RELAY_B, RELAY_PORT);
  const slot = b.slotOf(NATIVE_HOST);
  assert.equal(relayMatch(b.table, slot, RELAY_B, RELAY_PORT), 'primary');
  assert.equal(b.counter('drop-queue-mapping-mismatch'), 1, 'the packet through A waited for A');
  return [ping];
}

test('data through an unvalidated relay draw a burst of tests at once, with distinct identifiers', () => {
  const b = bench();
  trustedThroughB(b);
  const sent = b.udp(fromHost(2), RELAY_IPV4, RELAY_PORT);
  const pings = pingsIn(sent);
  assert.equal(pings.length, PROBE_BURST, 'no timeout: the first packet through A tests A');
  assert.equal(sent.length, PROBE_BURST, 'and is held, not delivered');
  const identifiers = new Set(pings.map((ping) => (ping[44]! << 8) | ping[45]!));
  assert.equal(identifiers.size, PROBE_BURST);
  for (const identifier of identifiers) assert.ok((identifier ^ PID16) < 64);
  const slot = b.slotOf(NATIVE_HOST);
  assert.equal(b.table.flags(slot) & PEER_QUEUED, PEER_QUEUED, 'the fast path leaves the peer to us');

  // More packets through A before a reply: held, no second burst within the ping interval.
  assert.deepEqual(b.udp(fromHost(3), RELAY_IPV4, RELAY_PORT), []);
  // Packets through B meanwhile: delivered, and they do not restart the tests.
  assert.deepEqual(b.udp(fromHost(4), RELAY_B, RELAY_PORT), [{ kind: 'tun', bytes: fromHost(4) }]);
  assert.deepEqual(b.udp(fromHost(5), RELAY_IPV4, RELAY_PORT), []);

  // One reply comes through A: A is validated as the alternate (the test came from an alias of
  // our address, which A may not know us by), the held packets come out.
  const delivered = b.udp(echoReplyTo(pings[2]!), RELAY_IPV4, RELAY_PORT);
  assert.deepEqual(
    delivered.map((item) => (item.kind === 'tun' ? hexOf(item.bytes) : item.kind)),
    [2, 3, 5].map((n) => hexOf(fromHost(n))),
  );
  assert.equal(b.counter('rx-relay-validated'), 2);
  assert.equal(relayMatch(b.table, slot, RELAY_B, RELAY_PORT), 'primary');
  assert.equal(relayMatch(b.table, slot, RELAY_IPV4, RELAY_PORT), 'alternate');
  assert.equal(b.table.flags(slot) & PEER_QUEUED, 0);

  // Replies to the rest of the burst, through either, change nothing.
  b.udp(echoReplyTo(pings[0]!), RELAY_B, RELAY_PORT);
  b.udp(echoReplyTo(pings[1]!), RELAY_IPV4, RELAY_PORT);
  assert.equal(relayMatch(b.table, slot, RELAY_B, RELAY_PORT), 'primary');
  assert.equal(relayMatch(b.table, slot, RELAY_IPV4, RELAY_PORT), 'alternate');
  assert.equal(b.counter('rx-relay-validated'), 2, 'no relay is new');
  assert.equal(b.counter('rx-relay-switched'), 0, 'a reply to an alias switches nothing');

  // A packet to our address through A: A carries the flow now, ours follow.
  assert.deepEqual(b.udp(fromHost(6), RELAY_IPV4, RELAY_PORT), [{ kind: 'tun', bytes: fromHost(6) }]);
  assert.equal(relayMatch(b.table, slot, RELAY_IPV4, RELAY_PORT), 'primary');
  assert.equal(b.counter('rx-relay-switched'), 1);
});

test('packets through either validated relay are delivered; ours follow the relay that carried the last one', () => {
  const b = bench();
  trustedThroughB(b);
  const pings = pingsIn(b.udp(fromHost(2), RELAY_IPV4, RELAY_PORT));
  b.udp(echoReplyTo(pings[0]!), RELAY_IPV4, RELAY_PORT);
  const toHost = ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST, Uint8Array.of(9));
  assert.deepEqual(b.tun(toHost), [{ kind: 'udp', bytes: toHost, ipv4: RELAY_B, port: RELAY_PORT }]);
  assert.deepEqual(b.udp(fromHost(3), RELAY_IPV4, RELAY_PORT), [{ kind: 'tun', bytes: fromHost(3) }]);
  assert.deepEqual(b.tun(toHost), [{ kind: 'udp', bytes: toHost, ipv4: RELAY_IPV4, port: RELAY_PORT }]);
  assert.equal(b.counter('rx-relay-switched'), 1);

  // Relay A dies (kill -9); the network moves the flow to B: the first packet moves ours too.
  assert.deepEqual(b.udp(fromHost(6), RELAY_B, RELAY_PORT), [{ kind: 'tun', bytes: fromHost(6) }]);
  assert.equal(b.counter('rx-relay-switched'), 2);
  assert.deepEqual(b.tun(toHost), [{ kind: 'udp', bytes: toHost, ipv4: RELAY_B, port: RELAY_PORT }]);
  assert.deepEqual(b.udp(fromHost(7), RELAY_B, RELAY_PORT), [{ kind: 'tun', bytes: fromHost(7) }]);
  assert.equal(b.counter('rx-relay-switched'), 2, 'no switch while B is the primary');
  assert.equal(pingsIn(b.out.sent).length, 0, 'and no test: B was validated');
});

test('a spoofed relay is never accepted: without our authenticator through it, its packets are held and dropped', () => {
  const b = bench();
  trustedThroughB(b);
  const slot = b.slotOf(NATIVE_HOST);
  const pings = pingsIn(b.udp(fromHost(2), RELAY_C, 4000));
  assert.equal(pings.length, PROBE_BURST);
  // A forged reply (one HMAC bit), a reply about another host, a request instead of a reply.
  const forged = echoReplyTo(pings[0]!);
  forged[60] = forged[60]! ^ 0x40;
  b.udp(forged, RELAY_C, 4000);
  const otherHost = echoReplyTo(pings[1]!);
  otherHost[23] = otherHost[23]! ^ 1;
  b.udp(otherHost, RELAY_C, 4000);
  const request = pings[2]!.slice();
  request.set(pings[2]!.subarray(24, 40), 8);
  request.set(pings[2]!.subarray(8, 24), 24);
  b.udp(request, RELAY_C, 4000);
  assert.equal(relayMatch(b.table, slot, RELAY_C, 4000), 'none');
  assert.equal(b.counter('rx-relay-validated'), 1);
  // The tests' replies come through B: C's packets wait for the ping interval, then go.
  b.udp(echoReplyTo(pings[3]!), RELAY_B, RELAY_PORT);
  assert.equal(b.counter('decapsulated'), 0, 'the reply is not delivered');
  assert.equal(b.table.flags(slot) & PEER_QUEUED, PEER_QUEUED, 'the packet through C still waits');
  b.advance(3_000);
  assert.deepEqual(b.udp(fromHost(3), RELAY_B, RELAY_PORT), [{ kind: 'tun', bytes: fromHost(3) }]);
  // Packet 2, the forged reply and the request came through C as the host's: all held, all dropped.
  assert.equal(b.counter('drop-queue-mapping-mismatch'), 1 + 3);
  assert.equal(b.table.flags(slot) & PEER_QUEUED, 0);
  assert.equal(relayMatch(b.table, slot, RELAY_C, 4000), 'none');
  assert.equal(b.counter('decapsulated'), 1, 'only the packet through B');
});

test('a first contact draws one ping, like Miredo, so spoofed first contacts cost no more than before', () => {
  const b = bench();
  assert.equal(pingsIn(b.udp(fromHost(1), RELAY_IPV4, RELAY_PORT)).length, 1);
  assert.equal(b.counter('ping-sent'), 1);
});

test('relay bursts are paced per peer: at most one per ping interval, however the packets interleave', () => {
  const b = bench();
  trustedThroughB(b);
  let pings = 0;
  for (let step = 0; step < 40; step++) {
    pings += pingsIn(b.udp(fromHost(step), step % 2 === 0 ? RELAY_B : RELAY_C, 4000 + (step % 3))).length;
    pings += pingsIn(b.udp(fromHost(step), RELAY_B, RELAY_PORT)).length;
    b.advance(100);
  }
  // 4 s of interleaved packets: a burst at 0 s and one after more than 2 s.
  assert.equal(pings, 2 * PROBE_BURST);
});

test('the table primitives: adopt keeps the previous relay, switch swaps, an untrusted peer keeps none', () => {
  const table = createPeerTable(8, 3);
  const slot = table.insert(NATIVE_HOST, 0, 1);
  assert.equal(adoptRelay(table, slot, 1, 10), true);
  assert.equal(table.alternateIPv4(slot), 0, 'untrusted: no alternate');
  table.setFlags(slot, PEER_TRUSTED);
  table.setMapping(slot, 1, 10);
  assert.equal(adoptRelay(table, slot, 1, 10), false, 'the primary is not new');
  assert.equal(adoptRelay(table, slot, 2, 20), true);
  table.setMapping(slot, 2, 20);
  assert.deepEqual(
    [relayMatch(table, slot, 2, 20), relayMatch(table, slot, 1, 10)],
    ['primary', 'alternate'],
  );
  assert.equal(adoptRelay(table, slot, 1, 10), false, 'the alternate is not new');
  table.setMapping(slot, 1, 10);
  assert.equal(adoptRelay(table, slot, 3, 30, false), true, 'an alias test: the alternate');
  assert.deepEqual(
    [relayMatch(table, slot, 1, 10), relayMatch(table, slot, 3, 30)],
    ['primary', 'alternate'],
  );
  assert.equal(adoptRelay(table, slot, 2, 20, false), true);
  assert.deepEqual(
    [relayMatch(table, slot, 1, 10), relayMatch(table, slot, 2, 20)],
    ['primary', 'alternate'],
  );
  switchToAlternate(table, slot);
  assert.deepEqual(
    [relayMatch(table, slot, 2, 20), relayMatch(table, slot, 1, 10)],
    ['primary', 'alternate'],
  );
  assert.equal(relayMatch(table, slot, 0, 0), 'none', 'a 0:0 alternate matches nothing');
  table.setFlags(slot, 0);
  assert.equal(relayMatch(table, slot, 2, 20), 'none', 'an untrusted peer has no relay');
  switchToAlternate(table, slot);
  assert.equal(table.mappedIPv4(slot), 2, 'nor switches');
});

test('test aliases differ from our address in the random flag bits only, one per variant', () => {
  const seen = new Set<number>();
  for (const flags of [0x0000, 0x8000, 0x3cff, 0x8123]) {
    seen.clear();
    assert.equal(testAliasFlags(flags, 0), flags, 'variant 0 is our own address');
    for (let variant = 0; variant < PING_VARIANTS; variant++) {
      const alias = testAliasFlags(flags, variant);
      assert.equal((alias ^ flags) & ~TEREDO_CONSTANTS.randomFlagsMask, 0, 'cone, R, U and G bits kept');
      seen.add(alias);
    }
    assert.equal(seen.size, PING_VARIANTS);
  }
});

test('a burst comes from several aliases of our address, and a reply to an alias validates its relay', () => {
  const b = bench();
  trustedThroughB(b);
  const pings = pingsIn(b.udp(fromHost(2), RELAY_IPV4, RELAY_PORT));
  const sources = new Set(pings.map((ping) => hexOf(ping.subarray(8, 24))));
  assert.equal(sources.size, PROBE_BURST);
  const alias = pings.find((ping) => hexOf(ping.subarray(8, 24)) !== hexOf(CLIENT_ADDRESS));
  assert.ok(alias !== undefined);
  b.udp(echoReplyTo(alias), RELAY_IPV4, RELAY_PORT);
  assert.equal(relayMatch(b.table, b.slotOf(NATIVE_HOST), RELAY_IPV4, RELAY_PORT), 'alternate');
  assert.equal(b.counter('decapsulated'), 1, 'the held packet, not the reply');
  // A first contact tests from our own address, with Miredo's authenticator.
  const [first] = pingsIn(b.udp(ipv6Packet(RELAY_SIDE_HOST, CLIENT_ADDRESS), RELAY_C, RELAY_PORT));
  assert.equal(hexOf(first!.subarray(8, 24)), hexOf(CLIENT_ADDRESS));
  assert.equal((first![44]! << 8) | first![45]!, PID16);
});
