/** The core over time: peer expiry, identity changes, the ICMPv6 error budget, stats, misuse. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { UNREACHABLE_CODE } from '../../../src/teredo/constants.js';
import { createPeerTable, PEER_COUNTING, PEER_QUEUED, PEER_TRUSTED } from '../../../src/teredo/peers.js';
import { createTunnelCore } from '../../../src/teredo/relay.js';
import { createSecurityContext } from '../../../src/teredo/security.js';
import {
  address,
  assertUnreachable,
  bench,
  bubble,
  CLIENT_ADDRESS,
  ipv6Packet,
  KEY,
  NATIVE_HOST,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PREFIX,
  SERVER_IPV4,
  TEREDO_PORT,
  udp,
} from './relay-harness.js';
import type { Bench } from './relay-harness.js';

/** Runs the 1 s tick from now until `seconds` later, one tick per second. */
function tickFor(b: Bench, seconds: number): void {
  for (let i = 0; i < seconds; i++) {
    b.advance(1000);
    b.core.tick(b.nowMs);
  }
}

test('expiry: an idle peer and its queue stay 30 s, and are gone within 60 s', () => {
  const b = bench({ capacity: 64 });
  b.core.tick(b.nowMs);
  b.tun(ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS));
  assert.equal(b.core.stats().queuedPackets, 1);
  tickFor(b, 30);
  assert.ok(b.slotOf(PEER_ADDRESS) >= 0, 'still there after 30 s');
  let gone = -1;
  for (let second = 31; second <= 61 && gone < 0; second++) {
    tickFor(b, 1);
    if (b.slotOf(PEER_ADDRESS) < 0) gone = second;
  }
  assert.ok(gone > 30 && gone <= 61, `removed after ${gone} s`);
  assert.deepEqual(b.core.stats(), { peers: 0, queuedPackets: 0, queuedBytes: 0 });
  assert.equal(b.counter('peers-expired'), 1);
  assert.equal(b.counter('drop-queue-discarded'), 1);
});

test('expiry: peers in use are kept; a trusted peer whose traffic stops goes too', () => {
  const b = bench({ capacity: 64 });
  b.udp(ipv6Packet(PEER_ADDRESS, CLIENT_ADDRESS), PEER_IPV4, PEER_PORT); // trusted, case 5
  const data = ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS);
  for (let round = 0; round < 12; round++) {
    tickFor(b, 10);
    if (round < 6) {
      b.udp(ipv6Packet(PEER_ADDRESS, CLIENT_ADDRESS), PEER_IPV4, PEER_PORT);
      assert.deepEqual(udp(b.tun(data)[0]).bytes, data);
    }
  }
  // Traffic stopped 60 s ago.
  assert.equal(b.slotOf(PEER_ADDRESS), -1);
  assert.equal(b.counter('peers-expired'), 1);
});

test('a new identity forgets every peer and queued packet; the same address with a new MTU does not', () => {
  const b = bench();
  b.tun(ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS));
  b.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST));
  assert.deepEqual(
    { peers: b.core.stats().peers, queued: b.core.stats().queuedPackets },
    { peers: 2, queued: 2 },
  );

  b.core.setClientIdentity({ address: CLIENT_ADDRESS, serverIPv4: SERVER_IPV4, mtu: 1400 });
  assert.equal(b.core.stats().peers, 2, 'MTU change only');

  const moved = encodeTeredoAddress({
    prefix: PREFIX,
    server: SERVER_IPV4,
    flags: 0x0400,
    port: 40001,
    client: 0xcb007106,
  });
  b.core.setClientIdentity({ address: moved, serverIPv4: SERVER_IPV4, mtu: 1400 });
  assert.deepEqual(b.core.stats(), { peers: 0, queuedPackets: 0, queuedBytes: 0 });
  assert.equal(b.counter('peers-reset'), 2);
  assert.equal(b.counter('drop-queue-discarded'), 2);

  // The new address is used for pings.
  const ping = udp(b.tun(ipv6Packet(moved, NATIVE_HOST))[0]);
  assert.deepEqual(ping.bytes.subarray(8, 24), moved);

  // Losing qualification forgets everything too, and the client answers unreachable again.
  b.core.setClientIdentity(null);
  assert.equal(b.core.stats().peers, 0);
  const packet = ipv6Packet(moved, PEER_ADDRESS);
  assertUnreachable(b.tun(packet)[0], UNREACHABLE_CODE.addressUnreachable, packet);
  assert.deepEqual(b.udp(ipv6Packet(PEER_ADDRESS, moved), PEER_IPV4, PEER_PORT), []);
});

test('the identity is copied: the caller may reuse its address buffer', () => {
  const b = bench({ qualified: false });
  const mine = CLIENT_ADDRESS.slice();
  b.core.setClientIdentity({ address: mine, serverIPv4: SERVER_IPV4, mtu: 1280 });
  mine.fill(0);
  const ping = udp(b.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST))[0]);
  assert.deepEqual(ping.bytes.subarray(8, 24), CLIENT_ADDRESS);
  assert.deepEqual([ping.ipv4, ping.port], [SERVER_IPV4, TEREDO_PORT]);
});

test('ICMPv6 errors: at most 10 per clock second for the whole tunnel', () => {
  const b = bench({ qualified: false, startMs: 10_000 });
  const written = (count: number): number => {
    let total = 0;
    for (let i = 0; i < count; i++) {
      const destination = address(`2001:db8:9::${(i + 1).toString(16)}`);
      total += b.tun(ipv6Packet(address('2001:db8:5::1'), destination)).length;
    }
    return total;
  };
  assert.equal(written(15), 10);
  assert.equal(b.counter('drop-icmp-rate-limited'), 5);
  b.advance(999);
  assert.equal(written(3), 0, 'same second');
  b.advance(1);
  assert.equal(written(12), 10, 'a new second, a new budget');
  assert.equal(b.counter('icmp-sent'), 20);
});

test('no ICMPv6 error about an ICMPv6 error', () => {
  const b = bench({ qualified: false });
  const error = ipv6Packet(address('2001:db8:5::1'), PEER_ADDRESS, new Uint8Array(8), 58);
  error[40] = 1;
  assert.deepEqual(b.tun(error), []);
  assert.equal(b.counter('drop-icmp-refused'), 1);
  assert.equal(b.counter('icmp-sent'), 0);
});

test('a full table of untrusted peers makes room by evicting the newest, dropping its queue', () => {
  const b = bench({ capacity: 2 });
  const peers = [1, 2, 3].map((n) =>
    encodeTeredoAddress({
      prefix: PREFIX,
      server: SERVER_IPV4,
      flags: 0,
      port: 1000 + n,
      client: 0xcb007100 + n,
    }),
  );
  for (const peer of peers) b.tun(ipv6Packet(CLIENT_ADDRESS, peer));
  assert.ok(b.slotOf(peers[0]!) >= 0);
  assert.equal(b.slotOf(peers[1]!), -1, 'the newest untrusted one went');
  assert.ok(b.slotOf(peers[2]!) >= 0);
  assert.deepEqual(
    { peers: b.core.stats().peers, queued: b.core.stats().queuedPackets },
    { peers: 2, queued: 2 },
  );
  assert.equal(b.counter('drop-queue-discarded'), 1);
});

test('bubbles answered: the peer is trusted and the data plane may take it over (flags)', () => {
  const b = bench();
  b.tun(ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS));
  b.udp(bubble(PEER_ADDRESS, CLIENT_ADDRESS), PEER_IPV4, PEER_PORT);
  const slot = b.slotOf(PEER_ADDRESS);
  assert.equal(
    b.table.flags(slot) & (PEER_TRUSTED | PEER_QUEUED | PEER_COUNTING),
    PEER_TRUSTED,
    'trusted, nothing queued, nothing counting',
  );
  assert.equal(b.table.bubbles(slot), 0);
});

test('misuse is a programming error: a relay has no identity, a counter row must fit', () => {
  const b = bench({ role: 'relay' });
  assert.throws(
    () => b.core.setClientIdentity({ address: CLIENT_ADDRESS, serverIPv4: SERVER_IPV4, mtu: 1280 }),
    RangeError,
  );
  assert.throws(
    () =>
      createTunnelCore({
        role: 'client',
        cone: false,
        prefix: PREFIX,
        table: createPeerTable(4),
        security: createSecurityContext(KEY, 1),
        counters: new Float64Array(3),
      }),
    RangeError,
  );
  const client = bench({ qualified: false });
  assert.throws(
    () => client.core.setClientIdentity({ address: new Uint8Array(4), serverIPv4: SERVER_IPV4, mtu: 1280 }),
    RangeError,
  );
});
