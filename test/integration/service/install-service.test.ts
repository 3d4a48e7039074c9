/**
 * Issue 17, item 5: what the npm package carries (npm pack's file list), and
 * scripts/install-service.sh in a temporary root directory: it creates the `miredo` system user,
 * installs both units (commands rewritten to the given bin directory) and the sample
 * configurations, is idempotent, and --remove takes back what it created, keeping an edited
 * configuration.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execCommand, rootSkip } from '../../support/netns.js';
import { PACKAGE_ROOT } from '../../support/nobody-copy.js';

const SCRIPT = join(PACKAGE_ROOT, 'scripts/install-service.sh');
const BINDIR = '/opt/miredo-ts-test/bin';

describe('npm pack', () => {
  it('carries the commands, the bundles, the addon sources, the units, the man pages and the install script', async () => {
    const run = await execCommand(
      'npm',
      ['pack', '--dry-run', '--json', '--ignore-scripts', PACKAGE_ROOT],
      60_000,
    );
    assert.equal(run.code, 0, run.stderr);
    const [listing] = JSON.parse(run.stdout) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set((listing?.files ?? []).map((f) => f.path));
    for (const file of [
      'bin/miredo',
      'bin/miredo-server',
      'bin/miredo-checkconf',
      'bin/miredo-ctl',
      'dist/bundle/cli/miredo-ctl.js',
      'man/miredo-ctl.8',
      'binding.gyp',
      'src/os/native/addon.cc',
      'dist/bundle/cli/miredo.js',
      'dist/bundle/engine/main.js',
      'dist/bundle/dataplane/main.cjs',
      'systemd/miredo.service',
      'systemd/miredo-server.service',
      'man/miredo.8',
      'man/miredo.conf.5',
      'examples/miredo.conf',
      'scripts/install-service.sh',
    ]) {
      assert.ok(files.has(file), `the package lacks ${file}`);
    }
    assert.ok(![...files].some((f) => f.startsWith('build/')), 'the addon is built on install, not shipped');
    assert.ok(![...files].some((f) => f.startsWith('dist/test/')), 'no compiled tests');
  });
});

describe('scripts/install-service.sh in a temporary root', { skip: rootSkip('needs root (useradd)') }, () => {
  let root = '';
  const inRoot = (path: string): string => join(root, path);
  const install = (...args: string[]) =>
    execCommand('sh', [SCRIPT, '--root', root, '--bindir', BINDIR, ...args]);

  before(() => {
    root = mkdtempSync('/tmp/mts-install-');
    mkdirSync(inRoot('etc'));
    writeFileSync(
      inRoot('etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n',
    );
    writeFileSync(inRoot('etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    writeFileSync(inRoot('etc/shadow'), 'root:*:20000:0:99999:7:::\nnobody:*:20000:0:99999:7:::\n', {
      mode: 0o640,
    });
    writeFileSync(inRoot('etc/gshadow'), 'root:*::\nnogroup:*::\n', { mode: 0o640 });
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates the system user, installs the units and the sample configurations', async () => {
    const run = await install();
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    const entry = readFileSync(inRoot('etc/passwd'), 'utf8')
      .split('\n')
      .find((line) => line.startsWith('miredo:'));
    assert.ok(entry, 'no miredo user');
    const [, , uid, , , home, shell] = entry.split(':');
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, `a system uid, not ${uid}`);
    assert.equal(home, '/nonexistent');
    assert.equal(shell, '/usr/sbin/nologin');
    for (const unit of ['miredo.service', 'miredo-server.service']) {
      const installed = readFileSync(inRoot(`etc/systemd/system/${unit}`), 'utf8');
      const shipped = readFileSync(join(PACKAGE_ROOT, 'systemd', unit), 'utf8');
      assert.equal(installed, shipped.replaceAll('/usr/local/bin/', `${BINDIR}/`));
      assert.match(installed, new RegExp(`^ExecStart=${BINDIR}/`, 'm'));
    }
    for (const conf of ['miredo.conf', 'miredo-server.conf']) {
      assert.equal(
        readFileSync(inRoot(`etc/miredo/${conf}`), 'utf8'),
        readFileSync(join(PACKAGE_ROOT, 'examples', conf), 'utf8'),
      );
    }
  });

  it('is idempotent: the user is not added twice, an existing configuration is kept', async () => {
    writeFileSync(inRoot('etc/miredo/miredo.conf'), 'RelayType cone\n');
    const run = await install();
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /user miredo exists/);
    const users = readFileSync(inRoot('etc/passwd'), 'utf8').match(/^miredo:/gm) ?? [];
    assert.equal(users.length, 1);
    assert.equal(readFileSync(inRoot('etc/miredo/miredo.conf'), 'utf8'), 'RelayType cone\n');
  });

  it('--remove deletes the units, the user and the untouched sample, and keeps the edited one', async () => {
    const run = await install('--remove');
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    assert.ok(!existsSync(inRoot('etc/systemd/system/miredo.service')));
    assert.ok(!existsSync(inRoot('etc/systemd/system/miredo-server.service')));
    assert.doesNotMatch(readFileSync(inRoot('etc/passwd'), 'utf8'), /^miredo:/m);
    assert.ok(!existsSync(inRoot('etc/miredo/miredo-server.conf')), 'the untouched sample is removed');
    assert.equal(readFileSync(inRoot('etc/miredo/miredo.conf'), 'utf8'), 'RelayType cone\n');
    assert.match(run.stdout, /kept .*miredo\.conf: edited since it was installed/);
    assert.ok(!existsSync(inRoot('var/lib/miredo-ts')));
  });
});
