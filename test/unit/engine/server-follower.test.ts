import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServerFollower, RESOLVE_BACKOFF } from '../../../src/engine/server-follower.js';
import type { EngineToBootstrap, ResolvedResult } from '../../../src/ipc/bootstrap-engine-messages.js';
import { formatIPv4, parseIPv4 } from '../../../src/teredo/ipv4.js';
import { captureLog } from '../../support/fakes.js';
import { FakeTime } from '../../support/tunnel-harness.js';

function bench(initial: string | null) {
  const time = new FakeTime();
  const sent: EngineToBootstrap[] = [];
  const used: string[] = [];
  const follower = createServerFollower({
    name: 'teredo.example',
    initial: initial === null ? null : parseIPv4(initial),
    send: (message) => sent.push(message),
    timers: time,
    log: captureLog().log,
    use: (ipv4) => used.push(formatIPv4(ipv4)),
  });
  /** Answers the pending request; asserts there is exactly one. */
  const answer = (result: ResolvedResult): void => {
    const request = sent.pop();
    assert.ok(request !== undefined && request.type === 'resolve', 'a resolve request is pending');
    assert.equal(request.name, 'teredo.example');
    assert.equal(sent.length, 0);
    assert.ok(follower.resolved({ type: 'resolved', id: request.id, result }));
  };
  return { time, sent, used, follower, answer };
}

test('at start: the address resolved at load at once, and the name asked for all of them', () => {
  const { sent, used, follower, answer } = bench('192.0.2.1');
  follower.start();
  assert.deepEqual(used, ['192.0.2.1']);
  assert.equal(sent.length, 1);
  answer({ ok: true, addresses: ['192.0.2.2', '192.0.2.1'], ttlSeconds: 60 });
  assert.deepEqual(used, ['192.0.2.1'], 'the server in use is still among them: kept');
});

test('an unresolvable name: retried with back-off, never given up; the first answer is used', () => {
  const { time, sent, used, follower, answer } = bench(null);
  follower.start();
  assert.deepEqual(used, []);
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    answer({ ok: false, reason: 'host not found' });
    const before = time.nowMs;
    while (sent.length === 0) time.advance(100);
    waits.push(time.nowMs - before);
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(RESOLVE_BACKOFF.maxMs, 30000);
  answer({ ok: true, addresses: ['192.0.2.5'], ttlSeconds: 300 });
  assert.deepEqual(used, ['192.0.2.5']);
});

test('the TTL running out asks again; a name that moved is followed', () => {
  const { time, sent, used, follower, answer } = bench('192.0.2.1');
  follower.start();
  answer({ ok: true, addresses: ['192.0.2.1'], ttlSeconds: 30 });
  time.advance(29_999);
  assert.equal(sent.length, 0);
  time.advance(1);
  answer({ ok: true, addresses: ['198.51.100.1'], ttlSeconds: 30 });
  assert.deepEqual(used, ['192.0.2.1', '198.51.100.1']);
});

test('a failed round moves to the next address in turn, and asks the name again', () => {
  const { used, follower, answer, sent } = bench('192.0.2.1');
  follower.start();
  answer({ ok: true, addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3'], ttlSeconds: 300 });
  follower.roundFailed();
  assert.equal(sent.length, 1);
  answer({ ok: true, addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3'], ttlSeconds: 300 });
  follower.roundFailed();
  answer({ ok: true, addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3'], ttlSeconds: 300 });
  follower.roundFailed();
  assert.deepEqual(used, ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.1']);
});

test('a stale or unknown answer is not taken; stop ends every timer', () => {
  const { time, follower, sent } = bench(null);
  follower.start();
  assert.equal(follower.resolved({ type: 'resolved', id: 999, result: { ok: false, reason: 'x' } }), false);
  follower.stop();
  assert.equal(time.pending(), 0);
  assert.equal(sent.length, 1);
});
