/**
 * A daemon killed with SIGKILL leaves its program copy in the jail; after an upgrade that copy
 * is of another version (here: its data-plane module, as an older build whose worker cannot run
 * with this engine). The next daemon started with the same -t replaces the stale files, since
 * nobody else runs in the jail, so that a worker crash is then handled in place, without an
 * engine restart, and it leaves the jail empty when it stops. A relay, one worker, fault
 * injection on.
 *
 * Each daemon runs in its own PID namespace (`unshare --pid --fork --mount-proc --kill-child`,
 * like a container): its /proc shows only its own processes, so it can tell who runs in the jail
 * whatever the host's /proc lets root read (a container's PID 1 may be unreadable, and then the
 * daemon rightly refuses; the unit tests cover that). Killing unshare kills the daemon's whole
 * PID namespace at once: bootstrap and engine die without any cleanup.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAULT_INJECTION_ENV } from '../../../src/daemon/ipc.js';
import { MANIFEST_NAME, readManifest } from '../../../src/daemon/jail-program-copy.js';
import { createNetns, netnsSkip } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import { DaemonRun, MIREDO_BIN, pollUntil, processGone } from './daemon-tools.js';
import type { LogLine } from './daemon-tools.js';

const CONF = 'RelayType cone\nInterfaceName teredo\nBindPort 3545\nDataplaneWorkers 1\n';
const STALE_DATAPLANE = "export default function dataplane() { throw new Error('an older build'); }\n";

const message =
  (pattern: RegExp) =>
  (line: LogLine): boolean =>
    pattern.test(String(line['msg']));
const COPIED = message(/^Data-plane program copied into the jail/);
const REPLACED_COPY = message(/^Replaced a stale program copy in the jail$/);
const WORKER_REPLACED = message(/^Data-plane worker 0 replaced in \d+ ms$/);
const ENGINE_READY = message(/^Engine \d+ ready$/);

/** Host pids of the processes whose root is `jail` (those we may not inspect are skipped). */
function inJail(jail: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/root`) === jail;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The host pid of `pid`'s only child (the bootstrap under unshare). */
function onlyChild(pid: number): number | undefined {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  return children.length === 1 && children[0] !== '' ? Number(children[0]) : undefined;
}

describe('a stale program copy left by a killed daemon', { skip: netnsSkip() }, () => {
  const previousSwitch = process.env[FAULT_INJECTION_ENV];
  let ns: (Netns & { delete(): Promise<void> }) | undefined;
  let dir = '';
  let jail = '';
  const daemons: DaemonRun[] = [];

  /** bin/miredo in its own PID namespace; DaemonRun's pid is unshare's. */
  const start = (): DaemonRun => {
    assert.ok(ns);
    const args = [
      '-f',
      '-c',
      join(dir, 'relay.conf'),
      '-p',
      join(dir, 'miredo.pid'),
      '-u',
      'nobody',
      '-t',
      jail,
    ];
    const unshare = [
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child',
      process.execPath,
      MIREDO_BIN,
      ...args,
    ];
    const daemon = new DaemonRun(ns.spawn('unshare', unshare, { stdio: ['ignore', 'ignore', 'pipe'] }));
    daemons.push(daemon);
    return daemon;
  };

  /** Waits for the engine and returns its host pid (the log names its pid in the namespace). */
  const engineOf = async (daemon: DaemonRun): Promise<number> => {
    await daemon.engineReady(15_000);
    const [engine, ...more] = inJail(jail);
    assert.ok(
      engine !== undefined && more.length === 0,
      `one process in the jail: ${inJail(jail).join(',')}`,
    );
    return engine;
  };

  before(async () => {
    process.env[FAULT_INJECTION_ENV] = '1';
    dir = mkdtempSync(join(tmpdir(), 'mts-stale-copy-'));
    jail = join(dir, 'jail');
    mkdirSync(jail);
    chmodSync(jail, 0o755);
    writeFileSync(join(dir, 'relay.conf'), CONF);
    ns = await createNetns();
  });

  after(async () => {
    if (previousSwitch === undefined) delete process.env[FAULT_INJECTION_ENV];
    else process.env[FAULT_INJECTION_ENV] = previousSwitch;
    for (const daemon of daemons) if (!processGone(daemon.pid)) daemon.child.kill('SIGKILL');
    await Promise.all(daemons.map((daemon) => daemon.exited));
    await ns?.delete();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is replaced by the next daemon, whose crashed worker is then replaced in place', async () => {
    // The first daemon copies the program into the jail, then dies with its engine.
    const killed = start();
    const firstEngine = await engineOf(killed);
    await killed.waitForLog(COPIED, 10_000);
    killed.child.kill('SIGKILL');
    await killed.exited;
    await pollUntil(() => (processGone(firstEngine) ? true : undefined), 5000, 'the engine to die');
    assert.ok(readdirSync(jail).includes(MANIFEST_NAME), 'the copy and its manifest stayed');
    // The upgrade: the copy's data-plane module is now another version than the program's.
    // (Its path depends on the layout, compiled modules or bundle: the manifest names it.)
    const dataplane = (await readManifest(jail)).find(
      (entry) => entry.kind === 'f' && entry.path.endsWith('/dataplane.js'),
    )?.path;
    assert.ok(dataplane !== undefined, 'the copy holds the data-plane module');
    writeFileSync(join(jail, dataplane), STALE_DATAPLANE);

    const daemon = start();
    const engine = await engineOf(daemon);
    const replaced = await daemon.waitForLog(REPLACED_COPY, 10_000);
    assert.equal(replaced['level'], 35, 'notice');
    assert.ok(Number(replaced['removed']) >= 1, JSON.stringify(replaced));
    await daemon.waitForLog(COPIED, 10_000);
    assert.deepEqual(readFileSync(join(jail, dataplane)), readFileSync(dataplane));
    assert.deepEqual(
      daemon.lines.filter(
        (line) => line['level'] === 40 && !/^Fault injection is on/.test(String(line['msg'])),
      ),
      [],
      'no warning',
    );

    process.kill(engine, 'SIGUSR2');
    await daemon.waitForLog(WORKER_REPLACED, 10_000);
    assert.equal(daemon.lines.filter(ENGINE_READY).length, 1, 'the same engine, started once');
    assert.ok(!processGone(engine));

    const bootstrap = onlyChild(daemon.pid);
    assert.ok(bootstrap !== undefined);
    process.kill(bootstrap, 'SIGTERM');
    const exit = await daemon.exited;
    assert.equal(exit.code, 0);
    assert.deepEqual(readdirSync(jail), [], 'the last daemon out left the jail empty');
  });
});
