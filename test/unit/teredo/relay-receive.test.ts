/** Reception decisions (reference section 4.8): every case, client and relay. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { DEFAULT_PEER_QUEUE_SLAB_BYTES } from '../../../src/teredo/peer-queue.js';
import {
  PEER_COUNTING,
  PEER_QUEUED,
  PEER_SOLICITED,
  PEER_TRUSTED,
  PEER_UNPROVEN,
} from '../../../src/teredo/peers.js';
import { queueSlabChunks } from '../../../src/teredo/peers-queue-slab.js';
import {
  address,
  bench,
  bubble,
  CLIENT_ADDRESS,
  ipv6Packet,
  MAPPED_IPV4,
  NATIVE_HOST,
  ourBubbleSource,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PEER_SERVER_IPV4,
  PREFIX,
  RELAY_IPV4,
  RELAY_PORT,
  RELAY_SIDE_HOST,
  SERVER_IPV4,
  sizedPacket,
  TEREDO_PORT,
  tun,
  udp,
  withAuth,
  withOrigin,
} from './relay-harness.js';
import { hexOf } from './fixtures.js';

const FROM_PEER = ipv6Packet(PEER_ADDRESS, CLIENT_ADDRESS);

test('1: datagrams without a whole IPv6 packet are dropped', () => {
  const b = bench();
  const bad = [
    new Uint8Array(0),
    new Uint8Array(1),
    FROM_PEER.subarray(0, 39),
    Uint8Array.from([0x45, ...FROM_PEER.subarray(1)]),
    Uint8Array.from([...FROM_PEER.subarray(0, 5), 200, ...FROM_PEER.subarray(6)]),
    withOrigin(FROM_PEER, PEER_PORT, PEER_IPV4).subarray(0, 6),
    withAuth(FROM_PEER).subarray(0, 12),
  ];
  for (const datagram of bad) assert.deepEqual(b.udp(datagram, PEER_IPV4, PEER_PORT), []);
  assert.equal(b.counter('drop-rx-malformed'), bad.length);
  assert.equal(b.table.size(), 0);
});

test('2b: a client not qualified accepts nothing', () => {
  const b = bench({ qualified: false });
  assert.deepEqual(b.udp(FROM_PEER, PEER_IPV4, PEER_PORT), []);
  assert.equal(b.counter('drop-rx-not-qualified'), 1);
  assert.equal(b.table.size(), 0);
});

test('2c: an indirect bubble from our server is answered by a reply bubble to its origin, and stops there', () => {
  const b = bench();
  const relayBubbleSource = address('fe80::1234:5678:9abc:def0');
  const indirect = withOrigin(bubble(relayBubbleSource, CLIENT_ADDRESS), RELAY_PORT, RELAY_IPV4);
  const sent = b.udp(indirect, SERVER_IPV4, TEREDO_PORT);
  assert.equal(sent.length, 1);
  const reply = udp(sent[0]);
  assert.deepEqual([reply.ipv4, reply.port], [RELAY_IPV4, RELAY_PORT]);
  assert.equal(hexOf(reply.bytes), hexOf(bubble(CLIENT_ADDRESS, relayBubbleSource)), 'src and dst swapped');
  assert.equal(b.counter('reply-bubble-sent'), 1);
  assert.equal(b.counter('rx-server-bubble'), 1);
  assert.equal(b.table.size(), 0, 'no peer entry');
});

test('2c: a bubble from our server without origin indication is answered at its Teredo source mapping', () => {
  const b = bench();
  const sent = b.udp(bubble(PEER_ADDRESS, CLIENT_ADDRESS), SERVER_IPV4, TEREDO_PORT);
  assert.equal(sent.length, 2, 'the reply, and a bubble back via its server (symmetric-nat.ts)');
  const reply = udp(sent[0]);
  assert.deepEqual([reply.ipv4, reply.port], [PEER_IPV4, PEER_PORT]);
  assert.equal(hexOf(reply.bytes), hexOf(bubble(CLIENT_ADDRESS, PEER_ADDRESS)));
  assert.deepEqual([udp(sent[1]).ipv4, udp(sent[1]).port], [PEER_SERVER_IPV4, TEREDO_PORT]);
});

test('2c: no reply bubble to a non-global origin, nor for datagrams from another port of the server', () => {
  const b = bench();
  const source = address('fe80::1');
  assert.deepEqual(
    b.udp(withOrigin(bubble(source, CLIENT_ADDRESS), 4000, 0x0a000001), SERVER_IPV4, TEREDO_PORT),
    [],
  );
  assert.equal(b.counter('drop-bubble-not-global'), 1);
  assert.deepEqual(
    b.udp(withOrigin(bubble(source, CLIENT_ADDRESS), 4000, RELAY_IPV4), SERVER_IPV4, 3545),
    [],
  );
  assert.equal(b.counter('reply-bubble-sent'), 0);
  assert.equal(b.counter('drop-rx-link-local-source'), 1, 'then dropped for its link-local source');
});

test('2c: a non-bubble from our server with an origin is answered and then goes on as usual', () => {
  const b = bench();
  const packet = ipv6Packet(PEER_ADDRESS, CLIENT_ADDRESS);
  // Answered at its origin; then, coming from the server rather than the mapping its source
  // address embeds, it matches no acceptance case.
  const sent = b.udp(withOrigin(packet, PEER_PORT, PEER_IPV4), SERVER_IPV4, TEREDO_PORT);
  assert.equal(sent.length, 1);
  assert.deepEqual([udp(sent[0]).ipv4, udp(sent[0]).port], [PEER_IPV4, PEER_PORT]);
  assert.equal(hexOf(udp(sent[0]).bytes), hexOf(bubble(CLIENT_ADDRESS, PEER_ADDRESS)));
  assert.equal(b.counter('drop-rx-unmatched'), 1);
});

test('2d: a client drops link-local sources (no forged Router Advertisements reach the kernel)', () => {
  const b = bench();
  const forgedRa = ipv6Packet(address('fe80::1'), CLIENT_ADDRESS, new Uint8Array(16), 58);
  forgedRa[40] = 134;
  assert.deepEqual(b.udp(forgedRa, PEER_IPV4, PEER_PORT), []);
  assert.deepEqual(b.udp(bubble(address('fe80::2'), CLIENT_ADDRESS), PEER_IPV4, PEER_PORT), []);
  assert.equal(b.counter('drop-rx-link-local-source'), 2);
});

test('2: a relay drops every non-Teredo source', () => {
  const b = bench({ role: 'relay' });
  assert.deepEqual(b.udp(ipv6Packet(NATIVE_HOST, PEER_ADDRESS), PEER_IPV4, PEER_PORT), []);
  assert.deepEqual(b.udp(bubble(address('fe80::1'), PEER_ADDRESS), PEER_IPV4, PEER_PORT), []);
  assert.equal(b.counter('drop-rx-source-not-teredo'), 2);
});

test('3: multicast destinations are dropped; link-local destinations are allowed', () => {
  const b = bench();
  assert.deepEqual(b.udp(ipv6Packet(PEER_ADDRESS, address('ff02::1')), PEER_IPV4, PEER_PORT), []);
  assert.equal(b.counter('drop-rx-multicast'), 1);
  const toLinkLocal = ipv6Packet(PEER_ADDRESS, address('fe80::ffff:ffff:ffff'));
  assert.deepEqual(b.udp(toLinkLocal, PEER_IPV4, PEER_PORT), [{ kind: 'tun', bytes: toLinkLocal }]);
});

test('5, client: a Teredo source whose address embeds the outer source is trusted and delivered', () => {
  const b = bench();
  const padded = Uint8Array.from([...FROM_PEER, 1, 2, 3]);
  const sent = b.udp(padded, PEER_IPV4, PEER_PORT);
  assert.deepEqual(sent, [{ kind: 'tun', bytes: FROM_PEER }], 'the IPv6 packet proper, trailer cut');
  const slot = b.slotOf(PEER_ADDRESS);
  assert.equal(b.table.flags(slot), PEER_TRUSTED | PEER_UNPROVEN, 'nobody asked for it: unproven');
  assert.deepEqual([b.table.mappedIPv4(slot), b.table.mappedPort(slot)], [PEER_IPV4, PEER_PORT]);
  assert.equal(b.table.lastRx(slot), Math.floor(b.nowMs / 1000));
  assert.equal(b.counter('rx-mapping-learned'), 1);
  assert.equal(b.counter('decapsulated'), 1);
});

test('5: auth and origin headers before the packet are skipped', () => {
  const b = bench();
  const sent = b.udp(withAuth(withOrigin(FROM_PEER, 1, 2)), PEER_IPV4, PEER_PORT);
  assert.deepEqual(sent, [{ kind: 'tun', bytes: FROM_PEER }]);
});

test('5: bubbles are accepted but never written to the TUN device', () => {
  const b = bench();
  assert.deepEqual(b.udp(bubble(PEER_ADDRESS, CLIENT_ADDRESS), PEER_IPV4, PEER_PORT), []);
  assert.equal(b.table.flags(b.slotOf(PEER_ADDRESS)), PEER_TRUSTED | PEER_UNPROVEN);
  assert.equal(b.counter('rx-bubble'), 1);
});

test('4: a trusted peer at its mapping is delivered and its counters reset; elsewhere it is not', () => {
  const b = bench();
  b.tun(ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS)); // bubbles: counting, queued
  const slot = b.slotOf(PEER_ADDRESS);
  b.table.setFlags(slot, PEER_TRUSTED | PEER_QUEUED | PEER_COUNTING);
  b.table.setMapping(slot, 0xcb000001, 1234); // learnt elsewhere (e.g. through a symmetric NAT)
  const sent = b.udp(FROM_PEER, 0xcb000001, 1234);
  assert.equal(sent.length, 2, 'queued packet out, then the received one in');
  assert.deepEqual([udp(sent[0]).ipv4, udp(sent[0]).port], [0xcb000001, 1234]);
  assert.deepEqual(tun(sent[1]).bytes, FROM_PEER);
  assert.equal(b.table.flags(slot), PEER_TRUSTED);
  assert.equal(b.table.bubbles(slot), 0);

  // Same peer from a third mapping that its address does not embed: dropped.
  assert.deepEqual(b.udp(FROM_PEER, 0xcb000002, 1234), []);
  assert.equal(b.counter('drop-rx-unmatched'), 1);
  assert.deepEqual([b.table.mappedIPv4(slot), b.table.mappedPort(slot)], [0xcb000001, 1234]);
});

test('5, relay: unknown peers are dropped; a peer it sent to is trusted, its queue flushed in order', () => {
  const b = bench({ role: 'relay', cone: true });
  assert.deepEqual(b.udp(FROM_PEER, PEER_IPV4, PEER_PORT), []);
  assert.equal(b.counter('drop-rx-unknown-peer'), 1);
  assert.equal(b.table.size(), 0);

  const queued = [1, 2, 3].map((n) => ipv6Packet(RELAY_SIDE_HOST, PEER_ADDRESS, Uint8Array.of(n)));
  for (const packet of queued) b.tun(packet);
  const fromPeer = ipv6Packet(PEER_ADDRESS, RELAY_SIDE_HOST);
  const sent = b.udp(fromPeer, PEER_IPV4, PEER_PORT);
  assert.deepEqual(
    sent.map((item) => (item.kind === 'udp' ? [item.ipv4, item.port, hexOf(item.bytes)] : hexOf(item.bytes))),
    [...queued.map((packet) => [PEER_IPV4, PEER_PORT, hexOf(packet)]), hexOf(fromPeer)],
  );
  assert.equal(
    b.table.flags(b.slotOf(PEER_ADDRESS)),
    PEER_TRUSTED | PEER_SOLICITED | PEER_UNPROVEN,
    'a plain answer proves nothing',
  );
});

test('5, HMAC bubble: a peer behind a symmetric NAT answers our bubble from another mapping', () => {
  const b = bench({ role: 'relay', cone: false });
  const data = ipv6Packet(RELAY_SIDE_HOST, PEER_ADDRESS);
  const ourBubble = udp(b.tun(data)[0]).bytes;
  const ourLinkLocal = ourBubble.subarray(8, 24);
  assert.deepEqual(ourLinkLocal, ourBubbleSource(b.security, PEER_IPV4, PEER_PORT));

  // The NAT gives the peer's reply another port: its address no longer matches the outer source.
  const symmetricPort = PEER_PORT + 7;
  const forged = bubble(PEER_ADDRESS, address('fe80::1:2:3:4'));
  assert.deepEqual(b.udp(forged, PEER_IPV4, symmetricPort), [], 'a bubble without our interface ID');
  assert.equal(b.counter('drop-rx-unmatched'), 1);
  const notBubble = ipv6Packet(PEER_ADDRESS, ourLinkLocal);
  assert.deepEqual(b.udp(notBubble, PEER_IPV4, symmetricPort), [], 'only bubbles qualify');
  assert.equal(b.counter('drop-rx-unmatched'), 2);

  const reply = bubble(PEER_ADDRESS, ourLinkLocal);
  const sent = b.udp(reply, PEER_IPV4, symmetricPort);
  assert.equal(sent.length, 1);
  assert.deepEqual(udp(sent[0]).bytes, data);
  assert.deepEqual([udp(sent[0]).ipv4, udp(sent[0]).port], [PEER_IPV4, symmetricPort]);
  const slot = b.slotOf(PEER_ADDRESS);
  assert.equal(b.table.flags(slot), PEER_TRUSTED | PEER_SOLICITED, 'our interface ID proves it');
  assert.deepEqual([b.table.mappedIPv4(slot), b.table.mappedPort(slot)], [PEER_IPV4, symmetricPort]);
  assert.equal(b.counter('rx-hmac-bubble'), 1);
  assert.equal(b.counter('peers-proven'), 1);

  // From now on data from that mapping is case 4.
  const fromPeer = ipv6Packet(PEER_ADDRESS, RELAY_SIDE_HOST);
  assert.deepEqual(b.udp(fromPeer, PEER_IPV4, symmetricPort), [{ kind: 'tun', bytes: fromPeer }]);
});

test('5, HMAC bubble: a client creates the entry for such a peer', () => {
  const b = bench();
  const reply = bubble(PEER_ADDRESS, ourBubbleSource(b.security, PEER_IPV4, PEER_PORT));
  const sent = b.udp(reply, PEER_IPV4, 40001);
  assert.deepEqual(
    sent.map((item) => [udp(item).ipv4, udp(item).port, hexOf(udp(item).bytes)]),
    [[PEER_IPV4, 40001, hexOf(bubble(CLIENT_ADDRESS, PEER_ADDRESS))]],
    'one bubble from our address to the learnt mapping (symmetric-nat.ts rule 2)',
  );
  const slot = b.slotOf(PEER_ADDRESS);
  assert.deepEqual(
    [b.table.flags(slot), b.table.mappedPort(slot)],
    [PEER_TRUSTED | PEER_UNPROVEN, 40001],
    'we never sent it anything: unproven',
  );
});

test('6: a native source is queued as incoming and pinged through our server', () => {
  const b = bench();
  const fromNative = ipv6Packet(NATIVE_HOST, CLIENT_ADDRESS);
  const sent = b.udp(fromNative, RELAY_IPV4, RELAY_PORT);
  assert.equal(sent.length, 1);
  const ping = udp(sent[0]);
  assert.deepEqual([ping.ipv4, ping.port], [SERVER_IPV4, TEREDO_PORT]);
  assert.equal(
    hexOf(ping.bytes.subarray(0, 40)),
    '60000000001a3a80' + hexOf(CLIENT_ADDRESS) + hexOf(NATIVE_HOST),
  );
  assert.equal(ping.bytes[40], 128, 'echo request');
  const slot = b.slotOf(NATIVE_HOST);
  assert.equal(b.table.flags(slot), PEER_QUEUED | PEER_COUNTING | PEER_UNPROVEN);
  assert.equal(b.table.lastRx(slot), Math.floor(b.nowMs / 1000));
  assert.equal(b.counter('rx-queued'), 1);

  // More packets within 2 s: queued, no new ping.
  assert.deepEqual(b.udp(fromNative, RELAY_IPV4, RELAY_PORT), []);
  assert.equal(b.counter('ping-paced'), 1);
  assert.equal(b.core.stats().queuedPackets, 2);
});

test('6: a native source over its queue budget is dropped as drop-rx-queue-full', () => {
  const b = bench();
  assert.equal(b.udp(sizedPacket(NATIVE_HOST, CLIENT_ADDRESS, 1200), RELAY_IPV4, RELAY_PORT).length, 1);
  b.udp(sizedPacket(NATIVE_HOST, CLIENT_ADDRESS, 81), RELAY_IPV4, RELAY_PORT);
  assert.equal(b.counter('drop-rx-queue-full'), 1, '1281 bytes would not fit');
  b.udp(sizedPacket(NATIVE_HOST, CLIENT_ADDRESS, 80), RELAY_IPV4, RELAY_PORT);
  assert.deepEqual([b.counter('rx-queued'), b.counter('drop-rx-slab-full')], [2, 0]);
  assert.deepEqual(b.core.stats(), { peers: 1, queuedPackets: 2, queuedBytes: 1280 });
});

test('6: a full slab: the drop is counted as drop-rx-slab-full, apart from a full peer queue', () => {
  // Room for every host among the unproven half of the table (peers-eviction.ts).
  const b = bench({ capacity: 16_384 });
  const nativeAt = (index: number): Uint8Array => {
    const host = NATIVE_HOST.slice();
    new DataView(host.buffer).setUint32(12, 0x10000 + index);
    return host;
  };
  // 3 + 320 words of stream for a 1280-byte packet, 63 per chunk: 6 chunks per native host.
  const peers = Math.floor(queueSlabChunks(DEFAULT_PEER_QUEUE_SLAB_BYTES) / Math.ceil((3 + 320) / 63));
  for (let index = 0; index <= peers; index++) {
    b.udp(sizedPacket(nativeAt(index), CLIENT_ADDRESS, 1280), RELAY_IPV4, RELAY_PORT);
  }
  assert.equal(b.counter('rx-queued'), peers);
  assert.equal(b.counter('drop-rx-slab-full'), 1, 'the last host found no room left');
  assert.equal(b.counter('drop-rx-queue-full'), 0, 'no host was over its own budget');
  assert.equal(b.counter('ping-sent'), peers + 1, 'each host is still pinged');

  b.udp(sizedPacket(nativeAt(0), CLIENT_ADDRESS, 100), RELAY_IPV4, RELAY_PORT);
  assert.deepEqual([b.counter('drop-rx-queue-full'), b.counter('drop-rx-slab-full')], [1, 1]);
  b.udp(sizedPacket(nativeAt(peers + 1), CLIENT_ADDRESS, 100), RELAY_IPV4, RELAY_PORT);
  assert.deepEqual([b.counter('drop-rx-queue-full'), b.counter('drop-rx-slab-full')], [1, 2]);
});

test('7: a Teredo source that matches no case is dropped', () => {
  const b = bench();
  const stranger = encodeTeredoAddress({
    prefix: PREFIX,
    server: SERVER_IPV4,
    flags: 0,
    port: 1,
    client: MAPPED_IPV4,
  });
  assert.deepEqual(b.udp(ipv6Packet(stranger, CLIENT_ADDRESS), PEER_IPV4, PEER_PORT), []);
  assert.equal(b.counter('drop-rx-unmatched'), 1);
  assert.equal(b.table.size(), 0);
});

test('a datagram inside a larger buffer is read at its offset and length only', () => {
  const b = bench();
  const buffer = new Uint8Array(300).fill(0x60);
  buffer.set(FROM_PEER, 17);
  b.core.fromUdp(buffer, 17, FROM_PEER.length, PEER_IPV4, PEER_PORT, b.nowMs, b.wallSeconds, b.out);
  assert.deepEqual(b.out.take(), [{ kind: 'tun', bytes: FROM_PEER }]);
});

test('relay data from a trusted client at its mapping (case 4)', () => {
  const b = bench({ role: 'relay', cone: true });
  b.tun(ipv6Packet(RELAY_SIDE_HOST, PEER_ADDRESS));
  b.udp(bubble(PEER_ADDRESS, RELAY_SIDE_HOST), PEER_IPV4, PEER_PORT);
  const data = ipv6Packet(PEER_ADDRESS, RELAY_SIDE_HOST, Uint8Array.of(9, 9));
  assert.deepEqual(b.udp(data, PEER_IPV4, PEER_PORT), [{ kind: 'tun', bytes: data }]);
  assert.deepEqual(b.udp(data, PEER_IPV4, PEER_PORT + 1), [], 'not from another port');
});
