/** src/os/privileges.ts, raw.ts, fd.ts and the PID-file lock of the addon. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeFd } from '../../../src/os/fd.js';
import { native } from '../../../src/os/native.js';
import { setGroupsEmpty, setNoNewPrivs } from '../../../src/os/privileges.js';
import { openRaw6 } from '../../../src/os/raw.js';
import { netnsScenarios } from './netns-harness.js';
import { expectErrno, fdFlags, isOpen, O_CLOEXEC, O_NONBLOCK } from './os-tools.js';

function statusField(name: string): string {
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  assert.ok(match?.[1] !== undefined, `no ${name} in /proc/self/status`);
  return match[1].trim();
}

netnsScenarios(import.meta.url, {
  'openRaw6 opens a non-blocking close-on-exec raw IPv6 socket; closeFd closes it once': () => {
    const fd = openRaw6();
    assert.equal(fdFlags(fd) & (O_NONBLOCK | O_CLOEXEC), O_NONBLOCK | O_CLOEXEC);
    const rawSockets = readFileSync('/proc/net/raw6', 'utf8').trim().split('\n').length - 1;
    assert.equal(rawSockets, 1, 'the fresh namespace lists exactly our raw IPv6 socket');
    closeFd(fd);
    assert.equal(isOpen(fd), false);
    expectErrno(() => closeFd(fd), 'EBADF');
  },

  'setGroupsEmpty drops supplementary groups': () => {
    assert.ok(process.setgroups !== undefined);
    process.setgroups([4, 24, 27]);
    assert.equal(statusField('Groups'), '4 24 27');
    setGroupsEmpty();
    assert.equal(statusField('Groups'), '');
    assert.ok(process.setuid !== undefined);
    process.setuid(65534);
    const refused = expectErrno(() => setGroupsEmpty(), 'EPERM');
    assert.match(refused.message, /CAP_SETGID/);
  },

  'setNoNewPrivs sets no_new_privs for this thread and the processes it starts': () => {
    assert.equal(statusField('NoNewPrivs'), '0');
    setNoNewPrivs();
    assert.equal(statusField('NoNewPrivs'), '1');
    const child = execFileSync('sh', ['-c', 'grep NoNewPrivs /proc/self/status'], { encoding: 'utf8' });
    assert.match(child, /NoNewPrivs:\s*1/);
  },

  'without privileges openRaw6 fails with EPERM and a CAP_NET_RAW hint': () => {
    assert.ok(process.setuid !== undefined);
    process.setuid(65534);
    const refused = expectErrno(() => openRaw6(), 'EPERM');
    assert.equal(refused.syscall, 'socket');
    assert.match(refused.message, /CAP_NET_RAW/);
  },

  'lockFile write-locks a file against other processes': () => {
    const dir = mkdtempSync(join(tmpdir(), 'mts-lock-'));
    try {
      const path = join(dir, 'miredo.pid');
      const fd = openSync(path, 'w');
      native.lockFile(fd);
      const nativeModule = new URL('../../../src/os/native.js', import.meta.url).href;
      const probe = `import { native } from ${JSON.stringify(nativeModule)};
        import { openSync } from 'node:fs';
        try { native.lockFile(openSync(${JSON.stringify(path)}, 'w')); console.log('LOCKED'); }
        catch (error) { console.log(error.code); }`;
      const run = (): string =>
        spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' }).stdout.trim();
      assert.match(run(), /^(EAGAIN|EACCES)$/);
      closeFd(fd);
      assert.equal(run(), 'LOCKED', 'closing the descriptor releases the lock');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
