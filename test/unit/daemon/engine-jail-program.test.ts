/**
 * The bootstrap's handling of the program copy (jail-program.ts) with recorded operations:
 * installed for each engine, a warning (once) when it cannot be, removed at the end
 * unless another process still runs in the jail; a stale copy (files of ours that differ)
 * replaced only when no process but our engine runs in the jail; who runs in a jail
 * (jail-occupants.ts); and the engine's check when a worker fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jailOccupants } from '../../../src/daemon/jail-occupants.js';
import type { Occupants, ProcReader } from '../../../src/daemon/jail-occupants.js';
import type { CopyResult } from '../../../src/daemon/jail-program-copy.js';
import { DATAPLANE_FILE } from '../../../src/daemon/jail-program-files.js';
import { prepareJailProgram, workerProgramVisible } from '../../../src/daemon/jail-program.js';
import type { JailProgramOperations } from '../../../src/daemon/jail-program.js';
import { captureLog } from './fakes.js';

/** The pid of "our" engine, as the supervisor passes it to refresh(). */
const ENGINE = 777_777;

function recorder(install: () => CopyResult, occupants: Occupants = { known: true, pids: [] }) {
  const calls: string[] = [];
  const ops: JailProgramOperations = {
    files: () => Promise.resolve({ ok: true, files: ['/prog/a.js', '/prog/b.js'] }),
    install: (jail, files) => {
      calls.push(`install ${jail} ${files.length}`);
      return Promise.resolve(install());
    },
    remove: (jail) => {
      calls.push(`remove ${jail}`);
      return Promise.resolve({ removed: 3, kept: 0 });
    },
    removeStale: (jail, files) => {
      calls.push(`removeStale ${jail} ${files.join(',')}`);
      return Promise.resolve({ removed: files.length, kept: 0 });
    },
    occupants: (jail, exclude) => {
      calls.push(`occupants ${jail} ${[...exclude].join(',')}`);
      return occupants;
    },
  };
  return { calls, ops };
}

test('installed for each engine, logged once, removed at the end', async () => {
  const { log, records } = captureLog();
  let starts = 0;
  const { calls, ops } = recorder(() =>
    starts++ === 0 ? { ok: true, created: 5, reused: 0 } : { ok: true, created: 0, reused: 2 },
  );
  const program = prepareJailProgram('/jail', log, ops);
  assert.equal(await program.refresh(ENGINE), true);
  assert.equal(await program.refresh(ENGINE), true);
  await program.release();
  assert.deepEqual(calls, [
    'install /jail 2',
    'install /jail 2',
    `occupants /jail ${process.pid}`,
    'remove /jail',
  ]);
  assert.equal(
    records.filter((r) => /^Data-plane program copied into the jail/.test(String(r['msg']))).length,
    1,
  );
});

test('a jail that cannot hold the copy: one warning, the old behaviour, nothing to remove', async () => {
  const { log, records } = captureLog();
  const { calls, ops } = recorder(() => ({ ok: false, message: 'EROFS: read-only file system', stale: [] }));
  const program = prepareJailProgram('/jail', log, ops);
  assert.equal(await program.refresh(ENGINE), false);
  assert.equal(await program.refresh(ENGINE), false);
  await program.release();
  const warnings = records.filter((r) => r['level'] === 40);
  assert.equal(warnings.length, 1);
  assert.equal(
    warnings[0]?.['msg'],
    'Cannot copy the data-plane program into the jail /jail: EROFS: read-only file system; ' +
      'a crashed data-plane worker will restart the whole engine',
  );
  assert.ok(!calls.includes('remove /jail'));
});

test('left in place while another engine runs in the same jail; removed when unknown', async () => {
  const shared = recorder(() => ({ ok: true, created: 0, reused: 2 }), { known: true, pids: [4242] });
  const program = prepareJailProgram('/jail', captureLog().log, shared.ops);
  await program.refresh(ENGINE);
  await program.release();
  assert.ok(!shared.calls.includes('remove /jail'));

  const unknown = recorder(() => ({ ok: true, created: 2, reused: 0 }), { known: false, reason: 'EACCES' });
  const other = prepareJailProgram('/jail', captureLog().log, unknown.ops);
  await other.refresh(ENGINE);
  await other.release();
  assert.ok(unknown.calls.includes('remove /jail'));
});

test('a release waits for a copy still being made, then removes it', async () => {
  let finish: (result: CopyResult) => void = () => undefined;
  const { calls, ops } = recorder(() => ({ ok: true, created: 1, reused: 0 }));
  const slow: JailProgramOperations = {
    ...ops,
    install: (jail, files) => {
      calls.push(`install ${jail} ${files.length}`);
      return new Promise((resolve) => {
        finish = resolve;
      });
    },
  };
  const program = prepareJailProgram('/jail', captureLog().log, slow);
  const first = program.refresh(ENGINE);
  const second = program.refresh(ENGINE);
  await new Promise((resolve) => setImmediate(resolve));
  const released = program.release();
  finish({ ok: true, created: 4, reused: 0 });
  assert.deepEqual(await Promise.all([first, second]), [true, true]);
  await released;
  assert.deepEqual(calls, ['install /jail 2', `occupants /jail ${process.pid}`, 'remove /jail']);
});

const STALE: CopyResult = {
  ok: false,
  message: '/jail/prog/a.js exists and differs from /prog/a.js (2 files differ)',
  stale: ['/prog/a.js', '/prog/b.js'],
};

/** STALE on the first install, then `then` on every later one. */
function staleThen(then: CopyResult): () => CopyResult {
  let calls = 0;
  return () => (calls++ === 0 ? STALE : then);
}

test('a stale copy of ours in a jail where only our engine runs: replaced, with a notice', async () => {
  const { log, records } = captureLog();
  const { calls, ops } = recorder(staleThen({ ok: true, created: 2, reused: 7 }));
  const program = prepareJailProgram('/jail', log, ops);
  assert.equal(await program.refresh(ENGINE), true);
  assert.deepEqual(calls, [
    'install /jail 2',
    `occupants /jail ${process.pid},${ENGINE}`,
    'removeStale /jail /prog/a.js,/prog/b.js',
    'install /jail 2',
  ]);
  const notice = records.find((r) => r['msg'] === 'Replaced a stale program copy in the jail');
  assert.ok(notice, JSON.stringify(records));
  assert.equal(notice['level'], 35);
  assert.equal(notice['jail'], '/jail');
  assert.equal(notice['stale'], 2);
  assert.equal(notice['removed'], 2);
  assert.equal(notice['created'], 2);
  assert.equal(notice['reused'], 7);
  assert.equal(records.filter((r) => r['level'] === 40).length, 0, 'no warning');
});

test('a stale copy in a jail where another process runs, or where that is unknown: refused', async () => {
  const cases: ReadonlyArray<readonly [Occupants, string]> = [
    [{ known: true, pids: [4242] }, 'in use by process 4242'],
    [{ known: true, pids: [4242, 4343] }, 'in use by processes 4242, 4343'],
    [
      { known: false, reason: '/proc/99/root: EACCES' },
      'cannot tell whether an engine uses it: /proc/99/root: EACCES',
    ],
  ];
  for (const [occupants, why] of cases) {
    const { log, records } = captureLog();
    const { calls, ops } = recorder(staleThen({ ok: true, created: 2, reused: 0 }), occupants);
    const program = prepareJailProgram('/jail', log, ops);
    assert.equal(await program.refresh(ENGINE), false);
    assert.deepEqual(calls, ['install /jail 2', `occupants /jail ${process.pid},${ENGINE}`]);
    const warnings = records.filter((r) => r['level'] === 40);
    assert.deepEqual(
      warnings.map((r) => r['msg']),
      [
        `Cannot copy the data-plane program into the jail /jail: ${STALE.ok ? '' : STALE.message}; ` +
          `a copy of another version of the program, left in place: ${why}; ` +
          'a crashed data-plane worker will restart the whole engine',
      ],
    );
    assert.ok(!records.some((r) => r['msg'] === 'Replaced a stale program copy in the jail'));
  }
});

test('a differing file that is not ours (stale is empty): refused without asking who runs there', async () => {
  const { log, records } = captureLog();
  const { calls, ops } = recorder(() => ({
    ok: false,
    message: '/jail/prog/a.js exists and differs from /prog/a.js',
    stale: [],
  }));
  const program = prepareJailProgram('/jail', log, ops);
  assert.equal(await program.refresh(ENGINE), false);
  assert.deepEqual(calls, ['install /jail 2']);
  assert.equal(records.filter((r) => r['level'] === 40).length, 1);
});

test('a stale copy removed but the new copy still fails: the warning, no notice, one attempt', async () => {
  const { log, records } = captureLog();
  const { calls, ops } = recorder(
    staleThen({ ok: false, message: 'ENOSPC: no space left on device', stale: [] }),
  );
  const program = prepareJailProgram('/jail', log, ops);
  assert.equal(await program.refresh(ENGINE), false);
  assert.equal(calls.filter((call) => call.startsWith('install')).length, 2);
  assert.ok(!records.some((r) => r['msg'] === 'Replaced a stale program copy in the jail'));
  assert.match(String(records.find((r) => r['level'] === 40)?.['msg']), /ENOSPC/);
});

test('a jail at / needs no copy', async () => {
  const { calls, ops } = recorder(() => ({ ok: false, message: 'must not be called', stale: [] }));
  const program = prepareJailProgram('/', captureLog().log, ops);
  assert.equal(await program.refresh(ENGINE), true);
  await program.release();
  assert.deepEqual(calls, []);
});

test("the engine's check, made from inside its jail: are the worker's entry files there?", () => {
  // Unjailed, this test sees the real program.
  assert.equal(workerProgramVisible(DATAPLANE_FILE), true);
  assert.equal(workerProgramVisible('/nonexistent/dist/src/daemon/dataplane.js'), false);
});

test('who runs in a jail: by /proc/PID/root, not counting ourselves; unreadable is unknown', () => {
  const roots: Record<number, string | NodeJS.ErrnoException> = {
    1: '/',
    100: '/srv/jail',
    101: '/srv/jail',
    102: '/srv/jail-other',
    103: Object.assign(new Error('gone'), { code: 'ENOENT' }),
  };
  const proc = (extra: Record<number, string | NodeJS.ErrnoException> = {}): ProcReader => {
    const all = { ...roots, ...extra };
    return {
      pids: () => Object.keys(all).map(Number),
      rootOf: (pid) => {
        const root = all[pid];
        if (root === undefined || typeof root !== 'string') throw root ?? new Error('no such pid');
        return root;
      },
    };
  };
  assert.deepEqual(jailOccupants('/srv/jail', new Set([101]), proc()), { known: true, pids: [100] });
  assert.deepEqual(jailOccupants('/srv/none', new Set(), proc()), { known: true, pids: [] });
  const denied = jailOccupants(
    '/srv/jail',
    new Set(),
    proc({ 104: Object.assign(new Error('denied'), { code: 'EACCES' }) }),
  );
  assert.deepEqual(denied, { known: false, reason: '/proc/104/root: EACCES' });
});
