/**
 * Issue 5 acceptance in the netns lab (scripts/lab): OUR client (`bin/miredo`) behind cone NATs
 * and a symmetric one, and OUR relay (`RelayType cone`), with Debian's miredo-server as the
 * Teredo server. Clients
 * qualify and configure their interface through the helper, reach a native IPv6 host through the
 * relay both ways (the host first, too), each other directly, and carry TCP byte-identical; the
 * bulk goes through the data-plane workers' fast path.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLab } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import { turnClientHookOff } from '../../support/client-hook-off.js';
import { netnsSkip } from '../../support/netns.js';

const IPV6_HOST = '2001:db8:1::2';
const TCP_PORT = 5001;
const TCP_BYTES = 4 * 1024 * 1024;
const TCP_ECHO = fileURLToPath(new URL('./tcp-echo.js', import.meta.url));

type Counters = Readonly<Record<string, number>>;

/** Asks a daemon of ours for its engine's counters (SIGUSR1 → "Engine summary" log line). */
async function engineCounters(daemon: LabDaemon): Promise<Counters> {
  const before = daemon.output.length;
  daemon.child.kill('SIGUSR1');
  const deadline = Date.now() + 5000;
  for (;;) {
    for (const line of daemon.output.slice(before)) {
      if (!line.text.includes('"Engine summary"')) continue;
      const parsed = JSON.parse(line.text) as { counters?: Counters };
      if (parsed.counters !== undefined) return parsed.counters;
    }
    if (Date.now() > deadline) throw new Error(`no engine summary from ${daemon.node}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('our client and relay, Debian server', { skip: netnsSkip() }, () => {
  let lab: Lab | undefined;
  let relay: LabDaemon | undefined;
  let alice: TeredoClient | undefined;
  let bob: TeredoClient | undefined;
  let aliceAddress: Qualified | undefined;
  let bobAddress: Qualified | undefined;
  let restoreHook = (): void => undefined;

  before(async () => {
    restoreHook = turnClientHookOff();
    lab = await createLab({
      nats: [
        { name: 'nat1', kind: 'cone', clients: ['alice'] },
        { name: 'nat2', kind: 'cone', clients: ['bob'] },
        { name: 'nat3', kind: 'symmetric', clients: ['carol'] },
      ],
    });
    await lab.startServer('debian');
    relay = await lab.startRelay('ours');
    alice = await lab.startClient('alice', 'ours');
    bob = await lab.startClient('bob', 'ours');
    aliceAddress = await lab.waitQualified(alice, 20_000);
    bobAddress = await lab.waitQualified(bob, 20_000);
  });

  after(async () => {
    restoreHook();
    await lab?.destroy();
  });

  const fail = (t: TestContext, error: unknown): never => {
    t.diagnostic(lab?.transcripts() ?? '');
    throw error;
  };

  it('qualifies behind the NAT and configures address, link-local, MTU and default route', async (t) => {
    assert.ok(lab && alice && aliceAddress);
    t.diagnostic(`alice qualified in ${aliceAddress.elapsedMs} ms as ${aliceAddress.address}`);
    assert.equal(aliceAddress.server, '198.51.100.1');
    assert.equal(aliceAddress.mappedIPv4, '198.51.100.10', 'the NAT WAN address');
    assert.equal(aliceAddress.cone, false);
    const addresses = JSON.parse(
      await lab.run('alice', 'ip', ['-j', '-6', 'addr', 'show', 'dev', 'teredo']),
    ) as Array<{
      mtu: number;
      flags: string[];
      addr_info: Array<{ local: string; prefixlen: number }>;
    }>;
    const [link] = addresses;
    assert.ok(link);
    assert.equal(link.mtu, 1280);
    assert.ok(link.flags.includes('UP'));
    const configured = link.addr_info.map((info) => `${info.local}/${info.prefixlen}`);
    assert.ok(configured.includes(`${aliceAddress.address}/32`), configured.join(' '));
    assert.ok(configured.includes('fe80::ffff:ffff:ffff/64'), configured.join(' '));
    const routes = await lab.run('alice', 'ip', ['-6', 'route', 'show', 'default', 'dev', 'teredo']);
    assert.match(routes, /default .*metric 1029/);
    const logged = alice.daemon.output.some((line) => line.text.includes('"New Teredo address/MTU"'));
    assert.ok(logged, 'New Teredo address/MTU logged');
  });

  it('the client pings the IPv6 host through the relay, and the host pings back', async (t) => {
    assert.ok(lab && aliceAddress);
    try {
      const out = await lab.ping6('alice', IPV6_HOST, { count: 3 });
      t.diagnostic(`alice → host RTTs ${out.rttsMs.join(', ')} ms`);
      assert.ok(out.received >= 2, `${out.received}/3 replies`);
      const back = await lab.ping6('ipv6host', aliceAddress.address, { count: 3 });
      t.diagnostic(`host → alice RTTs ${back.rttsMs.join(', ')} ms`);
      assert.equal(back.received, 3);
    } catch (error) {
      fail(t, error);
    }
  });

  it('the IPv6 host reaches a client that never spoke to the relay', async (t) => {
    assert.ok(lab && bobAddress);
    try {
      const out = await lab.ping6('ipv6host', bobAddress.address, { count: 3 });
      t.diagnostic(`host → bob RTTs ${out.rttsMs.join(', ')} ms`);
      assert.ok(out.received >= 2, `${out.received}/3 replies`);
    } catch (error) {
      fail(t, error);
    }
  });

  it('a client behind a symmetric NAT qualifies and reaches the IPv6 host both ways', async (t) => {
    assert.ok(lab);
    try {
      const carol = await lab.startClient('carol', 'ours');
      const qualified = await lab.waitQualified(carol, 20_000);
      assert.equal(qualified.mappedIPv4, '198.51.100.12');
      const out = await lab.ping6('carol', IPV6_HOST, { count: 3 });
      assert.ok(out.received >= 2, `${out.received}/3 replies`);
      const back = await lab.ping6('ipv6host', qualified.address, { count: 3 });
      t.diagnostic(`carol ↔ host RTTs ${out.rttsMs.join(', ')} / ${back.rttsMs.join(', ')} ms`);
      assert.equal(back.received, 3);
    } catch (error) {
      fail(t, error);
    }
  });

  it('two clients behind cone NATs reach each other directly', async (t) => {
    assert.ok(lab && bobAddress);
    try {
      const out = await lab.ping6('alice', bobAddress.address, { count: 3 });
      t.diagnostic(`alice → bob RTTs ${out.rttsMs.join(', ')} ms`);
      assert.ok(out.received >= 2, `${out.received}/3 replies`);
    } catch (error) {
      fail(t, error);
    }
  });

  it('carries 4 MB of TCP each way byte-identical, mostly on the workers fast path', async (t) => {
    assert.ok(lab && relay && alice);
    const server = lab.spawn('ipv6host', process.execPath, [TCP_ECHO, 'serve', IPV6_HOST, String(TCP_PORT)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout?.once('data', () => resolve());
        server.once('exit', (code) => reject(new Error(`echo server exited ${code}`)));
      });
      const before = await engineCounters(alice.daemon);
      const result = await lab.exec(
        'alice',
        process.execPath,
        [TCP_ECHO, 'send', IPV6_HOST, String(TCP_PORT), String(TCP_BYTES)],
        60_000,
      );
      assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
      const report = JSON.parse(result.stdout) as { bytes: number; identical: boolean; ms: number };
      t.diagnostic(`TCP ${report.bytes} bytes echoed in ${report.ms} ms`);
      assert.equal(report.identical, true);
      const after = await engineCounters(alice.daemon);
      const moved = (name: string): number => (after[name] ?? 0) - (before[name] ?? 0);
      t.diagnostic(
        `alice: encapsulated ${moved('encapsulated')}, decapsulated ${moved('decapsulated')}, slow path ${moved('slow-path')}`,
      );
      // 4 MB in ~1220-byte segments: thousands of packets each way, nearly all in the workers.
      assert.ok(moved('encapsulated') > 3000);
      assert.ok(moved('decapsulated') > 3000);
      assert.ok(moved('slow-path') < moved('encapsulated') / 10);
      const relayCounters = await engineCounters(relay);
      assert.ok((relayCounters['decapsulated'] ?? 0) > 3000);
    } catch (error) {
      fail(t, error);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('on SIGTERM the client removes its address and the interface goes', async () => {
    assert.ok(lab && bob);
    const exit = await bob.stop(5000);
    assert.equal(exit.code, 0);
    const link = await lab.exec('bob', 'ip', ['link', 'show', 'dev', 'teredo']);
    assert.notEqual(link.code, 0, 'the TUN interface is gone');
    assert.ok(bob.daemon.output.some((line) => line.text.includes('"Teredo pseudo-tunnel stopped"')));
  });
});
