/** The tunnel core's small parts: bubble and ping pacing, per-peer queues, the ICMPv6 budget, counters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineConstants, TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { createIcmpRateLimiter } from '../../../src/teredo/icmp-rate-limiter.js';
import { createPeerQueues, peerKey } from '../../../src/teredo/peer-queue.js';
import { paceBubble, pacePing } from '../../../src/teredo/relay-pacing.js';
import { TUNNEL_COUNTER, TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import { address } from './relay-harness.js';

test('bubble pacing: first at once, then more than 2 s apart, 4 in a row, then 300 s of refusal', () => {
  const c = TEREDO_CONSTANTS;
  assert.deepEqual(paceBubble(0, 0, 100, c), { verdict: 'send', count: 1, lastSeconds: 100 });
  assert.deepEqual(paceBubble(1, 100, 102, c), { verdict: 'wait', count: 1, lastSeconds: 100 });
  assert.deepEqual(paceBubble(1, 100, 103, c), { verdict: 'send', count: 2, lastSeconds: 103 });
  assert.deepEqual(paceBubble(4, 100, 102, c), { verdict: 'wait', count: 4, lastSeconds: 100 });
  assert.deepEqual(paceBubble(4, 100, 103, c), { verdict: 'limit', count: 4, lastSeconds: 100 });
  assert.deepEqual(paceBubble(4, 100, 400, c), { verdict: 'limit', count: 4, lastSeconds: 100 });
  assert.deepEqual(paceBubble(4, 100, 401, c), { verdict: 'send', count: 1, lastSeconds: 401 });
  // A stamp ahead of our clock (another thread's tick) reads as "just now".
  assert.deepEqual(paceBubble(1, 101, 100, c), { verdict: 'wait', count: 1, lastSeconds: 101 });
});

test('ping pacing: first at once, then more than 2 s apart, 4 in a round, a new round 10 s after a lost one', () => {
  const c = TEREDO_CONSTANTS;
  assert.deepEqual(pacePing(0, 0, 100, c), { verdict: 'send', count: 1, lastSeconds: 100 });
  assert.deepEqual(pacePing(1, 100, 102, c), { verdict: 'wait', count: 1, lastSeconds: 100 });
  assert.deepEqual(pacePing(3, 100, 103, c), { verdict: 'send', count: 4, lastSeconds: 103 });
  assert.deepEqual(pacePing(4, 103, 104, c), { verdict: 'limit', count: 4, lastSeconds: 103 });
  assert.deepEqual(pacePing(4, 103, 113, c), { verdict: 'limit', count: 4, lastSeconds: 103 });
  assert.deepEqual(pacePing(4, 103, 114, c), { verdict: 'send', count: 1, lastSeconds: 114 });
});

test('pacing follows the constants', () => {
  const c = defineConstants({
    bubbleMinIntervalMs: 5_000,
    bubbleBurst: 2,
    bubbleBackoffMs: 10_000,
    maxPingsPerPeer: 1,
    pingRetryMs: 20_000,
  });
  assert.equal(paceBubble(1, 0, 5, c).verdict, 'wait');
  assert.equal(paceBubble(1, 0, 6, c).verdict, 'send');
  assert.equal(paceBubble(2, 0, 6, c).verdict, 'limit');
  assert.equal(paceBubble(2, 0, 11, c).verdict, 'send');
  assert.equal(pacePing(1, 0, 20, c).verdict, 'limit');
  assert.equal(pacePing(1, 0, 21, c).verdict, 'send');
});

test('peer queues: arrival order, copies, per-peer byte budget, totals', () => {
  const queues = createPeerQueues(100);
  const a = peerKey(address('2001:db8::1'), 0);
  const b = peerKey(address('2001:db8::2'), 0);
  assert.notEqual(a, b);
  const buffer = Uint8Array.from({ length: 100 }, (_, i) => i);
  assert.equal(queues.enqueue(a, 'out', buffer, 0, 40, 0, 0), 'queued');
  assert.equal(queues.enqueue(a, 'in', buffer, 10, 50, 0xcb000001, 7), 'queued');
  assert.equal(queues.enqueue(a, 'out', buffer, 0, 11, 0, 0), 'peer-full', '101 bytes would not fit');
  assert.equal(queues.enqueue(a, 'out', buffer, 0, 10, 0, 0), 'queued', '100 bytes do');
  assert.equal(queues.enqueue(b, 'out', buffer, 0, 100, 0, 0), 'queued', 'budgets are per peer');
  assert.equal(queues.enqueue(b, 'out', buffer, 95, 10, 0, 0), 'bad-region', 'a region past the buffer');
  assert.deepEqual([queues.packets, queues.bytes], [4, 200]);
  buffer.fill(0);

  const taken = queues.take(a);
  assert.deepEqual(
    taken.map((item) => [item.direction, item.bytes.length, item.bytes[0], item.ipv4, item.port]),
    [
      ['out', 40, 0, 0, 0],
      ['in', 50, 10, 0xcb000001, 7],
      ['out', 10, 0, 0, 0],
    ],
  );
  assert.equal(taken[1]!.bytes[49], 59, 'copied when queued');
  assert.equal(queues.has(a), false);
  assert.deepEqual(queues.take(a), []);
  assert.deepEqual(queues.keys(), [b]);
  assert.equal(queues.discard(b), 1);
  assert.deepEqual([queues.packets, queues.bytes], [0, 0]);
  queues.enqueue(a, 'out', buffer, 0, 1, 0, 0);
  queues.enqueue(b, 'out', buffer, 0, 1, 0, 0);
  assert.equal(queues.clear(), 2);
  assert.deepEqual([queues.packets, queues.bytes, queues.keys().length], [0, 0, 0]);
});

test('peer keys tell every 16-byte address apart', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 16; i++) {
    for (const value of [1, 0x80, 0xff]) {
      const bytes = new Uint8Array(16);
      bytes[i] = value;
      seen.add(peerKey(bytes, 0));
    }
  }
  seen.add(peerKey(new Uint8Array(16), 0));
  assert.equal(seen.size, 16 * 3 + 1);
  const inPacket = new Uint8Array(40);
  inPacket.set(address('2001:db8::1'), 24);
  assert.equal(peerKey(inPacket, 24), peerKey(address('2001:db8::1'), 0));
});

test('ICMPv6 budget: N per clock second, refilled when the second changes', () => {
  const limiter = createIcmpRateLimiter(3);
  const allowed = (nowMs: number, tries: number): number => {
    let n = 0;
    for (let i = 0; i < tries; i++) if (limiter.allow(nowMs)) n++;
    return n;
  };
  assert.equal(allowed(5_500, 5), 3);
  assert.equal(allowed(5_999, 5), 0);
  assert.equal(allowed(6_000, 5), 3);
  assert.equal(allowed(4_000, 1), 1, 'any change of second refills');
  assert.equal(createIcmpRateLimiter(0).allow(0), false);
  assert.throws(() => createIcmpRateLimiter(-1), RangeError);
});

test('tunnel counters: the data plane names come first and keep their places; indexes match', () => {
  assert.deepEqual(TUNNEL_COUNTER_NAMES.slice(0, 12), [
    'tun-received',
    'udp-received',
    'encapsulated',
    'decapsulated',
    'slow-path',
    'send-failed',
    'tun-write-failed',
    'drop-slow-path-budget',
    'udp-gso-messages',
    'udp-gso-refused',
    'slow-path-solicited',
    'drop-slow-path-backlog',
  ]);
  assert.equal(new Set(TUNNEL_COUNTER_NAMES).size, TUNNEL_COUNTER_NAMES.length);
  TUNNEL_COUNTER_NAMES.forEach((name, index) => assert.equal(TUNNEL_COUNTER[name], index));
});
