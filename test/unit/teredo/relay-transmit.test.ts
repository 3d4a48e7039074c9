/** Transmission decisions (reference section 4.7): every step, client and relay, cone and restricted. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { UNREACHABLE_CODE } from '../../../src/teredo/constants.js';
import { DEFAULT_PEER_QUEUE_SLAB_BYTES } from '../../../src/teredo/peer-queue.js';
import { PEER_COUNTING, PEER_QUEUED, PEER_SOLICITED, PEER_TRUSTED } from '../../../src/teredo/peers.js';
import { queueSlabChunks } from '../../../src/teredo/peers-queue-slab.js';
import {
  address,
  assertUnreachable,
  bench,
  bubble,
  CLIENT_ADDRESS,
  ipv6Packet,
  NATIVE_HOST,
  ourBubbleSource,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PEER_SERVER_IPV4,
  PREFIX,
  RELAY_SIDE_HOST,
  SERVER_IPV4,
  sizedPacket,
  TEREDO_PORT,
  udp,
} from './relay-harness.js';
import type { Bench, Sent } from './relay-harness.js';
import { hexOf } from './fixtures.js';

const TO_PEER = ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS);
/** Slab chunks a queue holding one 1280-byte packet takes: 3 + 320 words of stream, 63 per chunk. */
const CHUNKS_PER_FULL_QUEUE = Math.ceil((3 + 1280 / 4) / 63);

/**
 * A round of bubbles to PEER_ADDRESS from fe80::<our interface ID>: direct to the embedded
 * mapping (unless held back), indirect via the peer's server; then, from a client, the
 * introduction: an indirect bubble from our Teredo address (symmetric-nat.ts rule 0).
 */
function assertBubbles(b: Bench, sent: readonly Sent[], direct: boolean, client = true): void {
  const ours = hexOf(bubble(ourBubbleSource(b.security, PEER_IPV4, PEER_PORT), PEER_ADDRESS));
  const introduction = hexOf(bubble(CLIENT_ADDRESS, PEER_ADDRESS));
  const viaServer = [PEER_SERVER_IPV4, TEREDO_PORT];
  const expected = [
    ...(direct ? [[PEER_IPV4, PEER_PORT, ours]] : []),
    [...viaServer, ours],
    ...(client ? [[...viaServer, introduction]] : []),
  ];
  assert.deepEqual(
    sent.map((item) => [udp(item).ipv4, udp(item).port, hexOf(udp(item).bytes)]),
    expected,
  );
}

test('step 1: multicast destinations are dropped silently (client and relay)', () => {
  for (const role of ['client', 'relay'] as const) {
    const b = bench({ role });
    const source = role === 'client' ? CLIENT_ADDRESS : RELAY_SIDE_HOST;
    assert.deepEqual(b.tun(ipv6Packet(source, address('ff02::1'))), []);
    assert.deepEqual(b.tun(ipv6Packet(source, address('ff0e::1234'))), []);
    assert.equal(b.counter('drop-tx-multicast'), 2);
  }
});

test('malformed TUN packets are dropped and counted', () => {
  const b = bench();
  const packet = ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS);
  assert.deepEqual(b.tun(packet.subarray(0, 39)), []);
  const v4 = packet.slice();
  v4[0] = 0x45;
  assert.deepEqual(b.tun(v4), []);
  const long = packet.slice();
  long[5] = 200;
  assert.deepEqual(b.tun(long), []);
  assert.equal(b.counter('drop-tx-malformed'), 3);
  assert.equal(b.table.size(), 0);
});

test('step 2: a client not qualified answers address unreachable, from the packet destination', () => {
  const b = bench({ qualified: false });
  const packet = ipv6Packet(address('2001:db8:5::1'), PEER_ADDRESS);
  const sent = b.tun(packet);
  assert.equal(sent.length, 1);
  assertUnreachable(sent[0], UNREACHABLE_CODE.addressUnreachable, packet);
  assert.equal(b.counter('tx-not-qualified'), 1);
  assert.equal(b.table.size(), 0);
});

test('step 3, client: a native destination from a non-Teredo source is administratively prohibited', () => {
  const b = bench();
  const packet = ipv6Packet(address('2001:db8:5::1'), NATIVE_HOST);
  const sent = b.tun(packet);
  assert.equal(sent.length, 1);
  assertUnreachable(sent[0], UNREACHABLE_CODE.administrativelyProhibited, packet);
  assert.equal(b.counter('tx-source-not-teredo'), 1);
  assert.equal(b.table.size(), 0);
});

test('step 3, relay: a native destination is address unreachable (routing misconfigured)', () => {
  for (const cone of [true, false]) {
    const b = bench({ role: 'relay', cone });
    const packet = ipv6Packet(RELAY_SIDE_HOST, NATIVE_HOST);
    const sent = b.tun(packet);
    assert.equal(sent.length, 1);
    assertUnreachable(sent[0], UNREACHABLE_CODE.addressUnreachable, packet);
    assert.equal(b.counter('tx-relay-not-teredo'), 1);
  }
});

test('step 4: a Teredo destination whose server is 0 or not global unicast is dropped silently', () => {
  for (const role of ['client', 'relay'] as const) {
    const b = bench({ role });
    const source = role === 'client' ? CLIENT_ADDRESS : RELAY_SIDE_HOST;
    for (const server of [0, 0x0a000001, 0xc0a80101, 0x7f000001, 0xe0000001]) {
      const destination = encodeTeredoAddress({
        prefix: PREFIX,
        server,
        flags: 0,
        port: PEER_PORT,
        client: PEER_IPV4,
      });
      assert.deepEqual(b.tun(ipv6Packet(source, destination)), []);
    }
    assert.equal(b.counter('drop-tx-bad-server'), 5);
    assert.equal(b.table.size(), 0);
  }
});

test('step 5: when the table is full and every peer is trusted, the packet is dropped without ICMPv6', () => {
  const b = bench({ capacity: 2 });
  for (const text of ['2001:db8::10', '2001:db8::11']) {
    const slot = b.table.insert(address(text), 0, 1000);
    b.table.setFlags(slot, PEER_TRUSTED);
  }
  assert.deepEqual(b.tun(TO_PEER), []);
  assert.equal(b.counter('drop-tx-table-full'), 1);
  assert.equal(b.core.stats().queuedPackets, 0);
});

test('step 7, client: queued, then a direct bubble to the embedded mapping and indirect ones via its server', () => {
  const b = bench();
  const sent = b.tun(TO_PEER);
  assertBubbles(b, sent, true);
  const slot = b.slotOf(PEER_ADDRESS);
  assert.ok(slot >= 0);
  assert.equal(b.table.flags(slot), PEER_QUEUED | PEER_COUNTING | PEER_SOLICITED);
  assert.equal(b.table.mappedIPv4(slot), PEER_IPV4);
  assert.equal(b.table.mappedPort(slot), PEER_PORT);
  assert.deepEqual(b.core.stats(), { peers: 1, queuedPackets: 1, queuedBytes: TO_PEER.length });
  assert.equal(b.counter('bubble-sent'), 3);
  assert.equal(b.counter('tx-queued'), 1);
});

test('step 7, relay: restricted sends direct and indirect bubbles, cone only the indirect one', () => {
  for (const cone of [false, true]) {
    const b = bench({ role: 'relay', cone });
    const sent = b.tun(ipv6Packet(RELAY_SIDE_HOST, PEER_ADDRESS));
    assertBubbles(b, sent, !cone, false);
    assert.equal(b.core.stats().queuedPackets, 1);
  }
});

test('step 7: no direct bubble to a non-global embedded IPv4 (the indirect one still goes)', () => {
  const b = bench();
  const behindNat = encodeTeredoAddress({
    prefix: PREFIX,
    server: PEER_SERVER_IPV4,
    flags: 0,
    port: PEER_PORT,
    client: 0x0a000005,
  });
  const viaServer = [PEER_SERVER_IPV4, TEREDO_PORT];
  const targets = (sent: Sent[]): number[][] => sent.map((item) => [udp(item).ipv4, udp(item).port]);
  assert.deepEqual(targets(b.tun(ipv6Packet(CLIENT_ADDRESS, behindNat))), [viaServer, viaServer]);
  assert.equal(b.counter('drop-bubble-not-global'), 1);
});

test('bubble pacing: more than 2 s apart, 4 bubbles, then unreachable until 300 s after the last', () => {
  const b = bench();
  const packet = ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS, new Uint8Array(0));
  const start = b.nowMs;
  const at = (seconds: number): Sent[] => {
    b.nowMs = start + seconds * 1000;
    return b.tun(packet);
  };
  assertBubbles(b, at(0), true);
  assert.deepEqual(at(2), [], '2 s after: too early');
  assertBubbles(b, at(3), true);
  assertBubbles(b, at(6), true);
  assert.deepEqual(at(8), []);
  assertBubbles(b, at(9), true);
  assert.equal(b.counter('bubble-sent'), 12, 'four rounds of three');
  assert.deepEqual(at(11), [], 'still within 2 s of the 4th');
  const limited = at(12);
  assert.equal(limited.length, 1);
  assertUnreachable(limited[0], UNREACHABLE_CODE.addressUnreachable, packet);
  assertUnreachable(at(309)[0], UNREACHABLE_CODE.addressUnreachable, packet);
  assertBubbles(b, at(310), true);
  assert.equal(b.counter('tx-bubble-limit'), 2);
  assert.equal(b.counter('bubble-paced'), 3);
  const slot = b.slotOf(PEER_ADDRESS);
  assert.equal(b.table.bubbles(slot), 1, 'the count started over');
});

test('step 5: a trusted peer heard from within 30 s gets the packet verbatim at its mapping', () => {
  const b = bench();
  const slot = b.table.insert(PEER_ADDRESS, 0, 1000);
  b.table.setFlags(slot, PEER_TRUSTED);
  b.table.setMapping(slot, 0xcb000001, 1234);
  b.table.touchRx(slot, Math.floor(b.nowMs / 1000) - 30);
  const packet = sizedPacket(CLIENT_ADDRESS, PEER_ADDRESS, 100);
  const sent = b.tun(packet);
  assert.equal(sent.length, 1);
  const datagram = udp(sent[0]);
  assert.deepEqual([datagram.ipv4, datagram.port], [0xcb000001, 1234]);
  assert.deepEqual(datagram.bytes, packet);
  assert.equal(b.table.lastTx(slot), Math.floor(b.nowMs / 1000));
  assert.equal(b.counter('encapsulated'), 1);
});

test('step 5 then 7: a trusted peer silent for 31 s is queued and bubbled again at its embedded mapping', () => {
  const b = bench();
  const slot = b.table.insert(PEER_ADDRESS, 0, 1000);
  b.table.setFlags(slot, PEER_TRUSTED);
  b.table.setMapping(slot, 0xcb000001, 1234);
  b.table.touchRx(slot, Math.floor(b.nowMs / 1000) - 31);
  const sent = b.tun(TO_PEER);
  assertBubbles(b, sent, true);
  assert.equal(b.table.flags(slot), PEER_TRUSTED | PEER_QUEUED | PEER_COUNTING | PEER_SOLICITED);
  assert.deepEqual([b.table.mappedIPv4(slot), b.table.mappedPort(slot)], [0xcb000001, 1234], 'mapping kept');
});

test('step 6, client: a native destination is queued and pinged through our own server', () => {
  const b = bench();
  const packet = ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST);
  const sent = b.tun(packet);
  assert.equal(sent.length, 1);
  const ping = udp(sent[0]);
  assert.deepEqual([ping.ipv4, ping.port], [SERVER_IPV4, TEREDO_PORT]);
  assert.equal(hexOf(ping.bytes.subarray(0, 8)), '60000000001a3a80');
  const slot = b.slotOf(NATIVE_HOST);
  assert.equal(b.table.flags(slot), PEER_QUEUED | PEER_COUNTING | PEER_SOLICITED);
  assert.deepEqual([b.table.mappedIPv4(slot), b.table.mappedPort(slot)], [0, 0]);
  assert.equal(b.core.stats().queuedPackets, 1);
  assert.equal(b.counter('ping-sent'), 1);
});

test('ping pacing: more than 2 s apart, at most 4, then address unreachable until a new round 10 s later', () => {
  const b = bench();
  const packet = ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST, new Uint8Array(0));
  const start = b.nowMs;
  const at = (seconds: number): Sent[] => {
    b.nowMs = start + seconds * 1000;
    return b.tun(packet);
  };
  const pings: number[] = [];
  for (const seconds of [0, 1, 2, 3, 5, 6, 9]) {
    const sent = at(seconds);
    if (sent.length > 0) {
      assert.equal(udp(sent[0]).ipv4, SERVER_IPV4);
      pings.push(seconds);
    }
  }
  assert.deepEqual(pings, [0, 3, 6, 9]);
  for (const seconds of [10, 13, 19]) {
    const sent = at(seconds);
    assert.equal(sent.length, 1);
    assertUnreachable(sent[0], UNREACHABLE_CODE.addressUnreachable, packet);
  }
  const again = at(20);
  assert.equal(again.length, 1);
  assert.equal(udp(again[0]).ipv4, SERVER_IPV4, 'a new round of pings');
  assert.equal(b.counter('ping-sent'), 5);
  assert.equal(b.counter('ping-paced'), 3);
  assert.equal(b.counter('tx-ping-limit'), 3);
});

test('a relay never pings (a native destination is unreachable, see step 3)', () => {
  const b = bench({ role: 'relay' });
  b.tun(ipv6Packet(RELAY_SIDE_HOST, NATIVE_HOST));
  assert.equal(b.counter('ping-sent'), 0);
  assert.equal(b.table.size(), 0);
});

test('per-peer queue: 1280 bytes; what does not fit is dropped and counted', () => {
  const b = bench();
  const first = sizedPacket(CLIENT_ADDRESS, PEER_ADDRESS, 600, 1);
  const second = sizedPacket(CLIENT_ADDRESS, PEER_ADDRESS, 600, 2);
  const third = sizedPacket(CLIENT_ADDRESS, PEER_ADDRESS, 100, 3);
  const fourth = sizedPacket(CLIENT_ADDRESS, PEER_ADDRESS, 80, 4);
  for (const packet of [first, second, third, fourth]) b.tun(packet);
  assert.equal(b.counter('tx-queued'), 3);
  assert.equal(b.counter('drop-tx-queue-full'), 1);
  assert.deepEqual(b.core.stats(), { peers: 1, queuedPackets: 3, queuedBytes: 1280 });

  // The peer answers from its mapping: the queue goes out in arrival order.
  const sent = b.udp(bubble(PEER_ADDRESS, CLIENT_ADDRESS), PEER_IPV4, PEER_PORT);
  assert.deepEqual(
    sent.map((item) => udp(item).bytes),
    [first, second, fourth],
  );
  assert.ok(sent.every((item) => udp(item).ipv4 === PEER_IPV4 && udp(item).port === PEER_PORT));
  assert.deepEqual(b.core.stats(), { peers: 1, queuedPackets: 0, queuedBytes: 0 });
});

test('a full slab: the drop is counted as drop-tx-slab-full, apart from a full peer queue', () => {
  const b = bench({ capacity: 8192 });
  const peerAt = (index: number): Uint8Array =>
    encodeTeredoAddress({
      prefix: PREFIX,
      server: PEER_SERVER_IPV4,
      flags: 0,
      port: 1024 + index,
      client: PEER_IPV4,
    });
  // Enough peers with one full queue each (a 1280-byte packet) to take every chunk, then one more.
  const peers = Math.floor(queueSlabChunks(DEFAULT_PEER_QUEUE_SLAB_BYTES) / CHUNKS_PER_FULL_QUEUE);
  for (let index = 0; index <= peers; index++) b.tun(sizedPacket(CLIENT_ADDRESS, peerAt(index), 1280));
  assert.equal(b.counter('tx-queued'), peers);
  assert.equal(b.counter('drop-tx-slab-full'), 1, 'the last peer found no room left');
  assert.equal(b.counter('drop-tx-queue-full'), 0, 'no peer was over its own budget');
  assert.deepEqual(b.core.stats(), { peers: peers + 1, queuedPackets: peers, queuedBytes: peers * 1280 });

  // A peer over its own budget is counted as such, full slab or not.
  b.tun(sizedPacket(CLIENT_ADDRESS, peerAt(0), 100));
  assert.equal(b.counter('drop-tx-queue-full'), 1);
  assert.equal(b.counter('drop-tx-slab-full'), 1);

  // Peer 0 answers from its mapping: its queue goes out and its chunks take the refused peer's packet.
  const flushed = b.udp(bubble(peerAt(0), CLIENT_ADDRESS), PEER_IPV4, 1024);
  assert.deepEqual(
    flushed.map((item) => udp(item).bytes.length),
    [1280],
  );
  b.tun(sizedPacket(CLIENT_ADDRESS, peerAt(peers), 1280));
  assert.equal(b.counter('tx-queued'), peers + 1);
  assert.equal(b.counter('drop-tx-slab-full'), 1);
});

test('packets are copied when queued: the caller may reuse its buffer', () => {
  const b = bench();
  const buffer = new Uint8Array(200);
  const packet = ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS);
  buffer.set(packet, 20);
  b.core.fromTun(buffer, 20, packet.length, b.nowMs, b.wallSeconds, b.out);
  b.out.take();
  buffer.fill(0xee);
  const sent = b.udp(bubble(PEER_ADDRESS, CLIENT_ADDRESS), PEER_IPV4, PEER_PORT);
  assert.deepEqual(udp(sent[0]).bytes, packet);
});

test('only the IPv6 packet proper is sent: bytes after 40 + payload length are not', () => {
  const b = bench();
  const slot = b.table.insert(PEER_ADDRESS, 0, 1000);
  b.table.setFlags(slot, PEER_TRUSTED);
  b.table.setMapping(slot, PEER_IPV4, PEER_PORT);
  b.table.touchRx(slot, Math.floor(b.nowMs / 1000));
  const packet = ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS);
  const padded = Uint8Array.from([...packet, 9, 9, 9]);
  assert.deepEqual(udp(b.tun(padded)[0]).bytes, packet);
});
