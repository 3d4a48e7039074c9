/**
 * Issue 17, items 4 and 5: the units under a real systemd. `npm run test:systemd` (root; not part
 * of `npm test`: see README for its time).
 *
 * A minimal Debian root built by mmdebstrap from Debian's packages (cached under
 * /var/cache/miredo-ts-test/), used read-only below an overlay, so every run starts clean:
 * 1. installs the package as a user would: `npm pack` of this checkout, then, inside the root
 *    (systemd-nspawn without boot, the host's network, the host's node and npm bound in),
 *    `npm install -g` of the tarball (the addon is built there), then
 *    scripts/install-service.sh (the miredo user, the units, the sample configurations);
 * 2. boots it (systemd-nspawn -b, its own network namespace with only loopback) and, inside,
 *    runs miredo-server.service (two documentation addresses on lo), then miredo.service as a
 *    relay and as a client of that server: each starts, works (the server's sockets, the relay's
 *    interface and route, the client's qualified 2001:0::/32 address), `systemctl reload`
 *    re-reads the file, and `systemctl stop` ends it with status 0, interface and PID file gone;
 * 3. install-service.sh --remove takes everything back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execCommand } from '../support/netns.js';
import { PACKAGE_ROOT } from '../support/nobody-copy.js';
import {
  CACHE,
  Container,
  IMAGE,
  PACKAGE_DIR,
  PREFIX,
  ensureImage,
  hostNode,
  missingTools,
  must,
} from './container.js';

const SERVER_CONF = 'ServerBindAddress 192.0.2.1\nServerBindAddress2 192.0.2.2\n';
const relayConf = (mtu: number): string =>
  `RelayType cone\nInterfaceName teredo\nInterfaceMTU ${mtu}\nBindPort 3545\n`;
const CLIENT_CONF =
  'RelayType client\nServerAddress 192.0.2.1\nBindAddress 203.0.113.10\nInterfaceName teredo\n';

describe('the units under systemd, installed from the npm package', { skip: missingTools() }, () => {
  let work = '';
  let merged = '';
  let container: Container | undefined;
  const timings: string[] = [];

  const writeConf = (name: string, text: string): void =>
    writeFileSync(join(merged, 'etc/miredo', name), text);
  const unitResult = async (unit: string): Promise<Record<string, string>> => {
    const text = await container!.must(
      `systemctl show -p ActiveState -p Result -p ExecMainStatus -p MainPID ${unit}`,
    );
    return Object.fromEntries(
      text
        .trim()
        .split('\n')
        .map((line) => line.split('=', 2) as [string, string]),
    );
  };
  const journal = (unit: string): Promise<string> => container!.must(`journalctl -q -o cat -u ${unit}`);
  /**
   * The unit's bootstrap runs as miredo; its engine (the bootstrap's child) too, with every
   * capability set of every thread empty and no_new_privs (SECURITY.md, "Starting without root").
   */
  const checkPrivileges = async (unit: string): Promise<void> => {
    const main = `$(systemctl show -p MainPID --value ${unit})`;
    assert.match(await container!.must(`ps -o user= -p ${main}`), /^miredo$/m);
    const engine = `$(ps -o pid= --ppid ${main} | tr -d ' ')`;
    const lines = await container!.must(
      `grep -h -E '^(Uid|CapInh|CapPrm|CapEff|CapAmb|NoNewPrivs):' /proc/${engine}/task/*/status`,
    );
    const threads = lines.split('\n').filter((line) => line.startsWith('CapEff:')).length;
    assert.ok(threads > 1, lines);
    for (const line of lines.split('\n').filter((one) => one.startsWith('Cap')))
      assert.match(line, /:\s+0{16}$/, `${unit}'s engine: ${line}`);
    for (const line of lines.split('\n').filter((one) => one.startsWith('NoNewPrivs')))
      assert.match(line, /:\s+1$/, `${unit}'s engine: ${line}`);
  };

  const start = async (unit: string): Promise<void> => {
    const result = await container!.run(`systemctl start ${unit}`, 90_000);
    if (result.code !== 0) {
      const log = (await container!.run(`journalctl -q -o cat -u ${unit} | tail -n 40`)).stdout;
      throw new Error(`systemctl start ${unit}: exit ${result.code}\n${log}`);
    }
  };
  const stopCleanly = async (unit: string, runtimeDir: string): Promise<void> => {
    await container!.must(`systemctl stop ${unit}`);
    const result = await unitResult(unit);
    assert.equal(result['ActiveState'], 'inactive', JSON.stringify(result));
    assert.equal(result['Result'], 'success', await journal(unit));
    assert.equal(result['ExecMainStatus'], '0');
    assert.notEqual(
      (await container!.run(`test -e /run/${runtimeDir}`)).code,
      0,
      `/run/${runtimeDir} is left`,
    );
    assert.match(await journal(unit), /"msg":"Terminated with no error\."/);
  };

  before(async () => {
    const started = Date.now();
    const built = await ensureImage();
    if (built > 0) timings.push(`root built in ${(built / 1000).toFixed(0)} s`);
    work = mkdtempSync('/tmp/mts-systemd-');
    for (const dir of ['upper', 'work', 'merged', 'pkg']) mkdirSync(join(work, dir));
    merged = join(work, 'merged');
    await must('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${IMAGE},upperdir=${work}/upper,workdir=${work}/work`,
      merged,
    ]);
    await must(
      'npm',
      ['pack', '--ignore-scripts', '--loglevel=error', '--pack-destination', join(work, 'pkg'), PACKAGE_ROOT],
      120_000,
    );
    const tarball = readdirSync(join(work, 'pkg')).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball);
    const { node, npm, nodedir } = hostNode();
    const npmCache = join(CACHE, 'npm');
    mkdirSync(npmCache, { recursive: true });
    container = new Container(merged, [
      `--bind-ro=${node}:/usr/local/bin/node`,
      `--bind-ro=${npm}:/opt/npm`,
      `--bind-ro=${join(nodedir, 'include/node')}:/usr/include/node`,
      `--bind-ro=${join(work, 'pkg')}:/pkg`,
      '--bind-ro=/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/host-ca.crt',
      `--bind=${npmCache}:/npmcache`,
    ]);
    const installStarted = Date.now();
    await container.install(
      `node /opt/npm/bin/npm-cli.js install -g --prefix ${PREFIX} /pkg/${tarball}\n` +
        `sh ${PACKAGE_DIR}/scripts/install-service.sh`,
      {
        npm_config_nodedir: '/usr',
        npm_config_cache: '/npmcache',
        npm_config_cafile: '/etc/ssl/certs/host-ca.crt',
        npm_config_loglevel: 'error',
        npm_config_progress: 'false',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
        npm_config_update_notifier: 'false',
      },
    );
    timings.push(`npm install -g in ${((Date.now() - installStarted) / 1000).toFixed(0)} s`);
    const bootStarted = Date.now();
    await container.boot();
    timings.push(`boot in ${((Date.now() - bootStarted) / 1000).toFixed(1)} s`);
    await container.must(
      'ip link set lo up && for a in 192.0.2.1 192.0.2.2 203.0.113.10; do ip addr add $a/32 dev lo; done',
    );
    timings.push(`ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });

  after(async () => {
    await container?.stop();
    if (merged !== '') await execCommand('umount', [merged]);
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('installed working commands, the man pages, the units and the miredo user', async () => {
    assert.ok(container);
    assert.match(await container.must('miredo -V'), /miredo-ts/);
    await container.must('miredo-checkconf --server /dev/null; test $? -eq 255');
    assert.match(await container.must(`ls ${PACKAGE_DIR}/build/Release`), /miredo_native\.node/);
    for (const page of [
      'man8/miredo.8',
      'man8/miredo-server.8',
      'man8/miredo-checkconf.8',
      'man5/miredo.conf.5',
      'man5/miredo-server.conf.5',
    ]) {
      await container.must(`test -e ${PREFIX}/share/man/${page}`);
    }
    assert.match(await container.must('getent passwd miredo'), /^miredo:x:\d+:\d+:.*:\/usr\/sbin\/nologin$/m);
    await container.must('systemctl cat miredo.service miredo-server.service >/dev/null');
  });

  it('miredo-server.service starts, binds both addresses, reloads and stops', async () => {
    assert.ok(container);
    writeConf('miredo-server.conf', SERVER_CONF);
    await start('miredo-server.service');
    await container.until('the server to listen', async () => {
      const sockets = (await container!.run('ss -Hnlu')).stdout;
      return sockets.includes('192.0.2.1:3544') && sockets.includes('192.0.2.2:3544');
    });
    assert.equal((await unitResult('miredo-server.service'))['ActiveState'], 'active');
    // The bootstrap opens the sockets before it spawns the engine, which drops to miredo.
    await container.until('the engine to run as miredo', async () => {
      const users = await container!.run(
        'ps -o user= --ppid $(systemctl show -p MainPID --value miredo-server.service)',
      );
      return /^miredo$/m.test(users.stdout);
    });
    await checkPrivileges('miredo-server.service');
    await container.must('systemctl reload miredo-server.service');
    await container.until('the reload to be logged', async () =>
      /Reloading configuration/.test(await journal('miredo-server.service')),
    );
  });

  it('miredo.service as a relay: interface and route, reload applies a new MTU, stop removes everything', async () => {
    assert.ok(container);
    writeConf('miredo.conf', relayConf(1280));
    await start('miredo.service');
    await container.until('the relay interface', async () =>
      (await container!.run('ip -6 route show dev teredo')).stdout.includes('2001::/32'),
    );
    writeConf('miredo.conf', relayConf(1400));
    await container.must('systemctl reload miredo.service');
    await container.until('the new MTU', async () =>
      / mtu 1400 /.test((await container!.run('ip link show teredo')).stdout),
    );
    await stopCleanly('miredo.service', 'miredo-ts');
    assert.notEqual((await container.run('ip link show teredo')).code, 0, 'the interface is gone');
  });

  it('miredo.service as a client qualifies with the server, reloads and stops', async () => {
    assert.ok(container);
    await container.must(
      'journalctl --rotate >/dev/null 2>&1; journalctl --vacuum-time=1s >/dev/null 2>&1 || true',
    );
    writeConf('miredo.conf', CLIENT_CONF);
    const started = Date.now();
    await start('miredo.service');
    await container.until('a Teredo address', async () =>
      /inet6 2001:0:c000:201:/.test((await container!.run('ip -6 addr show dev teredo')).stdout),
    );
    timings.push(`client qualified ${Date.now() - started} ms after systemctl start`);
    await checkPrivileges('miredo.service');
    await container.must('systemctl reload miredo.service');
    await container.until('the reload to be logged', async () =>
      /Reloading configuration/.test(await journal('miredo.service')),
    );
    await stopCleanly('miredo.service', 'miredo-ts');
    assert.notEqual((await container.run('ip link show teredo')).code, 0, 'the interface is gone');
  });

  it('miredo-server.service stops cleanly', async () => {
    await stopCleanly('miredo-server.service', 'miredo-ts-server');
  });

  it('install-service.sh --remove takes back the units, the user and the untouched sample', async () => {
    assert.ok(container);
    await container.must(`sh ${PACKAGE_DIR}/scripts/install-service.sh --remove`);
    assert.notEqual((await container.run('getent passwd miredo')).code, 0);
    assert.notEqual((await container.run('test -e /etc/systemd/system/miredo.service')).code, 0);
    // Both configurations were rewritten by this test, so both are kept.
    await container.must('test -e /etc/miredo/miredo.conf');
  });

  it('reports its timings', (t) => {
    t.diagnostic(timings.join('; '));
  });
});
