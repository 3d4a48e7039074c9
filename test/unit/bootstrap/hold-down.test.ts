/**
 * The announcer's hold-down (src/bootstrap/hold-down.ts) on a fake clock: 2 s after the first
 * withdrawal for ill-health, doubling for each flap (a withdrawal within 60 s of the route's
 * return) up to 60 s, halved for each 60 s the route stays up; and, with fast-check, its bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_HOLD_DOWN, HoldDown } from '../../../src/bootstrap/hold-down.js';

const { initialMs, maxMs, windowMs } = DEFAULT_HOLD_DOWN;

test('nothing holds the route before the first withdrawal for ill-health', () => {
  const hold = new HoldDown();
  assert.equal(hold.held, false);
  assert.equal(hold.remainingMs(0, null), 0);
  assert.equal(hold.currentMs(0), 0);
});

test('2 s after the first withdrawal, doubling with each flap up to 60 s', () => {
  const hold = new HoldDown();
  let now = 1000;
  const seen: number[] = [];
  for (let i = 0; i < 8; i += 1) {
    hold.announced(now);
    now += 3000; // up for 3 s: a flap
    seen.push(hold.withdrawn(now));
    assert.equal(hold.held, true);
    assert.equal(hold.remainingMs(now, null), seen.at(-1));
    now += 500;
    assert.equal(hold.remainingMs(now, now - 500), (seen.at(-1) ?? 0) - 500, 'healthy for 0.5 s');
    now += seen.at(-1) ?? 0;
  }
  assert.deepEqual(seen, [2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
});

test('each full window up halves the hold-down, down to 2 s; a withdrawal after it is no flap', () => {
  const hold = new HoldDown();
  hold.announced(0);
  for (let i = 0; i < 5; i += 1) hold.withdrawn(1000 + i); // 2, 4, 8, 16, 32 s
  assert.equal(hold.currentMs(2000), 32_000);
  hold.announced(100_000);
  assert.equal(hold.held, false);
  assert.equal(hold.currentMs(100_000 + windowMs - 1), 32_000);
  assert.equal(hold.currentMs(100_000 + windowMs), 16_000);
  assert.equal(hold.currentMs(100_000 + 2 * windowMs), 8000);
  assert.equal(hold.withdrawn(100_000 + 2 * windowMs + 5), 8000, 'stable for two windows: halved twice');
  hold.announced(500_000);
  assert.equal(hold.currentMs(500_000 + 100 * windowMs), initialMs);
  assert.equal(hold.withdrawn(500_000 + 100 * windowMs), initialMs);
});

test('healthy for the whole hold-down, and only then, the route may come back', () => {
  const hold = new HoldDown();
  hold.announced(0);
  hold.withdrawn(10_000);
  assert.equal(hold.remainingMs(11_000, 11_000), 2000);
  assert.equal(hold.remainingMs(12_999, 11_000), 1);
  assert.equal(hold.remainingMs(13_000, 11_000), 0);
  assert.equal(hold.remainingMs(13_000, null), 2000, 'not healthy now: all of it still ahead');
});

type Step = { readonly kind: 'up' | 'down'; readonly afterMs: number };

test('property: within [2 s, 60 s]; a flap never shortens it, a window up never lengthens it', () => {
  const steps = fc.array(
    fc.record({
      kind: fc.constantFrom<Step['kind']>('up', 'down'),
      afterMs: fc.integer({ min: 0, max: 5 * windowMs }),
    }),
    { maxLength: 60 },
  );
  fc.assert(
    fc.property(steps, (plan) => {
      const hold = new HoldDown();
      let now = 0;
      let up = true;
      let upAt = 0;
      let previous: number | null = null;
      hold.announced(0);
      for (const step of plan) {
        now += step.afterMs;
        if (step.kind === 'down' && up) {
          const before = hold.currentMs(now);
          const level = hold.withdrawn(now);
          assert.ok(level >= initialMs && level <= maxMs, `${level}`);
          if (previous !== null && now - upAt < windowMs)
            assert.equal(level, Math.min(maxMs, 2 * before), 'a flap doubles');
          if (previous !== null && now - upAt >= windowMs) assert.ok(level <= previous, 'no flap: no longer');
          assert.equal(hold.remainingMs(now, null), level);
          previous = level;
          up = false;
        } else if (step.kind === 'up' && !up) {
          assert.ok(hold.held);
          hold.announced(now);
          assert.equal(hold.remainingMs(now, null), 0);
          upAt = now;
          up = true;
        }
        const current = hold.currentMs(now);
        assert.ok(previous === null ? current === 0 : current >= initialMs && current <= maxMs);
      }
    }),
    { numRuns: 300 },
  );
});
