/**
 * A killed daemon's program copy after an upgrade (jail-program.ts with the real copy
 * operations on temporary directories, and who runs in the jail given by the test): replaced
 * when only our engine runs there, left alone when another process does or when that is
 * unknown, and never when a differing file is the administrator's. Afterwards the manifest lists
 * exactly what is there, so the last daemon out leaves the jail as it found it. Also run without
 * CAP_DAC_OVERRIDE (as the systemd units run the bootstrap), where our directories are read-only.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Occupants } from '../../../src/daemon/jail-occupants.js';
import {
  installProgramCopy,
  MANIFEST_NAME,
  readManifest,
  removeProgramCopy,
} from '../../../src/daemon/jail-program-copy.js';
import { prepareJailProgram, SYSTEM_JAIL_PROGRAM } from '../../../src/daemon/jail-program.js';
import type { JailProgramOperations } from '../../../src/daemon/jail-program.js';
import { captureLog } from './fakes.js';

const ENGINE = 777_777;
const REPLACED = 'Replaced a stale program copy in the jail';
const run = promisify(execFile);

/**
 * Version 1 of a small program, copied into a jail by a daemon that was then killed (the copy
 * and its manifest stay), then upgraded: `main` and `helper` change and `added` is new.
 */
function killedDaemonThenUpgrade(t: TestContext) {
  const base = mkdtempSync(join(tmpdir(), 'jail-stale-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const program = join(base, 'program');
  const main = join(program, 'main.js');
  const helper = join(program, 'lib', 'deep', 'helper.js');
  const same = join(program, 'lib', 'same.js');
  const added = join(program, 'lib', 'deep', 'added.js');
  const jail = join(base, 'jail');
  mkdirSync(jail, { mode: 0o755 });
  const write = (file: string, text: string): void => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  const upgrade = (): void => {
    write(main, 'export const version = 2;\n');
    write(helper, 'export const help = 2;\n');
    write(added, 'export const added = 2;\n');
  };
  write(main, 'export const version = 1;\n');
  write(helper, 'export const help = 1;\n');
  write(same, 'export const same = true;\n');
  return {
    base,
    jail,
    main,
    helper,
    files: [main, helper, same, added] as const,
    inJail: (path: string) => join(jail, path),
    /** The killed daemon's copy of version 1, then the upgrade. */
    async seed(): Promise<void> {
      const copied = await installProgramCopy(jail, [main, helper, same]);
      assert.ok(copied.ok, JSON.stringify(copied));
      upgrade();
    },
  };
}

function operations(files: readonly string[], occupants: Occupants) {
  const asked: string[] = [];
  const ops: JailProgramOperations = {
    ...SYSTEM_JAIL_PROGRAM,
    files: () => Promise.resolve({ ok: true, files }),
    occupants: (jail, exclude) => {
      asked.push(`${jail} ${[...exclude].join(',')}`);
      return occupants;
    },
  };
  return { ops, asked };
}

function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

test('a stale copy in a jail where only our engine runs: replaced, read-only, then removed at the end', async (t) => {
  const { jail, files, inJail, seed } = killedDaemonThenUpgrade(t);
  await seed();
  const { log, records } = captureLog();
  const { ops, asked } = operations(files, { known: true, pids: [] });
  const program = prepareJailProgram(jail, log, ops);

  assert.equal(await program.refresh(ENGINE), true);
  assert.deepEqual(asked, [`${jail} ${process.pid},${ENGINE}`], 'our engine does not count');
  for (const file of files) {
    assert.deepEqual(readFileSync(inJail(file)), readFileSync(file), `${file} is the new version`);
    assert.equal(statSync(inJail(file)).mode & 0o7777, 0o444);
    assert.equal(statSync(dirname(inJail(file))).mode & 0o7777, 0o555);
  }
  const notice = records.find((r) => r['msg'] === REPLACED);
  assert.ok(notice, JSON.stringify(records.map((r) => r['msg'])));
  assert.equal(notice['level'], 35, 'notice');
  assert.deepEqual(
    [notice['stale'], notice['removed'], notice['created'], notice['reused']],
    [2, 2, 3, 1],
    'two stale files removed; those two and the new file created, the unchanged one reused',
  );
  assert.equal(records.filter((r) => r['level'] === 40).length, 0);
  const listed = (await readManifest(jail)).filter((entry) => entry.kind === 'f').map((entry) => entry.path);
  assert.deepEqual(listed.sort(), [...files].sort(), 'each file listed once');

  // The last daemon out: the jail is as empty as before the killed daemon.
  await program.release();
  assert.deepEqual(tree(jail), []);
});

test('a stale copy in a jail where another process runs, or where that is unknown: left as it is', async (t) => {
  const cases: ReadonlyArray<readonly [string, Occupants, RegExp]> = [
    ['occupied', { known: true, pids: [4242] }, /left in place: in use by process 4242;/],
    ['unknown', { known: false, reason: '/proc/4242/root: EACCES' }, /left in place: cannot tell/],
  ];
  for (const [name, occupants, why] of cases) {
    await t.test(name, async (t) => {
      const { jail, files, main, inJail, seed } = killedDaemonThenUpgrade(t);
      await seed();
      const before = tree(jail);
      const manifest = readFileSync(join(jail, MANIFEST_NAME), 'utf8');
      const { log, records } = captureLog();
      const program = prepareJailProgram(jail, log, operations(files, occupants).ops);

      assert.equal(await program.refresh(ENGINE), false);
      assert.deepEqual(tree(jail), before);
      assert.equal(readFileSync(inJail(main), 'utf8'), 'export const version = 1;\n', 'the old file stays');
      assert.equal(readFileSync(join(jail, MANIFEST_NAME), 'utf8'), manifest);
      const warnings = records.filter((r) => r['level'] === 40).map((r) => String(r['msg']));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] ?? '', /exists and differs from .* \(2 files differ\)/);
      assert.match(warnings[0] ?? '', why);
      assert.ok(!records.some((r) => r['msg'] === REPLACED));
    });
  }
});

test("a differing file that is the administrator's: refused, their file and our old copy untouched", async (t) => {
  const { jail, files, main, helper, inJail, seed } = killedDaemonThenUpgrade(t);
  // The administrator had put helper.js (identical to version 1) in the jail: the copy reused
  // it and does not list it.
  mkdirSync(dirname(inJail(helper)), { recursive: true });
  writeFileSync(inJail(helper), readFileSync(helper));
  await seed();
  const manifest = readFileSync(join(jail, MANIFEST_NAME), 'utf8');
  assert.ok(!manifest.includes(helper));
  const { log, records } = captureLog();
  const { ops, asked } = operations(files, { known: true, pids: [] });
  const program = prepareJailProgram(jail, log, ops);

  assert.equal(await program.refresh(ENGINE), false);
  assert.deepEqual(asked, [], 'no need to ask who runs there');
  assert.equal(readFileSync(inJail(helper), 'utf8'), 'export const help = 1;\n');
  assert.equal(readFileSync(inJail(main), 'utf8'), 'export const version = 1;\n');
  assert.equal(readFileSync(join(jail, MANIFEST_NAME), 'utf8'), manifest);
  const warnings = records.filter((r) => r['level'] === 40).map((r) => String(r['msg']));
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0] ?? '',
    new RegExp(`jail ${jail}: ${inJail(helper)} exists and differs from ${helper}`),
  );

  // Cleaning up our copy later leaves the administrator's file.
  await removeProgramCopy(jail);
  assert.equal(readFileSync(inJail(helper), 'utf8'), 'export const help = 1;\n');
});

// Imported by the child process below: the compiled modules next to this compiled test.
const CHILD = `
const [jail, filesJson] = process.argv.slice(1);
const { prepareJailProgram, SYSTEM_JAIL_PROGRAM } = await import(${JSON.stringify(
  new URL('../../../src/daemon/jail-program.js', import.meta.url).href,
)});
const { createLogger } = await import(${JSON.stringify(new URL('../../../src/log/logger.js', import.meta.url).href)});
const files = JSON.parse(filesJson);
const log = createLogger({ name: 'child', level: 'debug', sink: { write: (line) => process.stdout.write(line) } });
const ops = {
  ...SYSTEM_JAIL_PROGRAM,
  files: async () => ({ ok: true, files }),
  occupants: () => ({ known: true, pids: [] }),
};
const ok = await prepareJailProgram(jail, log, ops).refresh(0);
process.stdout.write(JSON.stringify({ refreshed: ok }) + '\\n');
`;

test('replaced without CAP_DAC_OVERRIDE too: our read-only directories are opened and closed again', async (t) => {
  const { jail, files, inJail, seed } = killedDaemonThenUpgrade(t);
  await seed();
  const node = [process.execPath, '--input-type=module', '-e', CHILD, jail, JSON.stringify(files)];
  // Root keeps its other capabilities; any other user has none of them anyway.
  const command = process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-dac_override', ...node] : node;
  const [file = '', ...args] = command;
  const { stdout } = await run(file, args);
  const lines = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.ok(
    lines.some((line) => line['msg'] === REPLACED),
    stdout,
  );
  assert.deepEqual(lines.at(-1), { refreshed: true }, stdout);
  for (const path of files) {
    assert.deepEqual(readFileSync(inJail(path)), readFileSync(path));
    assert.equal(statSync(dirname(inJail(path))).mode & 0o7777, 0o555);
  }
  assert.deepEqual((await removeProgramCopy(jail)).kept, 0);
  assert.deepEqual(tree(jail), []);
});
