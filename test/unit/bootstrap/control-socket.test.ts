/**
 * The control socket's file (src/bootstrap/control-socket.ts): born root:miredo 0660 (umask and
 * effective group set around the one bind, then restored), stale files removed, and a daemon
 * that cannot make it runs on without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTROL_GROUP, openControlSocket } from '../../../src/bootstrap/control-socket.js';
import type { ControlSocketOps } from '../../../src/bootstrap/control-socket.js';
import { SYSTEM_CONTROL_SOCKET } from '../../../src/bootstrap/os-system.js';
import { captureLog } from '../../support/fakes.js';

function fakeOps(gid: number | null, calls: string[], fail = false): ControlSocketOps {
  let umask = 0o022;
  let egid = 0;
  return {
    openUnixListener: (path) => {
      calls.push(`bind ${path} umask ${umask.toString(8)} egid ${egid}`);
      if (fail) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      return 42;
    },
    lookupGroup: (name) => (name === CONTROL_GROUP ? gid : null),
    setegid: (next) => {
      egid = next;
    },
    getegid: () => egid,
    unlink: (path) => {
      calls.push(`unlink ${path}`);
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    },
    umask: (next) => {
      const previous = umask;
      umask = next;
      return previous;
    },
    closeFd: (fd) => calls.push(`close ${fd}`),
  };
}

test('bound under umask 117 with the group as effective gid, both restored, next to the PID file', () => {
  const calls: string[] = [];
  const ops = fakeOps(103, calls);
  const { log } = captureLog();
  const socket = openControlSocket('/run/miredo-ts/miredo.pid', ops, log);
  assert.ok(socket);
  assert.equal(socket.path, '/run/miredo-ts/miredo.ctl');
  assert.deepEqual(calls, [
    'unlink /run/miredo-ts/miredo.ctl',
    'bind /run/miredo-ts/miredo.ctl umask 117 egid 103',
  ]);
  assert.equal(ops.getegid(), 0);
  assert.equal(ops.umask(0), 0o022);
  socket.close();
  assert.deepEqual(calls.slice(2), ['close 42', 'unlink /run/miredo-ts/miredo.ctl']);
});

test('without the group: root only, and said so; a failure leaves the daemon without a control socket', () => {
  const calls: string[] = [];
  const { log, records } = captureLog();
  assert.ok(openControlSocket('/run/m.pid', fakeOps(null, calls), log));
  assert.match(calls[1] ?? '', /egid 0$/);
  assert.ok(records.some((record) => /No group "miredo"/.test(String(record['msg']))));
  const failing = fakeOps(103, [], true);
  assert.equal(openControlSocket('/run/m.pid', failing, log), null);
  assert.equal(failing.getegid(), 0, 'egid restored after a failure');
  assert.ok(records.some((record) => /Cannot create the control socket/.test(String(record['msg']))));
});

test('the real calls: a socket file of mode 0660 replaces a stale file, and goes at close', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mts-ctlsock-'));
  try {
    writeFileSync(join(dir, 'd.ctl'), 'stale');
    const { log } = captureLog();
    const socket = openControlSocket(join(dir, 'd.pid'), SYSTEM_CONTROL_SOCKET, log);
    assert.ok(socket);
    const info = statSync(socket.path);
    assert.ok(info.isSocket());
    assert.equal(info.mode & 0o777, 0o660);
    socket.close();
    assert.equal(existsSync(socket.path), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
