/**
 * The control socket's schemas (src/ipc/control-protocol.ts): requests are tiny and strict, the
 * peer filter matches exactly the addresses inside its prefix, and replies are bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_PEER_LIMIT,
  controlSocketPath,
  matchesPeerFilter,
  parseControlReply,
  parseControlRequest,
  parsePeerFilter,
} from '../../../src/ipc/control-protocol.js';

test('the control socket sits next to the PID file', () => {
  assert.equal(controlSocketPath('/run/miredo.pid'), '/run/miredo.ctl');
  assert.equal(controlSocketPath('/var/run/miredo-server.pid'), '/var/run/miredo-server.ctl');
  assert.equal(controlSocketPath('/tmp/daemon'), '/tmp/daemon.ctl');
});

test('requests: a command, an optional filter and limit, nothing else', () => {
  assert.ok(parseControlRequest({ command: 'status' }).ok);
  assert.ok(
    parseControlRequest({ command: 'peers', filter: '2001:0:c633:6401::/64', limit: MAX_PEER_LIMIT }).ok,
  );
  for (const bad of [
    {},
    { command: 'reload' },
    { command: 'status', extra: 1 },
    { command: 'peers', limit: 0 },
    { command: 'peers', limit: MAX_PEER_LIMIT + 1 },
    { command: 'peers', limit: 1.5 },
    { command: 'peers', filter: 'not an address' },
    { command: 'peers', filter: '2001::/129' },
    { command: 'peers', filter: 'a'.repeat(65) },
    null,
    'status',
    [],
  ]) {
    assert.equal(parseControlRequest(bad).ok, false, JSON.stringify(bad));
  }
});

test('replies: a peers reply holds at most the limit; unknown kinds and fields are refused', () => {
  const row = {
    address: '2001:0:c633:6401::1',
    mapping: null,
    trusted: false,
    proven: false,
    solicited: false,
    queued: false,
    lastInSecondsAgo: null,
    lastOutSecondsAgo: 3,
  };
  const peers = (count: number): unknown => ({
    kind: 'peers',
    peers: { total: count, matched: count, peers: Array.from({ length: count }, () => row) },
  });
  assert.ok(parseControlReply(peers(MAX_PEER_LIMIT)).ok);
  assert.equal(parseControlReply(peers(MAX_PEER_LIMIT + 1)).ok, false);
  assert.equal(parseControlReply({ kind: 'shell', command: 'rm' }).ok, false);
  assert.equal(parseControlReply({ kind: 'counters', counters: { a: -1 } }).ok, false);
  assert.equal(parseControlReply({ kind: 'metrics', text: 'x'.repeat(200_000) }).ok, false);
  assert.ok(parseControlReply({ kind: 'error', error: 'bad-request', message: 'no' }).ok);
  // A compromised engine cannot put a terminal escape on the administrator's screen.
  assert.equal(
    parseControlReply({ kind: 'error', error: 'busy', message: '\u001b]0;owned\u0007' }).ok,
    false,
  );
  assert.equal(parseControlReply({ kind: 'counters', counters: { '\u001b[2J': 1 } }).ok, false);
  assert.equal(parseControlReply({ kind: 'metrics', text: 'a 1\n\u001b[31m' }).ok, false);
});

function bit(bytes: Uint8Array, index: number): number {
  return ((bytes[index >>> 3] ?? 0) >>> (7 - (index & 7))) & 1;
}

test('the peer filter matches an address exactly when its first LENGTH bits are the prefix', () => {
  const bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });
  fc.assert(
    fc.property(bytes, bytes, fc.integer({ min: 0, max: 128 }), fc.nat(127), (prefix, key, length, copy) => {
      // Half the time, make the key share a prefix with the filter so that matches are common.
      if (copy % 2 === 0) key.set(prefix.subarray(0, Math.floor(copy / 8)));
      const filter = { prefix, length };
      let expected = true;
      for (let i = 0; i < length; i += 1) if (bit(prefix, i) !== bit(key, i)) expected = false;
      assert.equal(matchesPeerFilter(filter, key), expected);
    }),
  );
});

test('filters: an address is a /128, ADDRESS/LENGTH a prefix; anything else is refused', () => {
  assert.equal(parsePeerFilter('2001:0:c633:6401::1')?.length, 128);
  assert.equal(parsePeerFilter('2001::/32')?.length, 32);
  for (const bad of ['', '2001::/', '2001::/-1', '2001::/033x', '192.0.2.1', '2001::/1000', '/32']) {
    assert.equal(parsePeerFilter(bad), null, bad);
  }
});
