/**
 * The direct IPv6 connectivity test and relay discovery (reference section 4.9): a client pings a
 * native host through its server; the reply, arriving through whichever relay serves that host,
 * tells the client where to send.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDestinationUnreachable, verifyIcmpv6Checksum } from '../../../src/teredo/icmpv6.js';
import { PEER_QUEUED, PEER_SOLICITED, PEER_TRUSTED, PEER_UNPROVEN } from '../../../src/teredo/peers.js';
import {
  address,
  bench,
  CLIENT_ADDRESS,
  echoReplyTo,
  ipv6Packet,
  NATIVE_HOST,
  RELAY_IPV4,
  RELAY_PORT,
  SERVER_IPV4,
  TEREDO_PORT,
  tun,
  udp,
  WALL_ORIGIN,
} from './relay-harness.js';
import type { Bench } from './relay-harness.js';
import { hexOf } from './fixtures.js';

/** A Destination Unreachable from `from` quoting our ping. */
function unreachableAbout(ping: Uint8Array, from: Uint8Array): Uint8Array {
  const out = new Uint8Array(200);
  const built = buildDestinationUnreachable(out, 0, { code: 1, source: from, offending: ping });
  assert.equal(built.kind, 'built');
  return built.kind === 'built' ? out.slice(0, built.length) : out;
}

function pingFor(b: Bench, packet: Uint8Array): Uint8Array {
  const sent = b.tun(packet);
  assert.equal(sent.length, 1);
  const ping = udp(sent[0]);
  assert.deepEqual([ping.ipv4, ping.port], [SERVER_IPV4, TEREDO_PORT]);
  return ping.bytes;
}

test('the ping carries Miredo authenticator layout (reference vector: key 00..0f, pid 0x1234)', () => {
  const b = bench({ startMs: 0 });
  assert.equal(b.wallSeconds, 0x12345678);
  const ping = pingFor(b, ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  assert.equal(ping.length, 66);
  assert.equal(
    hexOf(ping.subarray(0, 42)),
    '60000000001a3a80' + hexOf(CLIENT_ADDRESS) + hexOf(NATIVE_HOST) + '8000',
  );
  assert.equal(hexOf(ping.subarray(44)), '123456781234dc679fad9877d2dbfc29e1d920873900');
  assert.equal(verifyIcmpv6Checksum(ping, 0), true);
});

test('a valid echo reply makes the host trusted at the outer source, flushes the queue in order, and is not delivered', () => {
  const b = bench();
  const first = ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST, Uint8Array.of(1));
  const ping = pingFor(b, first);
  b.advance(1000);
  const second = ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST, Uint8Array.of(2));
  const third = ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST, Uint8Array.of(3));
  assert.deepEqual(b.tun(second), []);
  assert.deepEqual(b.tun(third), []);

  b.advance(500);
  const sent = b.udp(echoReplyTo(ping), RELAY_IPV4, RELAY_PORT);
  assert.deepEqual(
    sent.map((item) => [udp(item).ipv4, udp(item).port, hexOf(item.bytes)]),
    [first, second, third].map((packet) => [RELAY_IPV4, RELAY_PORT, hexOf(packet)]),
  );
  const slot = b.slotOf(NATIVE_HOST);
  assert.equal(b.table.flags(slot), PEER_TRUSTED | PEER_SOLICITED, 'our authenticator proves it');
  assert.equal(b.counter('peers-proven'), 1);
  assert.deepEqual([b.table.mappedIPv4(slot), b.table.mappedPort(slot)], [RELAY_IPV4, RELAY_PORT]);
  assert.equal(b.counter('rx-ping-reply'), 1);
  assert.equal(b.counter('decapsulated'), 0);

  // Then traffic flows straight to that relay, both ways.
  const next = ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST, Uint8Array.of(4));
  assert.deepEqual(b.tun(next), [{ kind: 'udp', bytes: next, ipv4: RELAY_IPV4, port: RELAY_PORT }]);
  const answer = ipv6Packet(NATIVE_HOST, CLIENT_ADDRESS, Uint8Array.of(5));
  assert.deepEqual(b.udp(answer, RELAY_IPV4, RELAY_PORT), [{ kind: 'tun', bytes: answer }]);
});

test('echo replies with a wrong authenticator, or 30 s late, prove nothing', () => {
  const b = bench();
  const ping = pingFor(b, ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  const slot = b.slotOf(NATIVE_HOST);

  const tampered = echoReplyTo(ping);
  tampered[65] = tampered[65]! ^ 1;
  b.udp(tampered, RELAY_IPV4, RELAY_PORT);
  assert.equal(b.table.flags(slot) & PEER_TRUSTED, 0);

  const otherAddress = echoReplyTo(ping);
  otherAddress.set(address('2001:db8::2'), 8); // a reply from another host
  b.udp(otherAddress, RELAY_IPV4, RELAY_PORT);
  assert.equal(b.table.flags(b.slotOf(NATIVE_HOST)) & PEER_TRUSTED, 0);

  b.advance(30_000);
  b.udp(echoReplyTo(ping), RELAY_IPV4, RELAY_PORT);
  assert.equal(b.table.flags(b.slotOf(NATIVE_HOST)) & PEER_TRUSTED, 0);
  assert.equal(b.counter('rx-ping-reply'), 0);

  b.advance(-1000); // 29 s: still valid
  b.udp(echoReplyTo(ping), RELAY_IPV4, RELAY_PORT);
  assert.equal(b.table.flags(b.slotOf(NATIVE_HOST)) & PEER_TRUSTED, PEER_TRUSTED);
});

test('an ICMPv6 unreachable quoting our echo counts as an answer only from the pinged host', () => {
  const b = bench();
  const data = ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST);
  const ping = pingFor(b, data);

  // A router on the way, which we happen to be pinging too (so it has an entry to trust).
  const router = address('2001:db8:ffff::1');
  pingFor(b, ipv6Packet(CLIENT_ADDRESS, router));
  b.udp(unreachableAbout(ping, router), RELAY_IPV4, RELAY_PORT);
  assert.equal(b.table.flags(b.slotOf(router)) & PEER_TRUSTED, 0, 'the router proves nothing');
  assert.equal(b.table.flags(b.slotOf(NATIVE_HOST)) & PEER_TRUSTED, 0);

  const sent = b.udp(unreachableAbout(ping, NATIVE_HOST), RELAY_IPV4, RELAY_PORT);
  assert.deepEqual(sent, [{ kind: 'udp', bytes: data, ipv4: RELAY_IPV4, port: RELAY_PORT }]);
  const slot = b.slotOf(NATIVE_HOST);
  assert.equal(b.table.flags(slot), PEER_TRUSTED | PEER_SOLICITED);
  assert.equal(b.counter('rx-ping-reply'), 1);
});

test('case 6 completed: incoming packets are delivered when the ping reply comes from their relay', () => {
  const b = bench();
  const incoming = [1, 2].map((n) => ipv6Packet(NATIVE_HOST, CLIENT_ADDRESS, Uint8Array.of(n)));
  const ping = udp(b.udp(incoming[0]!, RELAY_IPV4, RELAY_PORT)[0]).bytes;
  assert.deepEqual(b.udp(incoming[1]!, RELAY_IPV4, RELAY_PORT), []);
  const slot = b.slotOf(NATIVE_HOST);
  assert.equal(b.table.flags(slot) & PEER_QUEUED, PEER_QUEUED);

  const sent = b.udp(echoReplyTo(ping), RELAY_IPV4, RELAY_PORT);
  assert.deepEqual(
    sent.map((item) => hexOf(tun(item).bytes)),
    incoming.map((packet) => hexOf(packet)),
  );
  assert.equal(
    b.table.flags(slot),
    PEER_TRUSTED | PEER_UNPROVEN,
    'the local side never asked for it: a reply to the ping it caused proves nothing',
  );
});

test('case 6: incoming packets from another relay than the one the ping reply names are dropped', () => {
  const b = bench();
  const incoming = ipv6Packet(NATIVE_HOST, CLIENT_ADDRESS);
  const ping = udp(b.udp(incoming, RELAY_IPV4, RELAY_PORT)[0]).bytes;
  assert.deepEqual(b.udp(echoReplyTo(ping), RELAY_IPV4 + 1, RELAY_PORT), []);
  assert.equal(b.counter('drop-queue-mapping-mismatch'), 1);
  assert.equal(b.table.mappedIPv4(b.slotOf(NATIVE_HOST)), RELAY_IPV4 + 1);
});

test('case 6 for a trusted host reached through another relay: queued, pinged, reception time untouched', () => {
  const b = bench();
  const ping = pingFor(b, ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  b.udp(echoReplyTo(ping), RELAY_IPV4, RELAY_PORT);
  const slot = b.slotOf(NATIVE_HOST);
  const lastRx = b.table.lastRx(slot);
  b.advance(5000);
  const viaOther = ipv6Packet(NATIVE_HOST, CLIENT_ADDRESS);
  const sent = b.udp(viaOther, RELAY_IPV4 + 1, RELAY_PORT);
  assert.equal(udp(sent[0]).ipv4, SERVER_IPV4, 'a new ping');
  assert.equal(b.table.lastRx(slot), lastRx);
  assert.deepEqual([b.table.mappedIPv4(slot), b.table.mappedPort(slot)], [RELAY_IPV4, RELAY_PORT]);
});

test('the ping authenticator uses the wall clock given with each call', () => {
  const b = bench({ startMs: 5000 });
  const ping = pingFor(b, ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  const ts = WALL_ORIGIN + 5;
  assert.equal((ping[46]! << 8) | ping[47]!, ts & 0xffff, 'sequence = low 16 bits');
  assert.equal((ping[48]! << 8) | ping[49]!, ts >>> 16, 'then the high 16 bits');
});
