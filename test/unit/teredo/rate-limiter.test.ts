import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSourceRateLimiter } from '../../../src/teredo/rate-limiter.js';
import type { SourceRateLimiter } from '../../../src/teredo/rate-limiter.js';

const A = 0xcb007105; // 203.0.113.5
const SEED = 12345;

/** How many of `count` packets sent at `nowMs` pass. */
function passed(limiter: SourceRateLimiter, ipv4: number, nowMs: number, count: number): number {
  let allowed = 0;
  for (let i = 0; i < count; i++) if (limiter.allow(ipv4, nowMs)) allowed++;
  return allowed;
}

test('a quiet source gets its burst at once, then one packet per interval', () => {
  const limiter = createSourceRateLimiter({ perSecond: 10, burst: 20, seed: SEED });
  assert.equal(passed(limiter, A, 1_000, 50), 20);
  assert.equal(limiter.allow(A, 1_099), false);
  assert.equal(limiter.allow(A, 1_100), true);
  assert.equal(limiter.allow(A, 1_100), false);
  // Sustained: one packet every 10 ms for 10 s lets 10 per second through.
  let allowed = 0;
  for (let t = 1_110; t < 11_110; t += 10) if (limiter.allow(A, t)) allowed++;
  assert.equal(allowed, 100);
});

test('tokens come back with time, up to the burst and no further', () => {
  const limiter = createSourceRateLimiter({ perSecond: 4, burst: 3, seed: SEED });
  assert.equal(passed(limiter, A, 0, 10), 3);
  assert.equal(passed(limiter, A, 500, 10), 2);
  assert.equal(passed(limiter, A, 3_600_000, 10), 3);
});

test('the burst is exact over many rates, whatever the clock origin', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 500_000 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.double({ min: 0, max: 1e10, noNaN: true }),
      (perSecond, burst, nowMs) => {
        const limiter = createSourceRateLimiter({ perSecond, burst, buckets: 1, seed: SEED });
        assert.equal(passed(limiter, A, nowMs, burst + 5), burst);
      },
    ),
    { numRuns: 300 },
  );
});

test('a source that keeps sending gets its burst plus the rate over time, never more', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 2, max: 50 }),
      fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 400 }),
      (perSecond, burst, rawGaps) => {
        // Gaps of at most one token, and a burst of 2 or more: the bucket never overflows.
        const gaps = rawGaps.map((gap) => gap % (Math.floor(1000 / perSecond) + 1));
        const limiter = createSourceRateLimiter({ perSecond, burst, buckets: 1, seed: SEED });
        const start = 1e9 + gaps[0]!;
        let now = 1e9;
        let allowed = 0;
        for (const gap of gaps) {
          now += gap;
          // Offer more than the rate can pay for at every step, so the bucket never sits full.
          allowed += passed(limiter, A, now, burst + Math.ceil((gap * perSecond) / 1000) + 1);
        }
        const earned = ((now - start) * perSecond) / 1000;
        assert.ok(allowed <= burst + earned + 1e-6, `${allowed} > ${burst} + ${earned}`);
        assert.ok(allowed >= burst + earned - 1, `${allowed} < ${burst} + ${earned} - 1`);
      },
    ),
    { numRuns: 300 },
  );
});

test('a clock that goes backwards neither grants nor takes tokens', () => {
  const limiter = createSourceRateLimiter({ perSecond: 1, burst: 2, seed: SEED });
  assert.equal(limiter.allow(A, 10_000), true);
  assert.equal(limiter.allow(A, 5_000), true, 'the token left is still there');
  assert.equal(limiter.allow(A, 5_000), false);
  assert.equal(limiter.allow(A, 10_999), false, 'nothing earned before 11 s');
  assert.equal(limiter.allow(A, 11_000), true);
});

test("a flooding source does not spend other sources' budgets", () => {
  const limiter = createSourceRateLimiter({ perSecond: 5, burst: 10, seed: SEED });
  assert.equal(passed(limiter, A, 0, 100_000), 10);
  // One packet each: two of these sharing a bucket (a birthday pair) would still both pass, so
  // only a bucket shared with the flooder could refuse one.
  let others = 0;
  for (let i = 1; i <= 2000; i++) if (limiter.allow((0xc0000200 + i * 7919) >>> 0, 0)) others++;
  assert.equal(others, 2000);
  assert.equal(passed(limiter, 0x01020304, 0, 20), 10);
});

test('sources that share a bucket share the budget, and the random key decides who shares', () => {
  // Two buckets: about half the sources share A's.
  const sharers = (seed: number | undefined): readonly number[] => {
    const found: number[] = [];
    for (let source = 1; source <= 64; source++) {
      const limiter = createSourceRateLimiter({
        perSecond: 1,
        burst: 1,
        buckets: 2,
        ...(seed === undefined ? {} : { seed }),
      });
      limiter.allow(A, 0);
      if (!limiter.allow(source, 0)) found.push(source);
    }
    return found;
  };
  const first = sharers(1);
  assert.ok(first.length > 10 && first.length < 54, `${first.length} of 64 share`);
  assert.deepEqual(sharers(1), first, 'a seed gives a fixed layout');
  assert.notDeepEqual(sharers(2), first);
  // Unseeded limiters draw their own key: the odds that 20 of them all agree with seed 1 are nil.
  const layouts = new Set<string>();
  for (let i = 0; i < 20; i++) layouts.add(sharers(undefined).join(','));
  assert.ok(layouts.size > 1);
});

test('a rate of 0 never limits', () => {
  const limiter = createSourceRateLimiter({ perSecond: 0, burst: 0 });
  assert.equal(passed(limiter, A, 0, 100_000), 100_000);
});

test('a burst below 1 still lets one packet through', () => {
  const limiter = createSourceRateLimiter({ perSecond: 1, burst: 0, seed: SEED });
  assert.equal(passed(limiter, A, 0, 5), 1);
});

test('bad settings are programming errors', () => {
  for (const options of [
    { perSecond: -1, burst: 1 },
    { perSecond: Number.NaN, burst: 1 },
    { perSecond: Number.POSITIVE_INFINITY, burst: 1 },
    { perSecond: 1, burst: Number.NaN },
    { perSecond: 1, burst: 1, buckets: 0 },
    { perSecond: 1, burst: 1, buckets: 1.5 },
    { perSecond: 1, burst: 1, buckets: 2 ** 25 },
  ]) {
    assert.throws(() => createSourceRateLimiter(options), RangeError, JSON.stringify(options));
  }
});
