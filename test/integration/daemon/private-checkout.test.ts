/**
 * Issue 17, item 7: the package works from a checkout that other users cannot enter (root cloning
 * into /root, mode 700). A copy of the built package (hard links where possible) under a mode-700
 * directory, then, from there:
 * - a relay daemon starts: its engine, spawned by root, reads its program and the addon before
 *   it drops to nobody, so the location does not matter; it stops cleanly;
 * - a unit test file whose tests run as nobody passes as root with nothing skipped (the re-run
 *   as nobody works from its own readable copy, not from the checkout).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createJailDirectory, removeJailDirectory } from '../../../scripts/lab/jail.js';
import { createNetns, execCommand, netnsSkip } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import { PACKAGE_ROOT } from '../../support/nobody-copy.js';
import { DaemonRun, linkState, MIREDO_BIN, pollUntil, processGone, startDaemon } from './daemon-tools.js';

const PACKAGE_PARTS = ['package.json', 'bin', 'dist', 'build', 'node_modules'];

describe('a checkout under a directory only root can enter', { skip: netnsSkip() }, () => {
  let privateDir = '';
  let checkout = '';
  let jail = '';
  let ns: (Netns & { delete(): Promise<void> }) | undefined;
  let daemon: DaemonRun | undefined;

  before(() => {
    privateDir = mkdtempSync('/tmp/mts-private-');
    assert.equal(statSync(privateDir).mode & 0o777, 0o700);
    checkout = join(privateDir, 'miredo-ts');
    mkdirSync(checkout);
    for (const part of PACKAGE_PARTS) {
      cpSync(join(PACKAGE_ROOT, part), join(checkout, part), { recursive: true, verbatimSymlinks: true });
    }
    jail = createJailDirectory('mts-private-');
  });

  after(async () => {
    if (daemon !== undefined && !processGone(daemon.pid)) daemon.child.kill('SIGKILL');
    await ns?.delete();
    if (jail !== '') removeJailDirectory(jail);
    rmSync(privateDir, { recursive: true, force: true });
  });

  it('nobody cannot read it', async () => {
    const probe = await execCommand('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      'ls',
      checkout,
    ]);
    assert.notEqual(probe.code, 0, 'the test needs a checkout nobody cannot enter');
  });

  it('runs a relay whose engine drops to nobody, and stops it cleanly', async () => {
    ns = await createNetns();
    const conf = join(privateDir, 'relay.conf');
    const pidFile = join(privateDir, 'miredo.pid');
    writeFileSync(conf, 'RelayType cone\nInterfaceName teredo\nBindPort 3545\n');
    daemon = startDaemon(
      ns,
      ['-f', '-c', conf, '-p', pidFile, '-u', 'nobody', '-t', jail],
      join(checkout, MIREDO_BIN.slice(PACKAGE_ROOT.length)),
    );
    await daemon.engineReady(20_000);
    const netns = ns;
    await pollUntil(
      async () => ((await linkState(netns, 'teredo'))?.up === true ? true : undefined),
      10_000,
      'the relay interface to be up',
    );
    daemon.child.kill('SIGTERM');
    assert.deepEqual(await daemon.exited, { code: 0, signal: null });
    assert.equal(await linkState(ns, 'teredo'), null, 'the interface is gone');
  });

  it('runs a test file whose tests run as nobody, with nothing skipped', async () => {
    const file = join(checkout, 'dist/test/unit/engine/early-threads.test.js');
    // NODE_TEST_CONTEXT is our own runner's: the child runner must report in plain text.
    const run = await execCommand(
      'env',
      ['-u', 'NODE_TEST_CONTEXT', process.execPath, '--test', '--test-reporter=spec', file],
      120_000,
    );
    const output = `${run.stdout}${run.stderr}`;
    assert.equal(run.code, 0, output);
    assert.match(output, /run again as nobody/);
    assert.match(output, /^ℹ skipped 0$/m, output);
  });
});
