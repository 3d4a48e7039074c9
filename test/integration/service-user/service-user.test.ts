/**
 * Issue 17 item 4 (exposure): our server, relay and client started as the service user `miredo`
 * holding only their role's capabilities as ambient ones (setpriv, as systemd's User= with
 * AmbientCapabilities= does), not as root. Each engine (started through miredo-engine-launch)
 * holds no capability in any of its threads, has no_new_privs, runs as that user with the
 * jail as its root; a process of that uid without capabilities cannot open a bootstrap's memory;
 * and the client still qualifies and reaches the native IPv6 host through the relay.
 *
 * The daemons run from a copy of the package that every user can read (root's checkout may not
 * be: a clone into /root), and the test creates the system user `miredo` if the machine has none
 * (as scripts/install-service.sh does), removing it afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Lab, LabDaemon, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import { turnClientHookOff } from '../../support/client-hook-off.js';
import { startOneClientLab } from '../../support/one-client-lab.js';
import { lookupUser } from '../../../src/os/posix.js';
import { parseTaskPrivileges, privilegeProblem } from '../../../src/os/capabilities.js';
import { netnsSkip } from '../../support/netns.js';
import { copyForNobody } from '../../support/nobody-copy.js';
import type { NobodyCopy } from '../../support/nobody-copy.js';

const SERVICE_USER = 'miredo';

/** Creates the service user if it is missing; true when this test created it. */
function ensureServiceUser(): boolean {
  if (lookupUser(SERVICE_USER) !== null) return false;
  const made = spawnSync(
    'useradd',
    [
      '--system',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      SERVICE_USER,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(made.status, 0, `useradd ${SERVICE_USER}: ${made.stderr}`);
  return true;
}

/** The engine: the bootstrap's only child. */
function enginePidOf(daemon: LabDaemon): number {
  const children = readFileSync(`/proc/${daemon.pid}/task/${daemon.pid}/children`, 'utf8')
    .trim()
    .split(/\s+/);
  assert.equal(children.length, 1, `the bootstrap's children: ${children.join(' ')}`);
  return Number(children[0]);
}

function uidOf(status: string): number {
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

function checkEngine(daemon: LabDaemon, jail: string): void {
  const user = lookupUser(SERVICE_USER);
  assert.ok(user !== null);
  const bootstrap = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
  assert.equal(uidOf(bootstrap), user.uid, 'the bootstrap runs as the service user');
  const engine = enginePidOf(daemon);
  const tasks = readdirSync(`/proc/${engine}/task`);
  assert.ok(tasks.length > 1, 'the engine has threads');
  for (const tid of tasks) {
    const status = readFileSync(`/proc/${engine}/task/${tid}/status`, 'utf8');
    assert.equal(uidOf(status), user.uid, `thread ${tid}'s uid`);
    assert.equal(privilegeProblem(parseTaskPrivileges(status)), null, `thread ${tid}: ${status}`);
  }
  assert.equal(readlinkSync(`/proc/${engine}/root`), jail, "the engine's root is the jail");
}

describe('daemons started as the service user with ambient capabilities', { skip: netnsSkip() }, () => {
  let lab: Lab | undefined;
  let server: LabDaemon | undefined;
  let relay: LabDaemon | undefined;
  let alice: TeredoClient | undefined;
  let qualified: Qualified | undefined;
  let restoreHook = (): void => undefined;

  let copy: NobodyCopy | undefined;
  let createdUser = false;

  before(async () => {
    restoreHook = turnClientHookOff();
    createdUser = ensureServiceUser();
    copy = await copyForNobody();
    const asService = { serviceUser: SERVICE_USER, packageRoot: copy.root };
    ({ lab, server, relay, alice, qualified } = await startOneClientLab({
      server: asService,
      relay: asService,
      client: asService,
    }));
  });

  after(async () => {
    restoreHook();
    await lab?.destroy();
    await copy?.remove();
    if (createdUser) spawnSync('userdel', [SERVICE_USER]);
  });

  it('the client qualifies and the native host pings it through the relay', async (t) => {
    try {
      assert.ok(lab && qualified);
      const ping = await lab.ping6('ipv6host', qualified.address, { count: 3 });
      assert.equal(ping.received, 3, ping.transcript);
    } catch (error) {
      t.diagnostic(lab?.transcripts() ?? '');
      throw error;
    }
  });

  it("the service user's uid without capabilities cannot open the bootstrap's memory", async () => {
    assert.ok(relay);
    const user = lookupUser(SERVICE_USER);
    assert.ok(user !== null);
    // What the engine would need to take over its bootstrap (ptrace's check, PTRACE_MODE_ATTACH).
    const script = `try { require('fs').openSync('/proc/${relay.pid}/mem', 'r'); console.log('opened'); } catch (e) { console.log(e.code); }`;
    const child = spawnSync(process.execPath, ['-e', script], {
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      encoding: 'utf8',
    });
    assert.equal(child.stdout.trim(), 'EACCES', child.stderr);
  });

  it('every engine: no capability in any thread, no_new_privs, the service uid, the jail as root', () => {
    assert.ok(lab && server && relay && alice);
    for (const daemon of [server, relay, alice.daemon]) checkEngine(daemon, lab.jail);
  });
});
