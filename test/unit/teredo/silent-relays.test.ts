/**
 * A native peer whose relay goes silent while we keep sending (silent-relays.ts): a fresh
 * connectivity test after SILENT_RELAY_SECONDS, whose reply moves the peer to the relay that
 * serves it now; nothing for a peer that answers, one we stopped sending to, a Teredo peer, or a
 * relay's core.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SILENT_RELAY_SECONDS, SILENT_RELAY_TESTS_PER_SECOND } from '../../../src/teredo/silent-relays.js';
import {
  address,
  bench,
  CLIENT_ADDRESS,
  echoReplyTo,
  ipv6Packet,
  NATIVE_HOST,
  PEER_ADDRESS,
  RELAY_IPV4,
  RELAY_PORT,
  SERVER_IPV4,
  TEREDO_PORT,
  udp,
} from './relay-harness.js';
import type { Bench, Sent } from './relay-harness.js';

const NEW_RELAY_IPV4 = 0xc6336407; // 198.51.100.7
const NEW_RELAY_PORT = 40000;

/** Our client trusts NATIVE_HOST through RELAY_IPV4:RELAY_PORT. */
function trustedNativePeer(): Bench {
  const b = bench();
  const sent = b.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  b.udp(echoReplyTo(udp(sent[0]).bytes), RELAY_IPV4, RELAY_PORT);
  return b;
}

function retest(b: Bench): Sent[] {
  b.core.retestSilentRelays(b.nowMs, b.wallSeconds, b.out);
  return b.out.take();
}

/** Sends one packet to the peer every second for `seconds`, running the per-second check after each. */
function sendEverySecond(b: Bench, seconds: number): Sent[] {
  const tests: Sent[] = [];
  for (let i = 0; i < seconds; i++) {
    b.advance(1000);
    b.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST, Uint8Array.of(i)));
    tests.push(...retest(b));
  }
  return tests;
}

test('a native peer silent for SILENT_RELAY_SECONDS while we send gets one test through the server per period', () => {
  const b = trustedNativePeer();
  const tests = sendEverySecond(b, SILENT_RELAY_SECONDS * 3);
  assert.equal(tests.length, 3);
  for (const sent of tests) {
    const datagram = udp(sent);
    assert.deepEqual([datagram.ipv4, datagram.port], [SERVER_IPV4, TEREDO_PORT]);
    assert.equal(datagram.bytes[40], 128, 'an Echo Request');
  }
  assert.equal(b.counter('ping-silent-relay'), 3);
  // Our packets still go to the relay in use meanwhile.
  const data = b.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  assert.deepEqual([udp(data[0]).ipv4, udp(data[0]).port], [RELAY_IPV4, RELAY_PORT]);
});

test("the test's reply through another relay moves the peer there at once", () => {
  const b = trustedNativePeer();
  const [test0] = sendEverySecond(b, SILENT_RELAY_SECONDS);
  assert.ok(test0);
  b.udp(echoReplyTo(udp(test0).bytes), NEW_RELAY_IPV4, NEW_RELAY_PORT);
  const data = b.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  assert.deepEqual([udp(data[0]).ipv4, udp(data[0]).port], [NEW_RELAY_IPV4, NEW_RELAY_PORT]);
});

test('a forged reply through another relay moves nothing', () => {
  const b = trustedNativePeer();
  const [test0] = sendEverySecond(b, SILENT_RELAY_SECONDS);
  assert.ok(test0);
  const forged = echoReplyTo(udp(test0).bytes);
  forged[60] = forged[60]! ^ 1;
  b.udp(forged, NEW_RELAY_IPV4, NEW_RELAY_PORT);
  const data = b.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  assert.deepEqual([udp(data[0]).ipv4, udp(data[0]).port], [RELAY_IPV4, RELAY_PORT]);
});

test('no test for a peer that answers, one we stopped sending to, or a Teredo peer', () => {
  const answering = trustedNativePeer();
  for (let i = 0; i < SILENT_RELAY_SECONDS * 2; i++) {
    answering.advance(1000);
    answering.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
    answering.udp(ipv6Packet(NATIVE_HOST, CLIENT_ADDRESS), RELAY_IPV4, RELAY_PORT);
    assert.deepEqual(retest(answering), []);
  }

  const idle = trustedNativePeer();
  idle.advance((SILENT_RELAY_SECONDS + 2) * 1000);
  assert.deepEqual(retest(idle), []);

  const teredo = bench();
  teredo.tun(ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS));
  teredo.out.take();
  for (let i = 0; i < SILENT_RELAY_SECONDS * 2; i++) {
    teredo.advance(1000);
    teredo.tun(ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS));
    teredo.out.take();
    assert.deepEqual(retest(teredo), []);
  }
  assert.equal(teredo.counter('ping-silent-relay'), 0);
});

test("the tests do not spend the peer's ping budget: after 30 s of silence the usual test still goes", () => {
  const b = trustedNativePeer();
  sendEverySecond(b, 29);
  b.advance(2000);
  const sent = b.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  assert.equal(b.counter('tx-ping-limit'), 0);
  assert.ok(
    sent.some((item) => udp(item).ipv4 === SERVER_IPV4),
    'a test, not an unreachable',
  );
});

test("a relay's core and an unqualified client test nothing", () => {
  const relay = bench({ role: 'relay' });
  relay.advance(10_000);
  assert.deepEqual(retest(relay), []);
  const unqualified = bench({ qualified: false });
  assert.deepEqual(retest(unqualified), []);
});

test('many silent peers: at most SILENT_RELAY_TESTS_PER_SECOND tests a second, and every peer gets its turn', () => {
  const b = bench();
  const hosts = Array.from({ length: 20 }, (_, index) => address(`2001:db8:5::${index + 1}`));
  for (const host of hosts) {
    const sent = b.tun(ipv6Packet(CLIENT_ADDRESS, host));
    b.udp(echoReplyTo(udp(sent[0]).bytes), RELAY_IPV4, RELAY_PORT);
  }
  b.out.take();
  const tested = new Set<string>();
  const perSecond: number[] = [];
  for (let second = 1; second <= SILENT_RELAY_SECONDS + 3; second++) {
    b.advance(1000);
    for (const host of hosts) b.tun(ipv6Packet(CLIENT_ADDRESS, host));
    b.out.take();
    const tests = retest(b);
    perSecond.push(tests.length);
    for (const item of tests) tested.add(Buffer.from(udp(item).bytes.subarray(24, 40)).toString('hex'));
  }
  assert.ok(
    perSecond.every((n) => n <= SILENT_RELAY_TESTS_PER_SECOND),
    `tests per second: ${perSecond.join(', ')}`,
  );
  assert.equal(tested.size, hosts.length, `tested ${tested.size} of ${hosts.length}`);
});
