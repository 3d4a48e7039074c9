/**
 * The data-plane workers' slow-path budget (src/dataplane/slow-path-budget.ts), on a fake clock:
 * a full bucket at first, continuous refill at the rate, never more than the burst however long
 * the quiet spell, and at most burst + rate × time granted over any stretch of time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createSlowPathBudget,
  createSlowPathBudgets,
  SERVER_BUDGET,
  SOLICITED_BUDGET,
  TUN_BUDGET,
  UDP_BUDGET,
} from '../../../src/dataplane/slow-path-budget.js';
import type { SlowPathBudget } from '../../../src/dataplane/slow-path-budget.js';

/** How many of `tries` takes at `nowMs` succeed. */
function granted(budget: SlowPathBudget, nowMs: number, tries: number): number {
  let count = 0;
  for (let i = 0; i < tries; i++) if (budget.take(nowMs)) count++;
  return count;
}

test('the defaults: datagrams from anyone 7,000 a second, bursts of 1,400', () => {
  assert.deepEqual(UDP_BUDGET, { perSecond: 7_000, burst: 1_400 });
  const budget = createSlowPathBudget();
  assert.equal(granted(budget, 5_000, 3_000), 1_400, 'a full bucket to begin with');
  assert.equal(granted(budget, 5_100, 3_000), 700, '100 ms later: 700 more');
});

test("a worker's four budgets add up to 11,000 messages a second, each on its own", () => {
  const sizes = [UDP_BUDGET, SOLICITED_BUDGET, TUN_BUDGET, SERVER_BUDGET];
  assert.equal(
    sizes.reduce((sum, size) => sum + size.perSecond, 0),
    11_000,
    'what one worker costs the engine at most (see slow-path-budget.ts)',
  );
  const budgets = createSlowPathBudgets();
  assert.equal(granted(budgets.udp, 5_000, 3_000), UDP_BUDGET.burst);
  assert.equal(
    granted(budgets.solicited, 5_000, 3_000),
    SOLICITED_BUDGET.burst,
    'spending one spends no other',
  );
  assert.equal(granted(budgets.tun, 5_000, 3_000), TUN_BUDGET.burst);
  assert.equal(granted(budgets.server, 5_000, 3_000), SERVER_BUDGET.burst);
});

test('burst: a full bucket at first, whatever the clock reads, then nothing at the same instant', () => {
  for (const start of [0, 123.456, 1e12]) {
    const budget = createSlowPathBudget(1000, 5);
    assert.equal(granted(budget, start, 10), 5, `first reading ${start}`);
    assert.equal(budget.take(start), false);
  }
});

test('refill: continuous at the rate, fractions carried over', () => {
  const budget = createSlowPathBudget(1000, 5); // one token a millisecond
  granted(budget, 100, 5);
  assert.equal(budget.take(100.5), false, 'half a token is not one');
  assert.equal(budget.take(101), true, 'the two halves make one');
  assert.equal(budget.take(101), false);
  assert.equal(granted(budget, 104, 10), 3);
  const slow = createSlowPathBudget(2, 1); // one token every 500 ms
  assert.equal(slow.take(0), true);
  assert.equal(slow.take(499), false);
  assert.equal(slow.take(500), true);
});

test('no refill beyond the burst, however long the quiet spell', () => {
  const budget = createSlowPathBudget(1000, 5);
  granted(budget, 0, 5);
  assert.equal(granted(budget, 3, 10), 3, 'partly refilled');
  assert.equal(granted(budget, 3 + 60 * 60 * 1000, 10), 5, 'an hour idle: the burst, not 3.6 million');
  assert.equal(granted(budget, 3 + 60 * 60 * 1000 + 2, 10), 2, 'then the rate again');
  assert.ok(budget.tokens >= 0 && budget.tokens < 1);
});

test('a clock that goes back refills nothing and does not count the same time twice', () => {
  const budget = createSlowPathBudget(1000, 5);
  granted(budget, 1000, 5);
  assert.equal(granted(budget, 990, 5), 0, 'earlier reading');
  assert.equal(granted(budget, 1002, 5), 2, 'only the 2 ms after the latest reading');
  assert.equal(budget.take(Number.NaN), false, 'NaN refills nothing');
});

test('rates and bursts that cannot work are programming errors', () => {
  for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => createSlowPathBudget(rate, 5), RangeError, `rate ${rate}`);
  }
  for (const burst of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => createSlowPathBudget(1000, burst), RangeError, `burst ${burst}`);
  }
});

test('over any stretch of time at most burst + rate × time are granted; spaced-out takes always are', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50_000 }),
      fc.integer({ min: 1, max: 100 }),
      fc.array(fc.record({ gap: fc.double({ min: 0, max: 50, noNaN: true }), tries: fc.nat(10) }), {
        maxLength: 60,
      }),
      (perSecond, burst, steps) => {
        const budget = createSlowPathBudget(perSecond, burst);
        let now = 1000;
        const grants: number[] = [];
        for (const { gap, tries } of steps) {
          now += gap;
          for (let i = 0; i < tries; i++) if (budget.take(now)) grants.push(now);
        }
        // The window from grants[i] to grants[j] holds j - i + 1 grants.
        for (let i = 0; i < grants.length; i++) {
          for (let j = i; j < grants.length; j++) {
            const allowed = burst + ((grants[j]! - grants[i]!) * perSecond) / 1000 + 1e-6;
            if (j - i + 1 > allowed) assert.fail(`${j - i + 1} grants in ${grants[j]! - grants[i]!} ms`);
          }
        }
        // A take every 1/rate seconds (a hair more: floating point) never finds the bucket empty.
        const spaced = createSlowPathBudget(perSecond, burst);
        const interval = (1000 / perSecond) * 1.000001;
        for (let k = 0; k < 3 * burst + 10; k++) assert.ok(spaced.take(k * interval), `spaced take ${k}`);
      },
    ),
    { numRuns: 200 },
  );
});
