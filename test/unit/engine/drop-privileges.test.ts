import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDropped, dropPrivileges } from '../../../src/engine/drop-privileges.js';
import type { CheckOperations, DropOperations } from '../../../src/engine/drop-privileges.js';

const target = { uid: 65534, gid: 65534, chrootDir: '/run/miredo-ts/empty', jailer: null };
/** Started by miredo-engine-launch as the service user 103, the jailer at descriptor 9. */
const launched = { uid: 103, gid: 65534, chrootDir: '/run/miredo-ts-jail', jailer: 9 };

function recordingDrop(
  calls: string[],
  failAt: string | null = null,
  privileged: readonly string[] = [],
): DropOperations {
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
    privilegedThreads: () => {
      step('threads');
      return privileged;
    },
    requestJail: (fd) => step(`jailer ${fd}`),
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
  chroot: () => {
    throw new Error('EPERM');
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
    [{ chroot: () => true }, /chroot\(\) succeeded/],
  ];
  for (const [override, expected] of cases) {
    const result = checkDropped(target, { ...dropped, ...override });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.failures.join('; '), expected);
  }
});

test('a launched engine checks every thread, then its jailer chroots it; it changes no id', () => {
  const calls: string[] = [];
  assert.deepEqual(dropPrivileges(launched, recordingDrop(calls)), { ok: true });
  assert.deepEqual(calls, ['threads', 'jailer 9', 'chdir /', 'no_new_privs']);
});

test('a launched engine with a privileged thread never asks for its jail', () => {
  const calls: string[] = [];
  const result = dropPrivileges(launched, recordingDrop(calls, null, ['thread 7: CapEff 40000']));
  assert.deepEqual(result, {
    ok: false,
    step: 'no capability in any thread',
    error: 'thread 7: CapEff 40000',
  });
  assert.deepEqual(calls, ['threads']);
});

test("a launched engine keeps its user's groups, and every other check holds for it", () => {
  const ids = { getuid: () => 103, geteuid: () => 103, getgid: () => 65534, getegid: () => 65534 };
  const ok = { ...dropped, ...ids, getgroups: () => [65534, 4] };
  assert.deepEqual(checkDropped(launched, ok), { ok: true });
  for (const [override, expected] of [
    [{ getuid: () => 0 }, /still uid 0/],
    [{ getegid: () => 0 }, /egid 0/],
    [{ regainRoot: () => true }, /setuid\(0\) succeeded/],
    [{ chroot: () => true }, /chroot\(\) succeeded/],
  ] as const) {
    const result = checkDropped(launched, { ...ok, ...override });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.failures.join('; '), expected);
  }
});
