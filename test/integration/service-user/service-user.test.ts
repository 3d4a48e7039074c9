/**
 * Issue 17 item 4 (exposure): our server, relay and client started as the service user `miredo`
 * holding only their role's capabilities as ambient ones (setpriv, as systemd's User= with
 * AmbientCapabilities= does), not as root. Each engine (started through miredo-engine-launch)
 * holds no capability in any of its threads, has no_new_privs, runs as that user with the
 * jail as its root; a process of that uid without capabilities cannot open a bootstrap's memory;
 * and the client still qualifies and reaches the native IPv6 host through the relay.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLab } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import { CLIENT_HOOK_ENV } from '../../../src/bootstrap/client-hook.js';
import { lookupUser } from '../../../src/os/posix.js';
import { parseTaskPrivileges, privilegeProblem } from '../../../src/os/capabilities.js';
import { netnsSkip } from '../../support/netns.js';

const SERVICE_USER = 'miredo';
const MIREDO_BIN = fileURLToPath(new URL('../../../../bin/miredo', import.meta.url));

function skipReason(): string | false {
  const netns = netnsSkip();
  if (netns !== false) return netns;
  const user = lookupUser(SERVICE_USER);
  if (user === null) return `no user ${SERVICE_USER}`;
  // The daemons run from this checkout as that user (root's checkouts are read by root only).
  const readable = spawnSync('test', ['-r', MIREDO_BIN], { uid: user.uid, gid: user.gid, cwd: '/' });
  return readable.status === 0 ? false : `${SERVICE_USER} cannot read ${MIREDO_BIN} (a private checkout)`;
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

describe('daemons started as the service user with ambient capabilities', { skip: skipReason() }, () => {
  let lab: Lab | undefined;
  let server: LabDaemon | undefined;
  let relay: LabDaemon | undefined;
  let alice: TeredoClient | undefined;
  let qualified: Qualified | undefined;
  const savedHook = process.env[CLIENT_HOOK_ENV];

  before(async () => {
    process.env[CLIENT_HOOK_ENV] = '/nonexistent/miredo-ts-client-hook';
    lab = await createLab({ nats: [{ name: 'nat1', kind: 'cone', clients: ['alice'] }] });
    server = await lab.startServer('ours', { serviceUser: SERVICE_USER });
    relay = await lab.startRelay('ours', { serviceUser: SERVICE_USER });
    alice = await lab.startClient('alice', 'ours', { serviceUser: SERVICE_USER });
    qualified = await lab.waitQualified(alice, 20_000);
  });

  after(async () => {
    if (savedHook === undefined) delete process.env[CLIENT_HOOK_ENV];
    else process.env[CLIENT_HOOK_ENV] = savedHook;
    await lab?.destroy();
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
