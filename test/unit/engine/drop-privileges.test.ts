import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDropped, dropPrivileges } from '../../../src/engine/drop-privileges.js';
import type { CheckOperations, DropOperations } from '../../../src/engine/drop-privileges.js';

const target = { uid: 65534, gid: 65534, chrootDir: '/run/miredo-ts/empty' };

function recordingDrop(calls: string[], failAt: string | null = null): DropOperations {
  const step = (name: string) => {
    calls.push(name);
    if (name === failAt) throw new Error('EPERM');
  };
  return {
    identify: () => ({ dev: 0n, ino: 0n }),
    chroot: (dir) => step(`chroot ${dir}`),
    chdir: (dir) => step(`chdir ${dir}`),
    setGroupsEmpty: () => step('setgroups'),
    setgid: (gid) => step(`setgid ${gid}`),
    setuid: (uid) => step(`setuid ${uid}`),
    setNoNewPrivs: () => step('no_new_privs'),
  };
}

test('privileges are dropped in the only safe order', () => {
  const calls: string[] = [];
  assert.deepEqual(dropPrivileges(target, recordingDrop(calls)), { ok: true });
  assert.deepEqual(calls, [
    'chroot /run/miredo-ts/empty',
    'chdir /',
    'setgroups',
    'setgid 65534',
    'setuid 65534',
    'no_new_privs',
  ]);
});

test('a failing step stops the drop and is named', () => {
  const calls: string[] = [];
  const result = dropPrivileges(target, recordingDrop(calls, 'setgid 65534'));
  assert.deepEqual(result, { ok: false, step: 'setgid(65534)', error: 'EPERM' });
  assert.deepEqual(calls, ['chroot /run/miredo-ts/empty', 'chdir /', 'setgroups', 'setgid 65534']);
});

const dropped: CheckOperations = {
  getuid: () => 65534,
  geteuid: () => 65534,
  getgid: () => 65534,
  getegid: () => 65534,
  getgroups: () => [],
  regainRoot: () => {
    throw new Error('EPERM');
  },
  openTunDevice: () => {
    throw new Error('ENOENT');
  },
};

test('a complete drop passes every check', () => {
  assert.deepEqual(checkDropped(target, dropped), { ok: true });
  assert.deepEqual(checkDropped(target, { ...dropped, getgroups: () => [65534] }), { ok: true });
});

test('each way back to privilege is detected', () => {
  const cases: ReadonlyArray<readonly [Partial<CheckOperations>, RegExp]> = [
    [{ getuid: () => 0 }, /still uid 0/],
    [{ geteuid: () => 0 }, /euid 0/],
    [{ getuid: () => 1000 }, /uid 1000\/65534, expected 65534/],
    [{ getegid: () => 0 }, /still gid 65534\/egid 0/],
    [{ getgroups: () => [0, 65534] }, /supplementary groups remain: 0/],
    [{ regainRoot: () => true }, /setuid\(0\) succeeded/],
    [{ openTunDevice: () => true }, /\/dev\/net\/tun can still be opened/],
  ];
  for (const [override, expected] of cases) {
    const result = checkDropped(target, { ...dropped, ...override });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.failures.join('; '), expected);
  }
});
