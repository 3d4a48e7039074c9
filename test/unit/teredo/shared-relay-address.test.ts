/**
 * SharedRelayAddress (src/teredo/shared-relay-address.ts): a relay whose IPv4 address and port
 * the rest of its fleet shares sends a silent client's queue after a short delay, since the
 * client's answer to its bubbles may have gone to another relay; nothing changes without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { PEER_QUEUED, PEER_SOLICITED, PEER_TRUSTED, PEER_UNPROVEN } from '../../../src/teredo/peers.js';
import {
  bench,
  bubble,
  ipv6Packet,
  ourBubbleSource,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PEER_SERVER_IPV4,
  RELAY_SIDE_HOST,
  TEREDO_PORT,
  udp,
} from './relay-harness.js';
import type { Bench, Sent } from './relay-harness.js';

const DELAY_MS = TEREDO_CONSTANTS.sharedAddressReleaseMs;
const TO_CLIENT = ipv6Packet(RELAY_SIDE_HOST, PEER_ADDRESS);
const TO_CLIENT_AGAIN = ipv6Packet(RELAY_SIDE_HOST, PEER_ADDRESS, Uint8Array.from([9, 9, 9, 9]));
const DIRECT = `${PEER_IPV4}:${PEER_PORT}`;
const VIA_SERVER = `${PEER_SERVER_IPV4}:${TEREDO_PORT}`;

function targets(sent: readonly Sent[]): string[] {
  return sent.map((item) => `${udp(item).ipv4}:${udp(item).port}`);
}

function sharedRelay(): Bench {
  return bench({ role: 'relay', cone: true, sharedAddress: true });
}

test('the rule is 200 ms: about one trip through the client server, well before a first retransmission', () => {
  assert.equal(DELAY_MS, 200);
});

test('without SharedRelayAddress a relay waits for the answer as before: nothing is due, the queue stays', () => {
  const b = bench({ role: 'relay', cone: true });
  assert.deepEqual(targets(b.tun(TO_CLIENT)), [VIA_SERVER]);
  assert.equal(b.core.sendDue(b.nowMs, b.out), -1);
  b.advance(5 * DELAY_MS);
  assert.deepEqual(b.due(), []);
  assert.equal(b.core.stats().queuedPackets, 1);
  assert.equal(b.counter('shared-answer-awaited'), 0);
});

test('a client silent after the bubble gets its queue at the delay, and then packets at once', () => {
  const b = sharedRelay();
  assert.deepEqual(targets(b.tun(TO_CLIENT)), [VIA_SERVER], 'a cone relay bubbles through the server only');
  assert.deepEqual(targets(b.tun(TO_CLIENT_AGAIN)), [], 'queued behind the bubble');
  assert.equal(b.core.sendDue(b.nowMs, b.out), DELAY_MS);
  b.advance(DELAY_MS - 1);
  assert.deepEqual(b.due(), []);
  assert.equal(b.core.stats().queuedPackets, 2);
  b.advance(1);
  const released = b.due();
  assert.deepEqual(targets(released), [DIRECT, DIRECT]);
  assert.deepEqual(
    released.map((item) => udp(item).bytes),
    [TO_CLIENT, TO_CLIENT_AGAIN],
    'in arrival order',
  );
  const slot = b.slotOf(PEER_ADDRESS);
  assert.equal(
    b.table.flags(slot) & (PEER_TRUSTED | PEER_UNPROVEN | PEER_QUEUED),
    PEER_TRUSTED | PEER_UNPROVEN,
    'trusted, never proven: it may be evicted for room',
  );
  assert.equal(b.counter('shared-released-unanswered'), 1);
  assert.equal(b.core.sendDue(b.nowMs, b.out), -1, 'nothing left');
  assert.deepEqual(targets(b.tun(TO_CLIENT)), [DIRECT], 'sent straight to the mapping');
  assert.equal(b.counter('bubble-sent'), 1);
});

test('a client that answers here first is served at once; the delay then sends nothing', () => {
  const b = sharedRelay();
  b.tun(TO_CLIENT);
  b.advance(DELAY_MS / 2);
  const answer = bubble(PEER_ADDRESS, ourBubbleSource(b.security, PEER_IPV4, PEER_PORT));
  assert.deepEqual(targets(b.udp(answer, PEER_IPV4, PEER_PORT)), [DIRECT], 'the queue goes with the answer');
  const slot = b.slotOf(PEER_ADDRESS);
  assert.equal(b.table.flags(slot) & (PEER_TRUSTED | PEER_UNPROVEN), PEER_TRUSTED, 'proven by our bubble');
  b.advance(DELAY_MS);
  assert.deepEqual(b.due(), []);
  assert.equal(b.counter('shared-answered-here'), 1);
  assert.equal(b.counter('shared-released-unanswered'), 0);
});

test('the entry expires as usual: 31 s without hearing the client, the next packet bubbles again', () => {
  const b = sharedRelay();
  b.tun(TO_CLIENT);
  b.advance(DELAY_MS);
  b.due();
  b.advance(31_000);
  assert.deepEqual(targets(b.tun(TO_CLIENT)), [VIA_SERVER]);
  const slot = b.slotOf(PEER_ADDRESS);
  assert.ok((b.table.flags(slot) & PEER_SOLICITED) !== 0);
  b.advance(DELAY_MS);
  assert.deepEqual(targets(b.due()), [DIRECT]);
  assert.equal(b.counter('shared-released-unanswered'), 2);
});

test('a client dropped from the table before the delay (expiry, eviction) releases nothing', () => {
  const b = sharedRelay();
  b.tun(TO_CLIENT);
  b.table.remove(b.slotOf(PEER_ADDRESS));
  b.advance(DELAY_MS);
  assert.deepEqual(b.due(), []);
  assert.equal(b.counter('shared-released-unanswered'), 0);
});

test('a client the fleet sent to first: its packets are taken when they come from its embedded mapping', () => {
  const fromClient = ipv6Packet(PEER_ADDRESS, RELAY_SIDE_HOST);
  const plain = bench({ role: 'relay', cone: true });
  assert.deepEqual(plain.udp(fromClient, PEER_IPV4, PEER_PORT), []);
  assert.equal(plain.counter('drop-rx-unknown-peer'), 1, 'a lone relay talks only to clients it sent to');
  const b = sharedRelay();
  assert.deepEqual(b.udp(fromClient, PEER_IPV4, PEER_PORT), [{ kind: 'tun', bytes: fromClient }]);
  assert.equal(b.counter('shared-unknown-client-accepted'), 1);
  const slot = b.slotOf(PEER_ADDRESS);
  assert.equal(b.table.flags(slot) & (PEER_TRUSTED | PEER_UNPROVEN), PEER_TRUSTED | PEER_UNPROVEN);
  assert.deepEqual(targets(b.tun(TO_CLIENT)), [DIRECT], 'and answered at once');
  assert.deepEqual(b.udp(fromClient, PEER_IPV4 + 1, PEER_PORT), [], 'not from another mapping');
  assert.equal(b.counter('shared-unknown-client-accepted'), 1);
});
