/**
 * miredo-engine-launch (src/os/native/engine_launch.cc), run by a non-root user holding
 * CAP_NET_ADMIN and CAP_SYS_CHROOT as ambient capabilities (setpriv), as a service bootstrap
 * runs it: the program it starts has no capability in any thread and no_new_privs; its jailer
 * chroots it on request; a jail it cannot open stops it before the program runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LAUNCHER = fileURLToPath(new URL('../../../../build/Release/miredo_engine_launch', import.meta.url));
const NOBODY = 'nobody';
const CAPS = '-all,+net_admin,+sys_chroot';
const JAILER_FD = 3;

/** Reports every thread's capability lines, asks for the jail, then lists its new root. */
const PROBE = `
const fs = require('node:fs');
const threads = fs.readdirSync('/proc/self/task').map((tid) =>
  fs.readFileSync('/proc/self/task/' + tid + '/status', 'utf8').split('\\n')
    .filter((line) => /^(Cap(Inh|Prm|Eff|Amb)|NoNewPrivs):/.test(line)).join(' '));
fs.writeSync(${JAILER_FD}, Buffer.of(1));
const answer = Buffer.alloc(1);
const got = fs.readSync(${JAILER_FD}, answer);
process.stdout.write(JSON.stringify({ threads, got, answer: answer[0], root: fs.readdirSync('/') }));
`;

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (setpriv to another user)';
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'setpriv is not installed';
  return false;
}

describe('miredo-engine-launch', { skip: skipReason() }, () => {
  let dir = '';
  let jail = '';
  let launcher = '';
  let probe = '';

  before(() => {
    // A copy everyone can read: the checkout may be root's alone.
    dir = mkdtempSync('/tmp/mts-launch-');
    chmodSync(dir, 0o755);
    launcher = join(dir, 'miredo_engine_launch');
    copyFileSync(LAUNCHER, launcher);
    chmodSync(launcher, 0o755);
    probe = join(dir, 'probe.cjs');
    writeFileSync(probe, PROBE, { mode: 0o644 });
    jail = join(dir, 'jail');
    mkdirSync(jail, { mode: 0o755 });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const launch = (jailDir: string) =>
    spawnSync(
      'setpriv',
      [
        '--reuid',
        NOBODY,
        '--regid',
        'nogroup',
        '--init-groups',
        `--inh-caps=${CAPS}`,
        `--ambient-caps=${CAPS}`,
        launcher,
        jailDir,
        String(JAILER_FD),
        process.execPath,
        probe,
      ],
      { encoding: 'utf8', cwd: '/', timeout: 30_000 },
    );

  it('starts the program with no capability in any thread, and its jailer chroots it on request', () => {
    const run = launch(jail);
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      threads: string[];
      got: number;
      answer: number;
      root: string[];
    };
    assert.ok(report.threads.length > 1, 'node has threads before any JavaScript');
    for (const thread of report.threads) {
      assert.match(
        thread,
        /CapInh:\s+0{16} CapPrm:\s+0{16} CapEff:\s+0{16} CapAmb:\s+0{16} NoNewPrivs:\s+1$/,
      );
    }
    assert.deepEqual([report.got, report.answer], [1, 0], 'the jailer answered: chroot done');
    assert.deepEqual(report.root, [], 'the root is now the empty jail');
  });

  it('a jail it cannot open: exit 71 with the reason, the program never runs', () => {
    const run = launch(join(dir, 'missing'));
    assert.equal(run.status, 71);
    assert.match(run.stderr, /^miredo-engine-launch: .*missing: No such file or directory$/m);
    assert.equal(run.stdout, '');
  });

  it('a bad command line: exit 64', () => {
    const run = spawnSync(launcher, [jail, 'x', process.execPath], { encoding: 'utf8' });
    assert.equal(run.status, 64);
  });
});
