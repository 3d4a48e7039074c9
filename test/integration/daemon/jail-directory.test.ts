/**
 * Issue 11, finding 6: the jail directory (-t DIR, or the default) is refused unless it and every
 * directory above it are root's and writable by no one else, as OpenSSH checks ChrootDirectory;
 * the directory itself may not be a symbolic link. On real directory trees (root is needed to
 * give a directory away), under a root-owned 0755 base in /run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createJailDirectory, removeJailDirectory } from '../../../scripts/lab/jail.js';
import { prepareChrootDir } from '../../../src/bootstrap/jail-directory.js';
import { rootSkip } from '../../support/netns.js';

const REQUIREMENT = 'it and every directory above it must be owned by root and writable by no one else';

describe(
  'the jail directory must be root-owned and not writable by others, up to /',
  { skip: rootSkip() },
  () => {
    let base = '';
    /** A directory under the base, created with `mode` (the umask does not apply). */
    const directory = (path: string, mode = 0o755): string => {
      const full = join(base, path);
      mkdirSync(full);
      chmodSync(full, mode);
      return full;
    };

    before(() => {
      base = createJailDirectory('mts-jail-dir-');
    });
    after(() => removeJailDirectory(base));

    it('accepts a root-owned 0755 directory whose ancestors are root-owned and 0755', () => {
      const jail = directory('good');
      assert.deepEqual(prepareChrootDir(jail), { ok: true, dir: jail });
    });

    it('refuses a directory under a group-writable parent, naming the parent', () => {
      directory('group-writable', 0o775);
      const jail = directory('group-writable/jail');
      assert.deepEqual(prepareChrootDir(jail), {
        ok: false,
        message: `Error (${jail}): bad ownership or modes for chroot directory component "${join(base, 'group-writable')}" (mode 0775): ${REQUIREMENT}`,
      });
    });

    it('refuses a directory writable by others, or owned by another user', () => {
      const open = directory('world-writable', 0o757);
      assert.deepEqual(prepareChrootDir(open), {
        ok: false,
        message: `Error (${open}): bad ownership or modes for chroot directory "${open}" (mode 0757): ${REQUIREMENT}`,
      });
      const theirs = directory('theirs');
      chownSync(theirs, 65534, 65534);
      assert.deepEqual(prepareChrootDir(theirs), {
        ok: false,
        message: `Error (${theirs}): bad ownership or modes for chroot directory "${theirs}" (owned by uid 65534): ${REQUIREMENT}`,
      });
    });

    it('refuses a symbolic link to a good directory; links above it are resolved to the real path', () => {
      const jail = directory('target');
      const link = join(base, 'link');
      symlinkSync(jail, link);
      assert.deepEqual(prepareChrootDir(link), { ok: false, message: `Error (${link}): Is a symbolic link` });
      const parentLink = join(base, 'parent-link');
      symlinkSync(base, parentLink);
      assert.deepEqual(prepareChrootDir(join(parentLink, 'target')), { ok: true, dir: jail });
    });

    it('refuses anything under /tmp (world-writable, sticky)', () => {
      const mode = statSync('/tmp').mode & 0o7777;
      assert.ok((mode & 0o022) !== 0, 'this machine has the usual /tmp');
      const result = prepareChrootDir('/tmp');
      assert.equal(result.ok, false);
      assert.match(
        result.ok ? '' : result.message,
        /^Error \(\/tmp\): bad ownership or modes for chroot directory "\/tmp" \(mode 1777\)/,
      );
    });

    it('creates the default 0755 when missing, and refuses it under a bad parent', () => {
      const defaultDir = join(base, 'run/miredo-ts/empty');
      assert.deepEqual(prepareChrootDir(null, defaultDir), { ok: true, dir: defaultDir });
      assert.equal(statSync(defaultDir).mode & 0o7777, 0o755);
      assert.equal(statSync(join(base, 'run/miredo-ts')).mode & 0o7777, 0o755);
      chmodSync(join(base, 'run/miredo-ts'), 0o777);
      const result = prepareChrootDir(null, defaultDir);
      assert.equal(result.ok, false);
      assert.match(
        result.ok ? '' : result.message,
        /chroot directory component ".*\/run\/miredo-ts" \(mode 0777\)/,
      );
    });
  },
);
