/**
 * Huge-page advice for the shared peer table: the 2 MiB-aligned part of a SharedArrayBuffer is
 * advised, and on a kernel whose THP mode honours the advice its pages become huge pages once
 * touched (AnonHugePages in /proc/self/smaps_rollup).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adviseHugePages } from '../../../src/os/memory.js';
import { createTunnelShared } from '../../../src/ipc/tunnel-shared.js';

const HUGE_PAGE = 2 * 1024 * 1024;

function thpMode(): string {
  try {
    return (
      /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? 'none'
    );
  } catch {
    return 'none';
  }
}

function anonHugeKiB(): number {
  const match = /^AnonHugePages:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
  return Number(match?.[1] ?? 0);
}

test('a buffer smaller than a huge page gets no advice; a large one gets its aligned part', () => {
  assert.deepEqual(adviseHugePages(new SharedArrayBuffer(64 * 1024)), { ok: true, bytes: 0 });
  const result = adviseHugePages(new SharedArrayBuffer(16 * HUGE_PAGE));
  if (!result.ok) {
    assert.equal(result.errno, 22, 'only EINVAL (a kernel without THP) is acceptable');
    return;
  }
  assert.equal(result.bytes % HUGE_PAGE, 0);
  assert.ok(result.bytes >= 15 * HUGE_PAGE && result.bytes <= 16 * HUGE_PAGE, String(result.bytes));
});

test(
  "the daemon's peer table is backed by huge pages where the kernel honours the advice",
  { skip: ['madvise', 'always'].includes(thpMode()) ? false : `THP mode is ${thpMode()}` },
  () => {
    const before = anonHugeKiB();
    const shared = createTunnelShared(262_144);
    assert.ok(shared.hugePages.ok && shared.hugePages.bytes >= 8 * HUGE_PAGE);
    // Touch every page, as inserts of many peers would.
    const words = new Int32Array(shared.buffer);
    for (let index = 64; index < words.length; index += 1024) words[index] = 0;
    const grownKiB = anonHugeKiB() - before;
    // At least one: a fragmented machine may give some small pages, never all of them here.
    assert.ok(grownKiB >= 2048, `AnonHugePages grew by ${grownKiB} kB`);
  },
);
