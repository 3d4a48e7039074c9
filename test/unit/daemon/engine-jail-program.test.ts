/**
 * The bootstrap's handling of the program copy (jail-program.ts) with recorded operations:
 * installed for each engine, a warning (once) when it cannot be, removed at the end
 * unless another process still runs in the jail; who runs in a jail (jail-occupants.ts); and the
 * engine's check when a worker fails.
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
  assert.equal(await program.refresh(), true);
  assert.equal(await program.refresh(), true);
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
  const { calls, ops } = recorder(() => ({ ok: false, message: 'EROFS: read-only file system' }));
  const program = prepareJailProgram('/jail', log, ops);
  assert.equal(await program.refresh(), false);
  assert.equal(await program.refresh(), false);
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
  await program.refresh();
  await program.release();
  assert.ok(!shared.calls.includes('remove /jail'));

  const unknown = recorder(() => ({ ok: true, created: 2, reused: 0 }), { known: false, reason: 'EACCES' });
  const other = prepareJailProgram('/jail', captureLog().log, unknown.ops);
  await other.refresh();
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
  const first = program.refresh();
  const second = program.refresh();
  await new Promise((resolve) => setImmediate(resolve));
  const released = program.release();
  finish({ ok: true, created: 4, reused: 0 });
  assert.deepEqual(await Promise.all([first, second]), [true, true]);
  await released;
  assert.deepEqual(calls, ['install /jail 2', `occupants /jail ${process.pid}`, 'remove /jail']);
});

test('a jail at / needs no copy', async () => {
  const { calls, ops } = recorder(() => ({ ok: false, message: 'must not be called' }));
  const program = prepareJailProgram('/', captureLog().log, ops);
  assert.equal(await program.refresh(), true);
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
