/**
 * RFC 6081 port-preserving symmetric NAT (src/teredo/port-preserving-nat.ts): the first direct
 * bubble to a peer is held back until the peer's indirect bubble or the fallback delay, once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { WITHHELD_BUBBLE_SLOTS } from '../../../src/teredo/withheld-bubbles.js';
import {
  bench,
  bubble,
  CLIENT_ADDRESS,
  ipv6Packet,
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
import type { Bench, BenchOptions, Sent } from './relay-harness.js';

const TO_PEER = ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS);
const DIRECT = `${PEER_IPV4}:${PEER_PORT}`;
const VIA_SERVER = `${PEER_SERVER_IPV4}:${TEREDO_PORT}`;
const FALLBACK_MS = TEREDO_CONSTANTS.directBubbleFallbackMs;

/** A client whose NAT type probe found endpoint-independent mapping: the rule applies. */
function coneClient(options: BenchOptions = {}): Bench {
  const b = bench(options);
  b.core.setClientIdentity({ address: CLIENT_ADDRESS, serverIPv4: SERVER_IPV4, mtu: 1280 });
  b.core.setNatType('cone');
  return b;
}

function targets(sent: readonly Sent[]): string[] {
  return sent.map((item) => `${udp(item).ipv4}:${udp(item).port}`);
}

/** The peer's indirect bubble (from its interface ID, as ours and Miredo's are), relayed by our server. */
function peerIndirectBubble(b: Bench, originPort = PEER_PORT): Sent[] {
  const source = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9]);
  return b.udp(withOrigin(bubble(source, CLIENT_ADDRESS), originPort, PEER_IPV4), SERVER_IPV4, TEREDO_PORT);
}

test('first contact: only indirect bubbles; the direct one goes when the peer indirect bubble arrives', () => {
  const b = coneClient();
  assert.deepEqual(targets(b.tun(TO_PEER)), [VIA_SERVER, VIA_SERVER]);
  assert.equal(b.counter('direct-bubble-withheld'), 1);
  b.advance(FALLBACK_MS / 2);
  const sent = peerIndirectBubble(b);
  // The reply bubble to its origin, then the held-back direct bubble and an indirect one again.
  assert.deepEqual(targets(sent), [DIRECT, DIRECT, VIA_SERVER]);
  const ours = bubble(ourBubbleSource(b.security, PEER_IPV4, PEER_PORT), PEER_ADDRESS);
  assert.deepEqual(udp(sent[1]).bytes, ours);
  assert.equal(b.counter('withheld-released-by-peer'), 1);
  assert.equal(b.counter('bubble-back-sent'), 0, 'no bubble back: the released one does its work');
  b.advance(FALLBACK_MS);
  assert.deepEqual(b.due(), [], 'released once');
});

test('a peer that sends no indirect bubble (Miredo): direct and indirect bubbles go after the fallback delay', () => {
  const b = coneClient();
  b.tun(TO_PEER);
  b.advance(FALLBACK_MS - 1);
  assert.deepEqual(b.due(), []);
  assert.equal(b.core.sendDue(b.nowMs, b.out), 1, 'one millisecond to go');
  b.advance(1);
  assert.deepEqual(targets(b.due()), [DIRECT, VIA_SERVER]);
  assert.equal(b.counter('withheld-released-on-timeout'), 1);
  assert.equal(b.core.sendDue(b.nowMs, b.out), -1, 'nothing left');
  // Its answer to the second indirect bubble passes our NAT now: the peer is trusted, the packet goes.
  const answer = bubble(PEER_ADDRESS, ourBubbleSource(b.security, PEER_IPV4, PEER_PORT));
  assert.deepEqual(b.udp(answer, PEER_IPV4, PEER_PORT), [
    { kind: 'udp', bytes: TO_PEER, ipv4: PEER_IPV4, port: PEER_PORT },
  ]);
});

test('a peer that answered before the delay: the held-back bubble is dropped, not sent', () => {
  const b = coneClient();
  b.tun(TO_PEER);
  const answer = bubble(PEER_ADDRESS, ourBubbleSource(b.security, PEER_IPV4, PEER_PORT));
  assert.equal(b.udp(answer, PEER_IPV4, PEER_PORT).length, 1, 'its queued packet');
  b.advance(FALLBACK_MS);
  assert.deepEqual(b.due(), []);
  assert.equal(b.counter('withheld-dropped'), 1);
});

test('a spoofed indirect bubble releases no more than the delay would have: once, nothing at the deadline', () => {
  const b = coneClient();
  b.tun(TO_PEER);
  let released = 0;
  for (let i = 0; i < 50; i++) {
    released += targets(peerIndirectBubble(b)).filter((target) => target === DIRECT).length - 1;
  }
  assert.equal(released, 1, 'one held-back direct bubble, whatever the number of spoofed bubbles');
  b.advance(FALLBACK_MS);
  assert.deepEqual(b.due(), []);
  assert.equal(b.counter('withheld-released-by-peer'), 1);
});

test('an indirect bubble from another mapping of the same host does not release it', () => {
  const b = coneClient();
  b.tun(TO_PEER);
  assert.deepEqual(targets(peerIndirectBubble(b, PEER_PORT + 1)), [`${PEER_IPV4}:${PEER_PORT + 1}`]);
  assert.equal(b.counter('withheld-released-by-peer'), 0);
});

test('the next round of bubbles carries its direct bubble and ends the hold', () => {
  const b = coneClient({
    constants: { ...TEREDO_CONSTANTS, directBubbleFallbackMs: 10_000 },
  });
  b.tun(TO_PEER);
  b.advance(3000);
  assert.deepEqual(targets(b.tun(TO_PEER)), [DIRECT, VIA_SERVER, VIA_SERVER]);
  b.advance(10_000);
  assert.deepEqual(b.due(), []);
});

test('a client whose NAT lets a stranger take its port, or may, or whose probe could not tell, sends its direct bubble first (RFC 4380)', () => {
  const unknown = bench();
  assert.deepEqual(targets(unknown.tun(TO_PEER)), [DIRECT, VIA_SERVER, VIA_SERVER]);
  for (const natType of ['symmetric', 'symmetric-port-preserving', 'port-preserving'] as const) {
    // 'port-preserving': our port kept for both server addresses, the stranger test silent.
    const b = coneClient();
    b.core.setNatType(natType);
    assert.deepEqual(targets(b.tun(TO_PEER)), [DIRECT, VIA_SERVER, VIA_SERVER], natType);
    assert.equal(b.counter('direct-bubble-withheld'), 0, natType);
  }
  assert.equal(unknown.counter('direct-bubble-withheld'), 0);
  unknown.advance(FALLBACK_MS);
  assert.deepEqual(unknown.due(), []);
});

test('behind a NAT that kept our port through the stranger test, the direct bubble is held back too', () => {
  const b = coneClient();
  b.core.setNatType('cone-port-preserving');
  assert.deepEqual(targets(b.tun(TO_PEER)), [VIA_SERVER, VIA_SERVER]);
  assert.equal(b.counter('direct-bubble-withheld'), 1);
});

test(`at most ${WITHHELD_BUBBLE_SLOTS} held at once: the next new peer gets its direct bubble at once`, () => {
  const b = coneClient({ capacity: 256 });
  const peer = (index: number): Uint8Array =>
    encodeTeredoAddress({
      prefix: PREFIX,
      server: PEER_SERVER_IPV4,
      flags: 0,
      port: 1024 + index,
      client: PEER_IPV4,
    });
  for (let index = 0; index < WITHHELD_BUBBLE_SLOTS; index++) {
    assert.equal(b.tun(ipv6Packet(CLIENT_ADDRESS, peer(index))).length, 2);
  }
  assert.equal(b.tun(ipv6Packet(CLIENT_ADDRESS, peer(WITHHELD_BUBBLE_SLOTS))).length, 3);
  assert.equal(b.counter('withheld-list-full'), 1);
  b.advance(FALLBACK_MS);
  assert.equal(b.due().length, 2 * WITHHELD_BUBBLE_SLOTS);
  assert.equal(b.tun(ipv6Packet(CLIENT_ADDRESS, peer(WITHHELD_BUBBLE_SLOTS + 1))).length, 2, 'room again');
});

test('a new identity forgets what was held', () => {
  const b = coneClient();
  b.tun(TO_PEER);
  b.core.setClientIdentity(null);
  b.advance(FALLBACK_MS);
  assert.deepEqual(b.due(), []);
  assert.equal(b.core.sendDue(b.nowMs, b.out), -1);
});
