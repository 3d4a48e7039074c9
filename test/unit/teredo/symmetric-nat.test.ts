/** RFC 6081 symmetric NAT support (src/teredo/symmetric-nat.ts): its two rules, their pacing and refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { PEER_TRUSTED, PEER_UNPROVEN } from '../../../src/teredo/peers.js';
import {
  bench,
  bubble,
  CLIENT_ADDRESS,
  ipv6Packet,
  MAPPED_IPV4,
  MAPPED_PORT,
  ourBubbleSource,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PEER_SERVER_IPV4,
  PREFIX,
  SERVER_IPV4,
  TEREDO_PORT,
  udp,
  withOrigin,
} from './relay-harness.js';
import type { Bench, Sent } from './relay-harness.js';
import { hexOf } from './fixtures.js';

/** The peer's NAT gave its bubble to our server another port than the one in its address. */
const SYMMETRIC_PORT = PEER_PORT + 11;
/** A bubble from an interface ID, as ours and Miredo's are: it does not say who sent it. */
const INTERFACE_ID_SOURCE = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);

/** An indirect bubble from `from`, as our server relays it: origin indication = where it came from. */
function indirectBubble(from: Uint8Array, originIPv4: number, originPort: number): Uint8Array {
  return withOrigin(bubble(from, CLIENT_ADDRESS), originPort, originIPv4);
}

function targets(sent: readonly Sent[]): string[] {
  return sent.map((item) => `${udp(item).ipv4}:${udp(item).port}`);
}

const fromServer = (b: Bench, datagram: Uint8Array): Sent[] => b.udp(datagram, SERVER_IPV4, TEREDO_PORT);

test('rule 1: an indirect bubble from a peer we have no path to gets the reply bubble and one indirect bubble back', () => {
  const b = bench();
  const sent = fromServer(b, indirectBubble(PEER_ADDRESS, PEER_IPV4, SYMMETRIC_PORT));
  assert.deepEqual(targets(sent), [`${PEER_IPV4}:${SYMMETRIC_PORT}`, `${PEER_SERVER_IPV4}:${TEREDO_PORT}`]);
  assert.equal(hexOf(udp(sent[0]).bytes), hexOf(bubble(CLIENT_ADDRESS, PEER_ADDRESS)), 'the reply');
  assert.equal(
    hexOf(udp(sent[1]).bytes),
    hexOf(bubble(ourBubbleSource(b.security, PEER_IPV4, PEER_PORT), PEER_ADDRESS)),
    'our own bubble: its answer to our interface ID is accepted from any mapping',
  );
  assert.equal(b.counter('bubble-back-sent'), 1);
  const slot = b.slotOf(PEER_ADDRESS);
  assert.equal(
    b.table.flags(slot) & (PEER_TRUSTED | PEER_UNPROVEN),
    PEER_UNPROVEN,
    'an unproven entry paces it',
  );
});

test('rule 1 then case 5: the answer from the port the peer NAT uses towards us makes it trusted there, rule 2 greets it', () => {
  const b = bench();
  fromServer(b, indirectBubble(PEER_ADDRESS, PEER_IPV4, PEER_PORT));
  const towardsUs = PEER_PORT + 23;
  const answer = bubble(PEER_ADDRESS, ourBubbleSource(b.security, PEER_IPV4, PEER_PORT));
  const sent = b.udp(answer, PEER_IPV4, towardsUs);
  assert.deepEqual(targets(sent), [`${PEER_IPV4}:${towardsUs}`]);
  assert.equal(
    hexOf(udp(sent[0]).bytes),
    hexOf(bubble(CLIENT_ADDRESS, PEER_ADDRESS)),
    'from our Teredo address',
  );
  assert.equal(b.counter('learnt-mapping-bubble-sent'), 1);
  const slot = b.slotOf(PEER_ADDRESS);
  assert.deepEqual([b.table.mappedIPv4(slot), b.table.mappedPort(slot)], [PEER_IPV4, towardsUs]);
  assert.equal(b.table.flags(slot) & PEER_TRUSTED, PEER_TRUSTED);

  // Trusted now: its next indirect bubble gets the reply only.
  assert.equal(fromServer(b, indirectBubble(PEER_ADDRESS, PEER_IPV4, PEER_PORT)).length, 1);
  assert.equal(b.counter('bubble-back-sent'), 1);
  // The same mapping again is plain case 4: no second greeting.
  assert.deepEqual(b.udp(answer, PEER_IPV4, towardsUs), []);
  assert.equal(b.counter('learnt-mapping-bubble-sent'), 1);
});

test('rule 1 needs a Teredo source: a bubble from an interface ID gets the reply only', () => {
  const b = bench();
  const sent = fromServer(b, indirectBubble(INTERFACE_ID_SOURCE, PEER_IPV4, PEER_PORT));
  assert.deepEqual(targets(sent), [`${PEER_IPV4}:${PEER_PORT}`]);
  assert.equal(b.counter('bubble-back-sent'), 0);
  assert.equal(b.table.size(), 0);
});

test('rule 0: each round of bubbles from a client ends with one from our Teredo address via the peer server', () => {
  const b = bench();
  const sent = b.tun(ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS));
  const last = udp(sent[sent.length - 1]);
  assert.deepEqual([last.ipv4, last.port], [PEER_SERVER_IPV4, TEREDO_PORT]);
  assert.equal(hexOf(last.bytes), hexOf(bubble(CLIENT_ADDRESS, PEER_ADDRESS)));
  // What the peer (ours) does with it: rule 1, a bubble back through our server.
  const peer = bench();
  peer.core.setClientIdentity({ address: PEER_ADDRESS, serverIPv4: PEER_SERVER_IPV4, mtu: 1280 });
  const back = peer.udp(withOrigin(last.bytes, MAPPED_PORT, MAPPED_IPV4), PEER_SERVER_IPV4, TEREDO_PORT);
  assert.deepEqual(targets(back), [`${MAPPED_IPV4}:${MAPPED_PORT}`, `${SERVER_IPV4}:${TEREDO_PORT}`]);
  assert.equal(peer.counter('bubble-back-sent'), 1);
});

test('rule 1 refuses an origin that is not the IPv4 in the peer address: only the reply goes, to the origin', () => {
  const b = bench();
  const stranger = 0xc000020a; // 192.0.2.10
  const sent = fromServer(b, indirectBubble(PEER_ADDRESS, stranger, 4000));
  assert.deepEqual(targets(sent), [`${stranger}:4000`]);
  assert.equal(b.counter('bubble-back-refused-origin'), 1);
  assert.equal(b.counter('bubble-back-sent'), 0);
  assert.equal(b.slotOf(PEER_ADDRESS), -1, 'no entry for it');
});

test('rule 1 is paced per peer like its bubbles: a spoofed stream of 10 per second gets at most 4 bubbles back in 5 minutes', () => {
  const b = bench();
  let back = 0;
  for (let tenth = 0; tenth < 3000; tenth++) {
    const sent = fromServer(b, indirectBubble(PEER_ADDRESS, PEER_IPV4, PEER_PORT));
    back += targets(sent).filter((target) => target === `${PEER_SERVER_IPV4}:${TEREDO_PORT}`).length;
    assert.ok(sent.length <= 2);
    b.advance(100);
  }
  assert.equal(back, TEREDO_CONSTANTS.bubbleBurst);
  assert.equal(b.counter('bubble-back-sent'), TEREDO_CONSTANTS.bubbleBurst);
  assert.equal(b.counter('bubble-back-paced'), 3000 - TEREDO_CONSTANTS.bubbleBurst);
});

test('rule 1 has a budget for the whole tunnel: spoofed peers by the hundred get at most traversalBubblesPerSecond back per second', () => {
  const b = bench({ capacity: 1024 });
  b.nowMs = 5_000_000; // the start of a clock second
  let back = 0;
  for (let index = 0; index < 300; index++) {
    const peer = encodeTeredoAddress({
      prefix: PREFIX,
      server: PEER_SERVER_IPV4 + 1 + (index % 7),
      flags: 0,
      port: 1024 + index,
      client: PEER_IPV4,
    });
    back += fromServer(b, indirectBubble(peer, PEER_IPV4, 1024 + index)).length - 1;
  }
  assert.equal(back, TEREDO_CONSTANTS.traversalBubblesPerSecond);
  assert.equal(b.counter('traversal-rate-limited'), 300 - TEREDO_CONSTANTS.traversalBubblesPerSecond);
  b.advance(1000);
  const next = encodeTeredoAddress({
    prefix: PREFIX,
    server: PEER_SERVER_IPV4,
    flags: 0,
    port: 999,
    client: PEER_IPV4,
  });
  assert.equal(
    fromServer(b, indirectBubble(next, PEER_IPV4, 999)).length,
    2,
    'the next second has a budget again',
  );
});

test('rule 1 counts a peer the table has no room for, and sends it the reply only', () => {
  const b = bench({ capacity: 1 });
  const slot = b.table.insert(
    CLIENT_ADDRESS.map((byte, i) => (i === 15 ? byte ^ 1 : byte)),
    0,
    1000,
  );
  b.table.setFlags(slot, PEER_TRUSTED); // a proven peer: never evicted
  assert.equal(fromServer(b, indirectBubble(PEER_ADDRESS, PEER_IPV4, PEER_PORT)).length, 1);
  assert.equal(b.counter('bubble-back-table-full'), 1);
});

test('rule 2 shares the tunnel budget: an on-path replayer of our interface ID gets no more', () => {
  const b = bench();
  b.nowMs = 7_000_000;
  const answer = bubble(PEER_ADDRESS, ourBubbleSource(b.security, PEER_IPV4, PEER_PORT));
  let greetings = 0;
  for (let port = 2000; port < 2100; port++) greetings += b.udp(answer, PEER_IPV4, port).length;
  assert.equal(greetings, TEREDO_CONSTANTS.traversalBubblesPerSecond);
  assert.equal(b.counter('traversal-rate-limited'), 100 - TEREDO_CONSTANTS.traversalBubblesPerSecond);
});
