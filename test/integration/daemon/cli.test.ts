/**
 * bin/miredo's start-up checks, run as a real process: usage errors (2), configuration errors
 * naming FILE:LINE (1; bin/miredo-checkconf: 255), also for prototype names and 160,000 unknown
 * directives, refusal without root, of root as the engine user, of an unknown user and of a bad
 * jail directory (1) - all before any kernel resource is touched - and the detached start (no -f)
 * in a namespace: the foreground process exits 0 once the daemon runs, or 1 with the daemon's
 * error message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createJailDirectory, removeJailDirectory } from '../../../scripts/lab/jail.js';
import { createNetns, execCommand, isRoot, netnsSkip, rootSkip } from '../../support/netns.js';
import { copyForNobody } from '../../support/nobody-copy.js';
import type { Netns } from '../../support/netns.js';
import { NOT_ROOT_MESSAGE } from '../../../src/bootstrap/bootstrap.js';
import { ROOT_USER_REFUSAL } from '../../../src/bootstrap/user.js';
import { linkState, MIREDO_BIN, pollUntil, processGone } from './daemon-tools.js';

const RELAY_CONF = 'RelayType cone\nInterfaceName mtscli0\nBindPort 0\n';

function miredo(args: readonly string[]) {
  return execCommand(process.execPath, [MIREDO_BIN, ...args], 20_000);
}

function checkconf(args: readonly string[]) {
  return execCommand(process.execPath, [join(dirname(MIREDO_BIN), 'miredo-checkconf'), ...args], 20_000);
}

describe('miredo start-up checks', () => {
  let dir = '';
  let conf = '';
  let bad = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mts-cli-'));
    chmodSync(dir, 0o755);
    conf = join(dir, 'relay.conf');
    bad = join(dir, 'bad.conf');
    writeFileSync(conf, RELAY_CONF, { mode: 0o644 });
    writeFileSync(bad, 'RelayType cone\nInterfaceMTU 1000\nBindPort 70000\n', { mode: 0o644 });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('-h and -V print to stdout and exit 0', async () => {
    const help = await miredo(['-h']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: miredo \[OPTIONS\] \[SERVER_NAME\]/);
    const version = await miredo(['-V']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^miredo-ts: Teredo IPv6 tunneling software/);
  });

  it("usage errors exit 2 with Miredo's hint", async () => {
    for (const args of [['-x'], ['-c', 'a', '-c', 'b'], ['one', 'two']]) {
      const result = await miredo(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /Try "miredo -h \| more" for more information\.\n$/);
    }
  });

  it('configuration errors are printed with FILE:LINE and exit 1', async () => {
    const result = await miredo(['-f', '-c', bad]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^${bad}:2: InterfaceMTU: `, 'm'));
    assert.match(result.stderr, new RegExp(`^${bad}:3: BindPort: `, 'm'));
  });

  it('prototype names and 160,000 unknown directives: FILE:LINE, exit 1 (miredo) and 255 (checkconf)', async () => {
    for (const name of ['constructor', '__proto__']) {
      const path = join(dir, `${name}.conf`);
      writeFileSync(path, `RelayType ${name}\n`, { mode: 0o644 });
      const expected = `${path}:1: RelayType: "${name}" is not a relay type (expected client, autoclient, relay, cone or restricted)\n`;
      const daemon = await miredo(['-f', '-c', path]);
      assert.deepEqual([daemon.code, daemon.stderr], [1, expected]);
      const check = await checkconf([path]);
      assert.deepEqual([check.code, check.stderr], [255, `${expected}Fatal configuration error\n`]);
    }
    // About 150,000 overflowed the call stack; the error on the last line must still come out.
    const count = 160_000;
    const big = join(dir, 'big.conf');
    const unknown = Array.from({ length: count }, (_, i) => `U${i} x\n`).join('');
    writeFileSync(big, `RelayType cone\n${unknown}BindPort 70000\n`, { mode: 0o644 });
    const lastError = `${big}:${count + 2}: BindPort: "70000" is not a port number (maximum 65535)\n`;
    const daemon = await miredo(['-f', '-c', big]);
    assert.equal(daemon.code, 1);
    assert.equal(daemon.stderr.split('\n').length - 1, count + 1);
    assert.ok(daemon.stderr.endsWith(lastError), daemon.stderr.slice(-200));
    const check = await checkconf([big]);
    assert.equal(check.code, 255);
    assert.ok(check.stderr.endsWith(`${lastError}Fatal configuration error\n`), check.stderr.slice(-200));
  });

  it('refuses to run without root', async () => {
    if (!isRoot()) {
      const result = await miredo(['-f', '-c', conf]);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr, `miredo: ${NOT_ROOT_MESSAGE}\n`);
      return;
    }
    // As nobody, from a copy: root's checkout may be where nobody cannot enter.
    const copy = await copyForNobody();
    try {
      const result = await execCommand('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        copy.at(MIREDO_BIN),
        '-f',
        '-c',
        conf,
      ]);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr, `miredo: ${NOT_ROOT_MESSAGE}\n`);
    } finally {
      await copy.remove();
    }
  });

  it(
    'refuses root, unknown users and bad jail directories',
    { skip: rootSkip('needs root (to get past the root check)') },
    async () => {
      const root = await miredo(['-f', '-c', conf, '-u', 'root']);
      assert.equal(root.code, 1);
      assert.equal(root.stderr, `${ROOT_USER_REFUSAL}\n`);
      const ghost = await miredo(['-f', '-c', conf, '-u', 'no-such-user-mts']);
      assert.equal(ghost.code, 1);
      assert.equal(ghost.stderr, 'User "no-such-user-mts": User not found\n');
      const missing = await miredo(['-f', '-c', conf, '-u', 'nobody', '-t', join(dir, 'missing')]);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, `Error (${join(dir, 'missing')}): No such file or directory\n`);
      const file = await miredo(['-f', '-c', conf, '-u', 'nobody', '-t', conf]);
      assert.equal(file.code, 1);
      assert.equal(file.stderr, `Error (${conf}): Not a directory\n`);
      // Like OpenSSH's ChrootDirectory: a directory under a world-writable /tmp is no jail.
      const unsafe = await miredo(['-f', '-c', conf, '-u', 'nobody', '-t', dir]);
      assert.equal(unsafe.code, 1);
      assert.match(
        unsafe.stderr,
        /^Error \(.*\): bad ownership or modes for chroot directory component "[^"]+" \(mode 1777\)/,
      );
    },
  );
});

describe('detached start (no -f)', { skip: netnsSkip() }, () => {
  let ns: (Netns & { delete(): Promise<void> }) | undefined;
  let dir = '';
  let jail = '';
  let args: string[] = [];
  let pidFile = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mts-detach-'));
    jail = createJailDirectory('mts-detach-');
    const conf = join(dir, 'relay.conf');
    writeFileSync(conf, RELAY_CONF);
    pidFile = join(dir, 'miredo.pid');
    args = [MIREDO_BIN, '-c', conf, '-p', pidFile, '-u', 'nobody', '-t', jail];
    ns = await createNetns();
  });

  after(async () => {
    await ns?.delete();
    rmSync(dir, { recursive: true, force: true });
    if (jail !== '') removeJailDirectory(jail);
  });

  it('exits 0 once the daemon runs in its own session; a second start exits 1 with the reason', async () => {
    assert.ok(ns);
    const first = await ns.exec(process.execPath, args, 20_000);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, '');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(pid > 0 && !processGone(pid));
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(Number(fields[3]), pid, 'the daemon leads its own session');
    assert.ok(await linkState(ns, 'mtscli0'));

    const second = await ns.exec(process.execPath, args, 20_000);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      /Cannot create PID file .*\nPlease make sure another instance of the program is not already running\.\n/,
    );

    process.kill(pid, 'SIGTERM');
    await pollUntil(() => (processGone(pid) ? true : undefined), 2000, 'the daemon to exit');
    await pollUntil(
      async () => ((await linkState(ns!, 'mtscli0')) === null ? true : undefined),
      1000,
      'the interface to go',
    );
    assert.equal(existsSync(pidFile), false);
  });
});
