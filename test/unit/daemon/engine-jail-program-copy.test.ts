/**
 * The read-only program copy in a jail (jail-program-copy.ts): same absolute paths, files 0444
 * and directories 0555, reused when already there, and only what we created is ever removed:
 * an administrator's files, a conflicting file and a symbolic link are left alone. A copy of
 * another version (files of ours that differ) is reported with all its differing files, and
 * removeStaleFiles clears exactly those the manifest lists.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  installProgramCopy,
  MANIFEST_NAME,
  programCopyPresent,
  readManifest,
  removeProgramCopy,
  removeStaleFiles,
} from '../../../src/daemon/jail-program-copy.js';

/** A small "program" (two files in nested directories) and an empty jail, both removed after the test. */
function setUp(t: TestContext) {
  const base = mkdtempSync(join(tmpdir(), 'jail-copy-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const program = join(base, 'program');
  const files = [join(program, 'main.js'), join(program, 'lib', 'deep', 'helper.js')];
  for (const [index, file] of files.entries()) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `export const id = ${index};\n`);
  }
  const jail = join(base, 'jail');
  mkdirSync(jail, { mode: 0o755 });
  return { base, program, files, jail, inJail: (path: string) => join(jail, path) };
}

/** Every path under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

test('copies each file to the same absolute path in the jail, read-only, and removes it all', async (t) => {
  const { files, jail, inJail } = setUp(t);
  const result = await installProgramCopy(jail, files);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.reused, 0);
  for (const file of files) {
    assert.deepEqual(readFileSync(inJail(file)), readFileSync(file));
    assert.equal(statSync(inJail(file)).mode & 0o7777, 0o444, `${file} is 0444`);
    assert.equal(statSync(dirname(inJail(file))).mode & 0o7777, 0o555, `${dirname(file)} is 0555`);
  }
  assert.ok(programCopyPresent(jail, files));
  const listed = await readManifest(jail);
  assert.ok(listed.some((entry) => entry.kind === 'f' && entry.path === files[0]));
  assert.equal(listed.filter((entry) => entry.kind === 'f').length, files.length);

  // A second daemon (or the next engine start) finds it in place.
  const again = await installProgramCopy(jail, files);
  assert.deepEqual(again, { ok: true, created: 0, reused: files.length });

  const removed = await removeProgramCopy(jail);
  assert.equal(removed.kept, 0);
  assert.deepEqual(tree(jail), [], 'the jail is empty again');
  assert.ok(!programCopyPresent(jail, files));
});

test("never removes an administrator's own files or directories", async (t) => {
  const { files, jail, inJail } = setUp(t);
  const [main = '', helper = ''] = files;
  // The administrator's jail already has the directory of main.js, a file of theirs in it, and
  // a file identical to helper.js at its place.
  mkdirSync(dirname(inJail(main)), { recursive: true });
  writeFileSync(join(dirname(inJail(main)), 'admin.txt'), 'mine\n');
  mkdirSync(dirname(inJail(helper)), { recursive: true });
  writeFileSync(inJail(helper), readFileSync(helper));
  const before = tree(jail);

  const result = await installProgramCopy(jail, files);
  assert.deepEqual(result, { ok: true, created: 1, reused: 1 });
  await removeProgramCopy(jail);
  assert.deepEqual(tree(jail), before);
  assert.equal(readFileSync(join(dirname(inJail(main)), 'admin.txt'), 'utf8'), 'mine\n');
  assert.ok(existsSync(inJail(helper)), 'the identical file was theirs: it stays');
});

test('a different file in the way fails the copy and leaves nothing of ours behind', async (t) => {
  const { files, jail, inJail } = setUp(t);
  const [, helper = ''] = files;
  mkdirSync(dirname(inJail(helper)), { recursive: true });
  writeFileSync(inJail(helper), 'something else\n');
  const before = tree(jail);
  const result = await installProgramCopy(jail, files);
  assert.equal(result.ok, false);
  assert.match(result.ok ? '' : result.message, /exists and differs/);
  assert.deepEqual(
    tree(jail).filter((path) => path !== MANIFEST_NAME),
    before,
  );
  assert.equal(readFileSync(inJail(helper), 'utf8'), 'something else\n');
  await removeProgramCopy(jail);
  assert.deepEqual(tree(jail), before);
});

test('refuses to follow a symbolic link in the jail', async (t) => {
  const { base, files, jail, inJail } = setUp(t);
  const [main = ''] = files;
  const elsewhere = join(base, 'elsewhere');
  mkdirSync(elsewhere);
  // The jail's first path component leads out of it.
  const first = main.split('/')[1] ?? '';
  symlinkSync(elsewhere, inJail(`/${first}`));
  const result = await installProgramCopy(jail, files);
  assert.equal(result.ok, false);
  assert.match(result.ok ? '' : result.message, /symbolic link/);
  assert.deepEqual(readdirSync(elsewhere), []);
});

test('a manifest line that leaves the jail is ignored', async (t) => {
  const { base, jail } = setUp(t);
  const victim = join(base, 'victim');
  writeFileSync(victim, 'keep\n');
  writeFileSync(join(jail, MANIFEST_NAME), `f ${victim}/../victim\nf relative/path\nx /weird\n`);
  assert.deepEqual(await readManifest(jail), []);
  await removeProgramCopy(jail);
  assert.equal(readFileSync(victim, 'utf8'), 'keep\n');
});

/** The program's next version: new bytes for `changed`, and `added` files (new, in existing directories). */
function upgrade(changed: readonly string[], added: readonly string[] = []): void {
  for (const file of [...changed, ...added]) writeFileSync(file, `export const version = 2; // ${file}\n`);
}

/** `file` and its directories, as tree() lists them: /a/b/c → a, a/b, a/b/c. */
function pathsTo(file: string): string[] {
  const parts = file.split('/').slice(1);
  return parts.map((_, index) => parts.slice(0, index + 1).join('/')).sort();
}

function listedFiles(entries: ReadonlyArray<{ readonly kind: string; readonly path: string }>): string[] {
  return entries
    .filter((entry) => entry.kind === 'f')
    .map((entry) => entry.path)
    .sort();
}

test('a copy of another version: every differing file of ours is named, nothing new is left', async (t) => {
  const { program, files, jail, inJail } = setUp(t);
  assert.ok((await installProgramCopy(jail, files)).ok);
  const manifestBefore = readFileSync(join(jail, MANIFEST_NAME), 'utf8');
  const added = join(program, 'lib', 'added.js');
  upgrade(files, [added]);
  const before = tree(jail);

  const result = await installProgramCopy(jail, [...files, added]);
  assert.equal(result.ok, false);
  assert.deepEqual(result.ok ? [] : result.stale, files);
  assert.match(result.ok ? '' : result.message, /exists and differs from .* \(2 files differ\)$/);
  assert.deepEqual(tree(jail), before, 'the new file was not placed');
  assert.ok(!existsSync(inJail(added)));
  assert.equal(readFileSync(join(jail, MANIFEST_NAME), 'utf8'), manifestBefore);
  for (const file of files) assert.match(readFileSync(inJail(file), 'utf8'), /^export const id/);
});

test('one differing file that is not ours: nothing is stale, and the message names that file', async (t) => {
  const { files, jail, inJail } = setUp(t);
  const [main = '', helper = ''] = files;
  assert.ok((await installProgramCopy(jail, [main])).ok);
  // The administrator's own helper.js, at its place in the jail: no manifest line names it.
  mkdirSync(dirname(inJail(helper)), { recursive: true });
  writeFileSync(inJail(helper), "the administrator's\n");
  upgrade([main]);
  const result = await installProgramCopy(jail, files);
  assert.equal(result.ok, false);
  assert.deepEqual(result.ok ? null : result.stale, []);
  assert.match(result.ok ? '' : result.message, new RegExp(`^${inJail(helper)} exists and differs`));
});

test('removeStaleFiles removes only files the manifest lists; the manifest then lists what is left', async (t) => {
  const { base, files, jail, inJail } = setUp(t);
  const [main = '', helper = ''] = files;
  // An administrator's file in the jail, outside our copy.
  const theirs = join(base, 'etc', 'theirs.conf');
  mkdirSync(dirname(inJail(theirs)), { recursive: true });
  writeFileSync(inJail(theirs), 'keep\n');
  assert.ok((await installProgramCopy(jail, files)).ok);
  const listed = await readManifest(jail);

  upgrade([main]);
  const removed = await removeStaleFiles(jail, [main, theirs, '/not/in/the/jail.js']);
  assert.deepEqual(removed, { removed: 1, kept: 0 });
  assert.ok(!existsSync(inJail(main)));
  assert.equal(readFileSync(inJail(theirs), 'utf8'), 'keep\n');
  assert.deepEqual(
    await readManifest(jail),
    listed.filter((entry) => entry.path !== main),
    'every other line stays, in order',
  );
  assert.equal(statSync(dirname(inJail(main))).mode & 0o7777, 0o555, 'our directory is read-only again');

  // Copied again: the manifest names each file once, and a cleanup leaves exactly the administrator's.
  assert.deepEqual(await installProgramCopy(jail, files), { ok: true, created: 1, reused: 1 });
  assert.equal(readFileSync(inJail(main), 'utf8'), readFileSync(main, 'utf8'));
  assert.equal(statSync(inJail(main)).mode & 0o7777, 0o444);
  assert.deepEqual(listedFiles(await readManifest(jail)), [helper, main].sort());
  assert.deepEqual(await removeProgramCopy(jail), { removed: listed.length, kept: 0 });
  assert.deepEqual(tree(jail), pathsTo(theirs), "only the administrator's file and its directories are left");
});
