/**
 * The other two modes start and stop cleanly in a namespace: a client leaves its tunnel down
 * and unconfigured for the engine to set up; miredo-server binds UDP 3544 on both of its
 * addresses. Both run their engine unprivileged and remove everything on SIGTERM.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJailDirectory, removeJailDirectory } from '../../../scripts/lab/jail.js';
import { createNetns, netnsSkip } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import {
  addresses6,
  linkState,
  pollUntil,
  procStatus,
  processGone,
  REPO_ROOT,
  startDaemon,
} from './daemon-tools.js';
import type { DaemonRun } from './daemon-tools.js';

async function stop(daemon: DaemonRun, enginePid: number): Promise<void> {
  process.kill(daemon.pid, 'SIGTERM');
  const exit = await Promise.race([
    daemon.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still running after 2 s')), 2000)),
  ]);
  assert.equal(exit.code, 0);
  await pollUntil(() => (processGone(enginePid) ? true : undefined), 1000, 'engine gone');
}

describe('client and server modes', { skip: netnsSkip() }, () => {
  let ns: (Netns & { delete(): Promise<void> }) | undefined;
  let dir = '';
  let jail = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mts-modes-'));
    jail = createJailDirectory('mts-modes-');
    ns = await createNetns();
    await ns.run('ip', ['link', 'add', 'pub0', 'type', 'veth', 'peer', 'name', 'pub1']);
    await ns.run('ip', ['addr', 'add', '192.0.2.1/24', 'dev', 'pub0']);
    await ns.run('ip', ['addr', 'add', '192.0.2.2/24', 'dev', 'pub0']);
    await ns.run('ip', ['link', 'set', 'pub0', 'up']);
    await ns.run('ip', ['link', 'set', 'pub1', 'up']);
  });

  after(async () => {
    await ns?.delete();
    rmSync(dir, { recursive: true, force: true });
    if (jail !== '') removeJailDirectory(jail);
  });

  it('client: the tunnel exists, down and without addresses, until the engine asks', async () => {
    assert.ok(ns);
    const conf = join(dir, 'client.conf');
    const pidFile = join(dir, 'client.pid');
    writeFileSync(conf, 'InterfaceName mtsc0\nServerAddress 198.51.100.1\nBindAddress 192.0.2.1\n');
    const daemon = startDaemon(ns, ['-f', '-c', conf, '-p', pidFile, '-u', 'nobody', '-t', jail]);
    try {
      const enginePid = await daemon.engineReady(15_000);
      const link = await linkState(ns, 'mtsc0');
      assert.ok(link);
      assert.equal(link.up, false);
      assert.deepEqual(await addresses6(ns, 'mtsc0'), []);
      assert.ok(procStatus(enginePid)?.uid.every((id) => id !== 0));
      await stop(daemon, enginePid);
      assert.equal(await linkState(ns, 'mtsc0'), null);
      assert.equal(existsSync(pidFile), false);
    } finally {
      if (!processGone(daemon.pid)) daemon.child.kill('SIGKILL');
    }
  });

  it('server: UDP 3544 on both addresses, engine unprivileged', async () => {
    assert.ok(ns);
    const conf = join(dir, 'server.conf');
    const pidFile = join(dir, 'server.pid');
    writeFileSync(conf, 'ServerBindAddress 192.0.2.1\n');
    const daemon = startDaemon(
      ns,
      ['-f', '-c', conf, '-p', pidFile, '-u', 'nobody', '-t', jail],
      `${REPO_ROOT}bin/miredo-server`,
    );
    try {
      const enginePid = await daemon.engineReady(15_000);
      const sockets = await ns.run('ss', ['-H', '-lun']);
      assert.match(sockets, /192\.0\.2\.1:3544/);
      assert.match(sockets, /192\.0\.2\.2:3544/);
      const status = procStatus(enginePid);
      assert.ok(
        status && status.uid.every((id) => id !== 0) && status.capEff === 0n && status.noNewPrivs === 1,
      );
      await stop(daemon, enginePid);
      assert.doesNotMatch(await ns.run('ss', ['-H', '-lun']), /:3544/);
      assert.equal(existsSync(pidFile), false);
    } finally {
      if (!processGone(daemon.pid)) daemon.child.kill('SIGKILL');
    }
  });
});
