import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineConstants, TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';

test('standard constants are Miredo 1.2.6 values (reference 4.1)', () => {
  const c = TEREDO_CONSTANTS;
  assert.equal(c.port, 3544);
  assert.equal(c.prefix, 0x20010000);
  assert.equal(c.obsoletePrefix, 0x3ffe831f);
  assert.equal(c.coneFlag, 0x8000);
  assert.equal(c.randomFlagsMask, 0x3cff);
  assert.equal(c.universalLocalFlag, 0x0200);
  assert.equal(c.groupFlag, 0x0100);
  assert.equal(c.qualificationTimeoutMs, 4000);
  assert.equal(c.qualificationRetries, 3);
  assert.equal(c.refreshIntervalMs, 30_000);
  assert.equal(c.restartDelayMs, 100_000);
  assert.equal(c.peerValidityMs, 30_000);
  assert.equal(c.peerQueueBytes, 1280);
  assert.equal(c.bubbleMinIntervalMs, 2000);
  assert.equal(c.bubbleBurst, 4);
  assert.equal(c.bubbleBackoffMs, 300_000);
  assert.equal(c.pingMinIntervalMs, 2000);
  assert.equal(c.maxPingsPerPeer, 4);
  assert.equal(c.pingHashLifetimeMs, 30_000);
  assert.equal(c.icmpErrorsPerSecond * c.icmpErrorIntervalMs, 1000);
  assert.equal(c.pingHopLimit, 128);
  assert.equal(c.bubbleHopLimit, 0);
  assert.equal(c.routerDiscoveryHopLimit, 255);
  assert.equal(c.serverIcmpv6PayloadCap, 88);
  assert.equal(c.raRetransTimerMs, 2000);
  assert.equal(c.maxUdpPayload, 65507);
  assert.equal(c.minMtu, 1280);
  assert.equal(c.defaultMtu, 1280);
});

test('the ICMPv6 quote limit keeps an error within the minimum MTU', () => {
  assert.equal(TEREDO_CONSTANTS.icmpErrorQuoteLimit + 40 + 8, TEREDO_CONSTANTS.minMtu);
});

test('RFC 5991 flag bits do not overlap the random mask', () => {
  const c = TEREDO_CONSTANTS;
  for (const bit of [c.coneFlag, c.legacyDraftFlag, c.universalLocalFlag, c.groupFlag]) {
    assert.equal(bit & c.randomFlagsMask, 0);
  }
  assert.equal(
    c.coneFlag | c.legacyDraftFlag | c.universalLocalFlag | c.groupFlag | c.randomFlagsMask,
    0xffff,
  );
});

test("our client refresh stays below Linux's 30 s UDP conntrack timeout and above the reply timeout", () => {
  const c = TEREDO_CONSTANTS;
  assert.equal(c.clientRefreshIntervalMs, 20_000);
  assert.ok(c.clientRefreshIntervalMs < 30_000);
  assert.ok(c.clientRefreshIntervalMs > c.qualificationTimeoutMs);
});

test('the standard constants are frozen', () => {
  assert.ok(Object.isFrozen(TEREDO_CONSTANTS));
  assert.throws(() => {
    (TEREDO_CONSTANTS as { port: number }).port = 1;
  }, TypeError);
  assert.equal(TEREDO_CONSTANTS.port, 3544);
});

test('defineConstants returns a new frozen object with the overrides only', () => {
  const fast = defineConstants({ qualificationTimeoutMs: 40, refreshIntervalMs: 300 });
  assert.ok(Object.isFrozen(fast));
  assert.equal(fast.qualificationTimeoutMs, 40);
  assert.equal(fast.refreshIntervalMs, 300);
  assert.equal(fast.restartDelayMs, TEREDO_CONSTANTS.restartDelayMs);
  assert.equal(TEREDO_CONSTANTS.qualificationTimeoutMs, 4000);
  assert.notEqual(fast, TEREDO_CONSTANTS);
});

test('defineConstants rejects unknown names and impossible values', () => {
  assert.throws(() => defineConstants({ nope: 1 } as never), RangeError);
  assert.throws(() => defineConstants({ refreshIntervalMs: -1 }), RangeError);
  assert.throws(() => defineConstants({ refreshIntervalMs: 1.5 }), RangeError);
  assert.throws(() => defineConstants({ refreshIntervalMs: Number.NaN }), RangeError);
  assert.throws(() => defineConstants({ refreshIntervalMs: '30' as unknown as number }), RangeError);
});
