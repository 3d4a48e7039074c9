/**
 * Issue #3 acceptance, in a throw-away network namespace: a relay started with
 * `bin/miredo -f -c relay.conf -p PIDFILE -u nobody -t JAIL` builds its static tunnel, runs its
 * engine unprivileged in the jail, reloads on HUP (or refuses a broken file), survives the
 * engine's death, keeps a second instance out, and cleans up on SIGTERM.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJailDirectory, removeJailDirectory } from '../../../scripts/lab/jail.js';
import { createNetns, netnsSkip } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import {
  addresses6,
  DaemonRun,
  linkState,
  MIREDO_BIN,
  pollUntil,
  procRoot,
  procStatus,
  processGone,
  routes6,
  startDaemon,
} from './daemon-tools.js';

let IFNAME = 'teredo';
const LINK_LOCAL = 'fe80::ffff:ffff:ffff/64';
const PREFIX_ROUTE = '2001::/32 metric 1024';

function relayConf(mtu: number | string, extra = ''): string {
  return `RelayType cone\nInterfaceName ${IFNAME}\nInterfaceMTU ${mtu}\nBindPort 3545\n${extra}`;
}

describe('relay daemon lifecycle', { skip: netnsSkip() }, () => {
  let ns: (Netns & { delete(): Promise<void> }) | undefined;
  let dir = '';
  let conf = '';
  let pidFile = '';
  let jail = '';
  let daemon: DaemonRun | undefined;
  let enginePid = 0;
  const args = (): string[] => ['-f', '-c', conf, '-p', pidFile, '-u', 'nobody', '-t', jail];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mts-daemon-'));
    conf = join(dir, 'relay.conf');
    pidFile = join(dir, 'miredo.pid');
    jail = createJailDirectory('mts-daemon-');
    writeFileSync(conf, relayConf(1400));
    ns = await createNetns();
    daemon = startDaemon(ns, args());
    enginePid = await daemon.engineReady(15_000);
  });

  after(async () => {
    if (daemon !== undefined && !processGone(daemon.pid)) daemon.child.kill('SIGKILL');
    await ns?.delete();
    rmSync(dir, { recursive: true, force: true });
    if (jail !== '') removeJailDirectory(jail);
  });

  it('creates the interface with the MTU, the link-local address and the 2001::/32 route', async () => {
    assert.ok(ns);
    const link = await linkState(ns, IFNAME);
    assert.ok(link, 'interface exists');
    assert.equal(link.mtu, 1400);
    assert.equal(link.up, true);
    assert.ok((await addresses6(ns, IFNAME)).includes(LINK_LOCAL));
    assert.ok((await routes6(ns, IFNAME)).includes(PREFIX_ROUTE), (await routes6(ns, IFNAME)).join(', '));
  });

  it('writes the bootstrap pid (a root process) to the pid file', () => {
    assert.ok(daemon);
    assert.equal(readFileSync(pidFile, 'utf8'), String(daemon.pid));
    assert.deepEqual(procStatus(daemon.pid)?.uid, [0, 0, 0, 0]);
  });

  it('runs the engine unprivileged, without capabilities, with no-new-privs, in the jail', () => {
    const status = procStatus(enginePid);
    assert.ok(status, 'engine process exists');
    assert.ok(
      status.uid.every((id) => id !== 0),
      `Uid ${status.uid.join(' ')}`,
    );
    assert.ok(
      status.gid.every((id) => id !== 0),
      `Gid ${status.gid.join(' ')}`,
    );
    assert.equal(status.capEff, 0n);
    assert.equal(status.capPrm, 0n);
    assert.equal(status.noNewPrivs, 1);
    assert.equal(procRoot(enginePid), jail);
  });

  it('applies a new InterfaceMTU on HUP within a second, without a new bootstrap or engine', async () => {
    assert.ok(ns && daemon);
    const marker = daemon.lines.length;
    writeFileSync(conf, relayConf(1500));
    const sentAt = Date.now();
    process.kill(daemon.pid, 'SIGHUP');
    await pollUntil(
      async () => ((await linkState(ns!, IFNAME))?.mtu === 1500 ? true : undefined),
      1000,
      'MTU 1500',
    );
    assert.ok(Date.now() - sentAt <= 1000);
    await daemon.waitForLog((l) => l['msg'] === 'Reloading configuration on signal 1 (Hangup)', 1000, marker);
    assert.equal(readFileSync(pidFile, 'utf8'), String(daemon.pid));
    assert.ok(!processGone(daemon.pid));
    assert.ok(!processGone(enginePid), 'the engine was not restarted for an MTU change');
  });

  it('keeps everything unchanged on HUP with a broken file, and logs FILE:LINE', async () => {
    assert.ok(ns && daemon);
    const marker = daemon.lines.length;
    const before = {
      link: await linkState(ns, IFNAME),
      addresses: await addresses6(ns, IFNAME),
      routes: await routes6(ns, IFNAME),
    };
    writeFileSync(conf, relayConf('abc'));
    process.kill(daemon.pid, 'SIGHUP');
    const error = await daemon.waitForLog(
      (l) => String(l['msg']).startsWith(`${conf}:3: InterfaceMTU`),
      2000,
      marker,
    );
    assert.equal(error['level'], 50);
    await daemon.waitForLog((l) => /^Configuration not reloaded/.test(String(l['msg'])), 2000, marker);
    assert.deepEqual(
      {
        link: await linkState(ns, IFNAME),
        addresses: await addresses6(ns, IFNAME),
        routes: await routes6(ns, IFNAME),
      },
      before,
    );
    assert.ok(!processGone(daemon.pid));
    assert.ok(!processGone(enginePid));
    writeFileSync(conf, relayConf(1500));
  });

  it("refuses a second instance with the same pid file (exit 1, Miredo's message)", async () => {
    assert.ok(ns && daemon);
    const second = await ns.exec(process.execPath, [MIREDO_BIN, ...args()], 15_000);
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`Cannot create PID file ${pidFile}: `));
    assert.match(second.stderr, /Please make sure another instance of the program is not already running\./);
    assert.equal(readFileSync(pidFile, 'utf8'), String(daemon.pid));
    assert.equal((await linkState(ns, IFNAME))?.mtu, 1500);
  });

  it('logs a state summary on SIGUSR1 and ignores SIGUSR2, killing nothing', async () => {
    assert.ok(daemon);
    const marker = daemon.lines.length;
    process.kill(daemon.pid, 'SIGUSR1');
    const state = await daemon.waitForLog((l) => l['msg'] === 'State summary', 2000, marker);
    assert.equal(state['engine'], enginePid);
    assert.equal(state['interface'], IFNAME);
    const summary = await daemon.waitForLog((l) => l['msg'] === 'Engine summary', 2000, marker);
    assert.equal(summary['pid'], enginePid);
    assert.notEqual(summary['uid'], 0);
    process.kill(daemon.pid, 'SIGUSR2');
    await daemon.waitForLog((l) => l['msg'] === 'Ignoring signal 12 (User defined signal 2)', 2000, marker);
    assert.ok(!processGone(daemon.pid));
    assert.ok(!processGone(enginePid));
  });

  it('restarts the engine with the new prefix route on HUP with a new Prefix', async () => {
    assert.ok(ns && daemon);
    let marker = daemon.lines.length;
    writeFileSync(conf, relayConf(1500, 'Prefix 3ffe:831f::\n'));
    process.kill(daemon.pid, 'SIGHUP');
    // The engine's tunnel core classifies packets by prefix, so a new prefix means a new engine.
    const next = await daemon.engineReady(5000, marker);
    assert.notEqual(next, enginePid);
    assert.ok((await routes6(ns, IFNAME)).includes('3ffe:831f::/32 metric 1024'));
    assert.ok(!(await routes6(ns, IFNAME)).includes(PREFIX_ROUTE));
    await pollUntil(() => (processGone(enginePid) ? true : undefined), 2000, 'the old engine gone');
    enginePid = next;
    marker = daemon.lines.length;
    writeFileSync(conf, relayConf(1500));
    process.kill(daemon.pid, 'SIGHUP');
    enginePid = await daemon.engineReady(5000, marker);
    assert.ok((await routes6(ns, IFNAME)).includes(PREFIX_ROUTE));
    assert.ok(!(await routes6(ns, IFNAME)).includes('3ffe:831f::/32 metric 1024'));
  });

  it('restarts the engine with a new interface when InterfaceName changes on HUP', async () => {
    assert.ok(ns && daemon);
    const marker = daemon.lines.length;
    const oldName = IFNAME;
    IFNAME = 'teredo2';
    writeFileSync(conf, relayConf(1500));
    process.kill(daemon.pid, 'SIGHUP');
    const next = await daemon.engineReady(5000, marker);
    assert.notEqual(next, enginePid);
    assert.equal(await linkState(ns, oldName), null);
    assert.equal((await linkState(ns, IFNAME))?.mtu, 1500);
    assert.ok((await addresses6(ns, IFNAME)).includes(LINK_LOCAL));
    assert.ok((await routes6(ns, IFNAME)).includes(PREFIX_ROUTE));
    assert.equal(readFileSync(pidFile, 'utf8'), String(daemon.pid));
    await pollUntil(() => (processGone(enginePid) ? true : undefined), 2000, 'the old engine gone');
    enginePid = next;
  });

  it('restarts a SIGKILLed engine within 2 s, with the interface intact', async () => {
    assert.ok(ns && daemon);
    const before = {
      link: await linkState(ns, IFNAME),
      addresses: await addresses6(ns, IFNAME),
      routes: await routes6(ns, IFNAME),
    };
    const marker = daemon.lines.length;
    const killedAt = Date.now();
    process.kill(enginePid, 'SIGKILL');
    const next = await daemon.engineReady(2000, marker);
    assert.ok(Date.now() - killedAt <= 2000);
    assert.notEqual(next, enginePid);
    await daemon.waitForLog(
      (l) => l['msg'] === `Child ${enginePid} killed by signal 9 (Killed)`,
      100,
      marker,
    );
    assert.deepEqual(
      {
        link: await linkState(ns, IFNAME),
        addresses: await addresses6(ns, IFNAME),
        routes: await routes6(ns, IFNAME),
      },
      before,
    );
    enginePid = next;
    const status = procStatus(enginePid);
    assert.ok(status && status.uid.every((id) => id !== 0) && status.noNewPrivs === 1);
  });

  it('on SIGTERM, stops everything within 2 s and removes the interface and the pid file', async () => {
    assert.ok(ns && daemon);
    const sentAt = Date.now();
    process.kill(daemon.pid, 'SIGTERM');
    const exit = await Promise.race([
      daemon.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('bootstrap still running after 2 s')), 2000),
      ),
    ]);
    assert.equal(exit.code, 0);
    await pollUntil(
      () => (processGone(enginePid) ? true : undefined),
      Math.max(0, 2000 - (Date.now() - sentAt)),
      'engine gone',
    );
    assert.ok(Date.now() - sentAt <= 2000);
    assert.equal(await linkState(ns, IFNAME), null);
    assert.equal(existsSync(pidFile), false);
    assert.deepEqual(await ns.pids(), []);
    assert.ok(daemon.lines.some((l) => l['msg'] === 'Exiting on signal 15 (Terminated)'));
    assert.ok(daemon.lines.some((l) => l['msg'] === 'Terminated with no error.'));
  });
});
