import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveUser, ROOT_USER_REFUSAL } from '../../../src/bootstrap/user.js';
import type { UserLookup } from '../../../src/bootstrap/user.js';

const table: Record<string, { name: string; uid: number; gid: number }> = {
  root: { name: 'root', uid: 0, gid: 0 },
  nobody: { name: 'nobody', uid: 65534, gid: 65534 },
  miredo: { name: 'miredo', uid: 120, gid: 130 },
  wheel: { name: 'wheel', uid: 1000, gid: 0 },
};
const withMiredo: UserLookup = (name) => table[name] ?? null;
const withoutMiredo: UserLookup = (name) => (name === 'miredo' ? null : (table[name] ?? null));

test('default user: miredo when it exists, else nobody', () => {
  assert.deepEqual(resolveUser(null, withMiredo), { ok: true, user: table['miredo'] });
  assert.deepEqual(resolveUser(null, withoutMiredo), { ok: true, user: table['nobody'] });
});

test('-u selects the user', () => {
  assert.deepEqual(resolveUser('nobody', withMiredo), { ok: true, user: table['nobody'] });
});

test('unknown users and root are refused', () => {
  assert.deepEqual(resolveUser('ghost', withMiredo), { ok: false, message: 'User "ghost": User not found' });
  assert.deepEqual(resolveUser('root', withMiredo), { ok: false, message: ROOT_USER_REFUSAL });
  assert.match(ROOT_USER_REFUSAL, /^This program is not supposed to keep root privileges/);
  const wheel = resolveUser('wheel', withMiredo);
  assert.equal(wheel.ok, false);
  if (!wheel.ok) assert.match(wheel.message, /gid 0/);
});
