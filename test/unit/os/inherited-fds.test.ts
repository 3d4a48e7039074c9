import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fdinfoFlags, inheritedDescriptors } from '../../../src/os/inherited-fds.js';
import type { FdSource } from '../../../src/os/inherited-fds.js';

test('fdinfo flags are read in octal', () => {
  assert.equal(fdinfoFlags('pos:\t0\nflags:\t02000002\nmnt_id:\t15\n'), 0o2000002);
  assert.equal(fdinfoFlags('pos:\t0\n'), null);
});

test('only descriptors from 3 up, without close-on-exec and not kept, count as inherited', () => {
  const table: Record<number, string> = {
    0: 'flags:\t02\n',
    1: 'flags:\t01\n',
    3: 'flags:\t02\n',
    4: 'flags:\t02000002\n',
    5: 'flags:\t0100002\n',
    7: 'flags:\t04002\n',
  };
  const source: FdSource = { list: () => [0, 1, 3, 4, 5, 6, 7], fdinfo: (fd) => table[fd] ?? null };
  assert.deepEqual(inheritedDescriptors(new Set([3]), source), [5, 7]);
  assert.deepEqual(inheritedDescriptors(new Set(), source), [3, 5, 7]);
});

test('in a real process, a descriptor leaked by the parent is found and closed, not Node own ones', () => {
  const module = new URL('../../../src/os/inherited-fds.js', import.meta.url).href;
  const script =
    `const m = await import('${module}');` +
    'const found = m.inheritedDescriptors(new Set());' +
    'const closed = m.closeInheritedDescriptors(new Set());' +
    'process.stdout.write(JSON.stringify({ found, closed, after: m.inheritedDescriptors(new Set()) }));';
  // The shell opens descriptor 100 without close-on-exec, as a careless parent would.
  const result = spawnSync(
    'bash',
    ['-c', 'exec 100</dev/null; exec "$0" --input-type=module -e "$1"', process.execPath, script],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    },
  );
  assert.equal(result.status, 0);
  const { found, closed, after } = JSON.parse(result.stdout) as {
    found: number[];
    closed: number[];
    after: number[];
  };
  assert.ok(found.includes(100), JSON.stringify(found));
  assert.ok(found.every((fd) => fd >= 3));
  assert.deepEqual(closed, found);
  assert.deepEqual(after, []);
});
