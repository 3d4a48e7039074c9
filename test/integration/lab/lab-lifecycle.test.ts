/**
 * The lab library itself: it builds the planned topology (addresses, routes, NAT rules, IPv4
 * and native IPv6 reachability), and destroy() removes everything - processes, namespaces,
 * files - also when called twice and when construction failed half-way.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { netnsSkip } from '../../support/netns.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createLab, JAIL_PARENT, runCommand, sweepAbandonedLabs } from '../../../scripts/lab/index.js';
import type { Lab } from '../../../scripts/lab/index.js';

async function labNamespaces(): Promise<string[]> {
  const result = await runCommand('ip', ['netns', 'list']);
  return result.stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith('mtl-'));
}

/** The labs' directories, and their jails (scripts/lab/jail.ts). */
function labDirectories(): string[] {
  const jails = existsSync(JAIL_PARENT) ? readdirSync(JAIL_PARENT).map((name) => `jail ${name}`) : [];
  return [...readdirSync(tmpdir()), ...jails].filter((name) => /^(jail )?mtl-/.test(name));
}

function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the lab library', { skip: netnsSkip() }, () => {
  it('builds the topology and removes all of it, twice over', async () => {
    const steps: string[] = [];
    let lab: Lab | undefined;
    try {
      lab = await createLab({
        nats: [{ name: 'nat1', kind: 'cone', clients: ['alice'], udpTimeoutSeconds: 90 }],
        directClients: ['eve'],
        onProgress: (event) => steps.push(event.message),
      });
      const namespaces = await labNamespaces();
      for (const node of lab.nodes.values()) {
        assert.ok(namespaces.includes(node.netns), `namespace of ${node.name}`);
        assert.ok(node.netns.startsWith(`mtl-${lab.id}-`));
      }
      assert.ok(steps.includes('topology ready'));

      assert.match(
        await lab.run('server', 'ip', ['-4', 'addr', 'show', 'dev', 'wan0']),
        /198\.51\.100\.1\/24[\s\S]*198\.51\.100\.2\/24/,
      );
      assert.match(
        await lab.run('ipv6host', 'ip', ['-6', 'route', 'show', '2001::/32']),
        /via 2001:db8:1::3/,
      );
      assert.equal((await lab.run('relay', 'sysctl', ['-n', 'net.ipv6.conf.all.forwarding'])).trim(), '1');
      assert.match(
        await lab.run('nat1', 'iptables', ['-t', 'nat', '-S', 'POSTROUTING']),
        /-o wan0 -j MASQUERADE/,
      );
      assert.match(
        await lab.run('nat1', 'iptables', ['-S', 'INPUT']),
        /-i wan0 -p udp -m conntrack --ctstate NEW -j DROP/,
      );
      assert.equal(
        (await lab.run('nat1', 'sysctl', ['-n', 'net.netfilter.nf_conntrack_udp_timeout'])).trim(),
        '90',
      );
      assert.match(await lab.run('alice', 'ip', ['route', 'show', 'default']), /via 10\.1\.0\.1/);

      // IPv4 through the NAT and directly; native IPv6 across the WAN bridge.
      for (const [from, to] of [
        ['alice', '198.51.100.1'],
        ['eve', '198.51.100.3'],
      ] as const) {
        const result = await lab.exec(from, 'ping', ['-4', '-n', '-c', '1', '-w', '5', to]);
        assert.equal(result.code, 0, `${from} → ${to}: ${result.stdout}${result.stderr}`);
      }
      const native = await lab.ping6('ipv6host', '2001:db8:1::1', { count: 2 });
      assert.equal(native.received, 2, native.transcript);
      assert.equal(native.rttsMs.length, 2);

      const sleeper = lab.spawn('alice', 'sleep', ['600'], { stdio: 'ignore' });
      const sleeperPid = sleeper.pid ?? 0;
      assert.ok(sleeperPid > 0 && alive(sleeperPid));
      const exited = new Promise((resolve) => sleeper.on('exit', resolve));
      const { directory, jail } = lab;
      assert.ok(existsSync(directory));
      assert.deepEqual(readdirSync(jail), [], 'an empty jail for our daemons');

      await Promise.all([lab.destroy(), lab.destroy()]);
      await lab.destroy();
      await exited;
      assert.equal(alive(sleeperPid), false);
      assert.deepEqual(
        (await labNamespaces()).filter((name) => name.startsWith(`mtl-${lab?.id ?? ''}-`)),
        [],
      );
      assert.equal(existsSync(directory), false);
      assert.equal(existsSync(jail), false);
    } finally {
      await lab?.destroy();
    }
  });

  it('cleans up after itself when construction fails half-way', async () => {
    const namespacesBefore = new Set(await labNamespaces());
    const directoriesBefore = new Set(labDirectories());
    // The conntrack sysctl is set after the namespaces, bridges and veths exist, and refuses NaN.
    await assert.rejects(
      createLab({
        nats: [{ name: 'nat1', kind: 'symmetric', clients: ['alice'], udpTimeoutSeconds: Number.NaN }],
      }),
      /nf_conntrack_udp_timeout/,
    );
    assert.deepEqual(
      (await labNamespaces()).filter((name) => !namespacesBefore.has(name)),
      [],
    );
    assert.deepEqual(
      labDirectories().filter((name) => !directoriesBefore.has(name)),
      [],
    );
  });

  it('removes a lab whose owner died without destroying it', { timeout: 30_000 }, async () => {
    const { id, sleeperPid } = await abandonLab();
    assert.ok((await labNamespaces()).some((name) => name.startsWith(`mtl-${id}-`)));
    assert.ok(alive(sleeperPid), 'the dead owner left its process behind');
    assert.ok(
      labDirectories().some((name) => name.startsWith(`jail mtl-${id}-`)),
      'and its jail',
    );

    assert.ok((await sweepAbandonedLabs()).includes(id));
    assert.deepEqual(
      (await labNamespaces()).filter((name) => name.startsWith(`mtl-${id}-`)),
      [],
    );
    assert.deepEqual(
      labDirectories().filter((name) => name.includes(`mtl-${id}-`)),
      [],
    );
    // SIGKILLed, so at worst a zombie for a moment until init reaps it.
    const deadline = Date.now() + 2000;
    while (alive(sleeperPid) && !isZombie(sleeperPid) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(!alive(sleeperPid) || isZombie(sleeperPid));
  });
});

/** A process creates a lab, starts a process in it and is SIGKILLed before it can clean up. */
async function abandonLab(): Promise<{ id: string; sleeperPid: number }> {
  const libraryUrl = new URL('../../../scripts/lab/index.js', import.meta.url).href;
  const owner = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { createLab } = await import(${JSON.stringify(libraryUrl)});
       const lab = await createLab({});
       const sleeper = lab.spawn('server', 'sleep', ['600'], { stdio: 'ignore' });
       process.stdout.write(lab.id + ' ' + sleeper.pid + '\\n');`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const [chunk] = (await once(owner.stdout, 'data')) as [Buffer];
    const [id, pid] = chunk.toString().trim().split(' ');
    assert.match(id ?? '', /^[0-9a-f]{6}$/);
    return { id: id ?? '', sleeperPid: Number(pid) };
  } finally {
    owner.kill('SIGKILL');
    if (owner.exitCode === null && owner.signalCode === null) await once(owner, 'exit');
  }
}
