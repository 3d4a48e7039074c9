/** A data-plane worker's own check before its first read (reading-check.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { readingRefusal } from '../../../src/dataplane/reading-check.js';
import { identifyDirectory } from '../../../src/os/identity.js';

const JAIL = { dev: 2049n, ino: 131_073n };
const NOBODY = { uid: 65534, euid: 65534, gid: 65534, egid: 65534 };

test('an unprivileged thread whose root directory is the jail may read', () => {
  assert.equal(readingRefusal(NOBODY, { ...JAIL }, JAIL), null);
});

test('any root id, an unknown id, or another root directory is a refusal that says why', () => {
  assert.equal(readingRefusal({ ...NOBODY, uid: 0 }, JAIL, JAIL), 'uid 0, euid 65534');
  assert.equal(readingRefusal({ ...NOBODY, euid: 0 }, JAIL, JAIL), 'uid 65534, euid 0');
  assert.equal(readingRefusal({ ...NOBODY, egid: 0 }, JAIL, JAIL), 'gid 65534, egid 0');
  assert.equal(readingRefusal({ ...NOBODY, uid: -1 }, JAIL, JAIL), 'uid -1, euid 65534');
  assert.equal(
    readingRefusal(NOBODY, { dev: JAIL.dev, ino: 2n }, JAIL),
    'root directory 2049:2 is not the jail 2049:131073',
  );
  assert.equal(
    readingRefusal({ uid: 0, euid: 0, gid: 0, egid: 0 }, { dev: 1n, ino: 2n }, JAIL),
    'uid 0, euid 0; gid 0, egid 0; root directory 1:2 is not the jail 2049:131073',
  );
});

test('a directory is identified by its device and inode, as bigints', () => {
  const stats = statSync('/', { bigint: true });
  assert.deepEqual(identifyDirectory('/'), { dev: stats.dev, ino: stats.ino });
});
