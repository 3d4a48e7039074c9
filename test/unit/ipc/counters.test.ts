import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counterRow, createCounterBlock, sumCounters } from '../../../src/ipc/counters.js';

test('counter rows are separate and sum by name', () => {
  const names = ['received', 'dropped'] as const;
  const block = createCounterBlock(names, 3);
  const first = counterRow(block, names, 0);
  const last = counterRow(block, names, 2);
  first[0] = 5;
  first[1] = 1;
  last[0] = 7;
  assert.deepEqual(sumCounters(block, names), { received: 12, dropped: 1 });
  // Another view over the same block (as a worker builds it) sees the same numbers.
  assert.equal(counterRow(block, names, 2)[0], 7);
  assert.throws(() => counterRow(block, names, 3), RangeError);
  assert.throws(() => counterRow(block, names, -1), RangeError);
});
