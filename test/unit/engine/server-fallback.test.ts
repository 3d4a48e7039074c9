/**
 * FallbackServerAddress in the server follower (sans-I/O, fake clock): once every address of the
 * server name in use has left a round unanswered, the next name, cyclically; a server that answers
 * is kept; a name that never resolves gives way to the next one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServerFollower } from '../../../src/engine/server-follower.js';
import type { EngineToBootstrap, ResolvedResult } from '../../../src/ipc/bootstrap-engine-messages.js';
import { formatIPv4, parseIPv4 } from '../../../src/teredo/ipv4.js';
import { captureLog } from '../../support/fakes.js';
import { FakeTime } from '../../support/tunnel-harness.js';

const NAMES: Readonly<Record<string, readonly string[]>> = {
  'primary.example': ['192.0.2.1', '192.0.2.2'],
  'second.example': ['198.51.100.5'],
  'third.example': ['203.0.113.7', '203.0.113.8'],
};

function bench(initial: string | null, fallbacks: readonly string[] = ['second.example', 'third.example']) {
  const time = new FakeTime();
  const sent: EngineToBootstrap[] = [];
  const used: string[] = [];
  const follower = createServerFollower({
    name: 'primary.example',
    fallbacks,
    initial: initial === null ? null : parseIPv4(initial),
    send: (message) => sent.push(message),
    timers: time,
    log: captureLog().log,
    use: (ipv4, server) => used.push(`${server.rank}:${server.name}:${formatIPv4(ipv4)}`),
  });
  /** Answers the pending request (exactly one), from NAMES unless told otherwise; returns the name asked. */
  const answer = (override?: ResolvedResult): string => {
    const request = sent.pop();
    assert.ok(request !== undefined && request.type === 'resolve', 'a resolve request is pending');
    assert.equal(sent.length, 0);
    const addresses = NAMES[request.name];
    const result: ResolvedResult =
      override ??
      (addresses === undefined
        ? { ok: false, reason: 'unknown' }
        : { ok: true, addresses: [...addresses], ttlSeconds: 300 });
    assert.ok(follower.resolved({ type: 'resolved', id: request.id, result }));
    return request.name;
  };
  return { time, sent, used, follower, answer };
}

test('every address of the primary once unanswered, then the fallbacks in order, then the primary again', () => {
  const { used, follower, answer } = bench('192.0.2.1');
  follower.start();
  assert.equal(answer(), 'primary.example');
  follower.roundFailed(); // 192.0.2.1 unanswered: its next address
  assert.equal(answer(), 'primary.example');
  follower.roundFailed(); // both addresses tried: the first fallback
  assert.equal(answer(), 'second.example');
  follower.roundFailed(); // its only address: the next fallback
  assert.equal(answer(), 'third.example');
  follower.roundFailed();
  assert.equal(answer(), 'third.example');
  follower.roundFailed(); // cyclically, the primary, from its last known address at once
  assert.equal(answer(), 'primary.example');
  assert.deepEqual(used, [
    '0:primary.example:192.0.2.1',
    '0:primary.example:192.0.2.2',
    '1:second.example:198.51.100.5',
    '2:third.example:203.0.113.7',
    '2:third.example:203.0.113.8',
    '0:primary.example:192.0.2.1',
  ]);
  assert.deepEqual(follower.server, { name: 'primary.example', rank: 0 });
});

test('a server that answers is kept: its unanswered rounds count afresh', () => {
  const { time, used, follower, answer } = bench('192.0.2.1', ['second.example']);
  follower.start();
  answer();
  follower.roundFailed(); // 192.0.2.1 unanswered
  answer();
  follower.answered(); // 192.0.2.2 answers: kept, and the count starts again
  follower.roundFailed(); // later, 192.0.2.2 unanswered: the name's other address first
  answer();
  assert.equal(used.at(-1), '0:primary.example:192.0.2.1');
  follower.roundFailed(); // both unanswered since the last answer: the fallback
  answer();
  assert.equal(used.at(-1), '1:second.example:198.51.100.5');
  follower.answered();
  time.advance(300_000); // its TTL: the fallback's name is asked again, not the primary's
  assert.equal(answer(), 'second.example');
  assert.deepEqual(follower.server, { name: 'second.example', rank: 1 }, 'an answering fallback is kept');
});

test('a primary that never resolves gives way to the fallback at its first retry', () => {
  const { time, sent, used, follower, answer } = bench(null, ['second.example']);
  follower.start();
  assert.equal(answer({ ok: false, reason: 'host not found' }), 'primary.example');
  assert.equal(sent.length, 0);
  time.advance(1000);
  assert.equal(answer(), 'second.example');
  assert.deepEqual(used, ['1:second.example:198.51.100.5']);
  // The fallback's TTL refresh keeps it; the primary is not asked while the fallback answers.
  time.advance(300_000);
  assert.equal(answer(), 'second.example');
  assert.deepEqual(used, ['1:second.example:198.51.100.5']);
});

test('a fallback that does not resolve: the server in use stays until the next name is tried', () => {
  const { time, used, follower, answer } = bench('198.51.100.5', ['nowhere.example', 'third.example']);
  // The primary here resolves to one address only.
  follower.start();
  answer({ ok: true, addresses: ['198.51.100.5'], ttlSeconds: 300 });
  follower.roundFailed();
  assert.equal(answer(), 'nowhere.example');
  assert.equal(used.length, 1, 'nothing to use under the unresolvable name');
  time.advance(1000);
  assert.equal(answer(), 'third.example');
  assert.deepEqual(used, ['0:primary.example:198.51.100.5', '2:third.example:203.0.113.7']);
});

test('an answer for a name no longer chosen is remembered, and the chosen name asked', () => {
  const { time, sent, used, follower, answer } = bench('192.0.2.1', ['second.example']);
  follower.start();
  answer();
  time.advance(300_000); // the primary's TTL ran out: asked again
  const stale = sent.pop();
  assert.ok(stale !== undefined && stale.type === 'resolve' && stale.name === 'primary.example');
  follower.roundFailed();
  follower.roundFailed(); // both primary addresses unanswered: second.example chosen
  assert.equal(sent.length, 0, 'one request at a time');
  assert.ok(
    follower.resolved({
      type: 'resolved',
      id: stale.id,
      result: { ok: true, addresses: ['192.0.2.1', '192.0.2.2'], ttlSeconds: 300 },
    }),
  );
  assert.equal(answer(), 'second.example');
  assert.deepEqual(used.at(-1), '1:second.example:198.51.100.5');
});

test('without fallbacks, the rotation is the name’s addresses only (as before)', () => {
  const { used, follower, answer } = bench('192.0.2.1', []);
  follower.start();
  for (let i = 0; i < 4; i++) {
    answer();
    follower.roundFailed();
  }
  assert.deepEqual(used, [
    '0:primary.example:192.0.2.1',
    '0:primary.example:192.0.2.2',
    '0:primary.example:192.0.2.1',
    '0:primary.example:192.0.2.2',
    '0:primary.example:192.0.2.1',
  ]);
});
