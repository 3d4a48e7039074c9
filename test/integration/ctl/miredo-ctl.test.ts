/**
 * Issue 17 items 1-2 in the netns lab: OUR server, relay and client, each with its control
 * socket next to its PID file. `miredo-ctl status/peers/counters/metrics` (and --json) against
 * them, the values checked against the daemons (a ping grows the relay's counters and puts the
 * client in its peer table); the socket is root:miredo 0660; a user outside the group is refused
 * and a member served; malformed and oversized requests leave the daemon as it was.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { RELAY_IPV4, pollUntil } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import { turnClientHookOff } from '../../support/client-hook-off.js';
import { startOneClientLab } from '../../support/one-client-lab.js';
import { CONTROL_GROUP } from '../../../src/bootstrap/control-socket.js';
import { lookupGroup } from '../../../src/os/posix.js';
import { NAT_TYPES } from '../../../src/teredo/nat-type.js';
import { controlSocketPath } from '../../../src/ipc/control-protocol.js';
import type { ControlStatus, PeersReply } from '../../../src/ipc/control-protocol.js';
import { netnsSkip } from '../../support/netns.js';
import { copyForNobody } from '../../support/nobody-copy.js';
import type { NobodyCopy } from '../../support/nobody-copy.js';
import { NOBODY } from '../../support/unprivileged.js';
import { checkExposition, promtoolCheck } from '../../support/prometheus-format.js';

const CTL_BIN = fileURLToPath(new URL('../../../../bin/miredo-ctl', import.meta.url));
const IPV6_HOST = '2001:db8:1::2';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  args: readonly string[],
  ids: { uid: number; gid: number } | null = null,
  bin = CTL_BIN,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(ids === null ? {} : { uid: ids.uid, gid: ids.gid, cwd: '/' }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const pidFileOf = (daemon: LabDaemon): string => daemon.configPath.replace(/\.conf$/, '.pid');

async function ctlJson<T>(daemon: LabDaemon, ...args: string[]): Promise<T> {
  const result = await run(['-p', pidFileOf(daemon), '--json', ...args]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

/** Raw bytes to a control socket; resolves with whatever came back once the daemon closed. */
function rawRequest(path: string, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection({ path }, () => socket.end(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The daemon answers a bad header at once and closes: our write of the rest then fails.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

describe('miredo-ctl against our server, relay and client', { skip: netnsSkip() }, () => {
  let lab: Lab | undefined;
  let server: LabDaemon | undefined;
  let relay: LabDaemon | undefined;
  let alice: TeredoClient | undefined;
  let qualified: Qualified | undefined;
  let copy: NobodyCopy | undefined;
  let restoreHook = (): void => undefined;

  before(async () => {
    restoreHook = turnClientHookOff();
    ({ lab, server, relay, alice, qualified } = await startOneClientLab({
      relay: { extraConfig: ['MetricsListen 9473'] },
    }));
  });

  after(async () => {
    restoreHook();
    await lab?.destroy();
    await copy?.remove();
  });

  const fail = (t: TestContext, error: unknown): never => {
    t.diagnostic(lab?.transcripts() ?? '');
    throw error;
  };

  it("status: the client qualified, its address, server and last answer; the probe's NAT type", async (t) => {
    try {
      assert.ok(alice && qualified);
      const daemon = alice.daemon;
      // The probe runs after qualification: 'unknown' until it classifies (a second or so).
      const status = await pollUntil(
        async () => {
          const now = await ctlJson<ControlStatus>(daemon, 'status');
          return now.natType === 'unknown' ? undefined : now;
        },
        10_000,
        "alice's NAT type in miredo-ctl status",
        daemon,
      );
      assert.equal(status.role, 'client');
      assert.equal(status.interface, 'teredo');
      assert.equal(status.qualified, true);
      assert.equal(status.address, qualified.address);
      assert.equal(status.mapping, `${qualified.mappedIPv4}:${qualified.mappedPort}`);
      // Behind the lab's default cone NAT, which keeps ports.
      assert.equal(status.natType, 'cone-port-preserving');
      assert.equal(status.servers[0]?.address, '198.51.100.1');
      assert.ok((status.servers[0]?.lastAnswerSecondsAgo ?? Infinity) < 30);
      assert.ok(status.qualificationSeconds !== null && status.qualificationSeconds < 20);
      assert.ok(status.workers >= 1);
      const text = await run(['-p', pidFileOf(alice.daemon), 'status']);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^Address: +${qualified.address}$`, 'm'));
      assert.match(text.stdout, /^NAT type: +cone-port-preserving$/m);
    } catch (error) {
      fail(t, error);
    }
  });

  it('status of the relay and of the server', async () => {
    assert.ok(relay && server);
    const relayStatus = await ctlJson<ControlStatus>(relay, 'status');
    assert.equal(relayStatus.role, 'relay');
    assert.equal(relayStatus.prefix, '2001::/32');
    assert.equal(relayStatus.address, null);
    assert.ok(relayStatus.peerTable !== null && relayStatus.peerTable.capacity > 0);
    const serverStatus = await ctlJson<ControlStatus>(server, 'status');
    assert.equal(serverStatus.role, 'server');
    assert.deepEqual(
      serverStatus.servers.map((one) => one.address),
      ['198.51.100.1', '198.51.100.2'],
    );
    assert.equal(serverStatus.peerTable, null);
  });

  it("counters and peers follow traffic: a ping grows the relay's counters and lists the client", async (t) => {
    try {
      assert.ok(lab && relay && qualified);
      const before = await ctlJson<Record<string, number>>(relay, 'counters');
      const ping = await lab.ping6('ipv6host', qualified.address, { count: 3 });
      assert.equal(ping.received, 3, ping.transcript);
      const afterPing = await ctlJson<Record<string, number>>(relay, 'counters');
      assert.ok(
        (afterPing['encapsulated'] ?? 0) >= (before['encapsulated'] ?? 0) + 3,
        JSON.stringify(afterPing),
      );
      assert.ok((afterPing['decapsulated'] ?? 0) >= (before['decapsulated'] ?? 0) + 3);

      const all = await ctlJson<PeersReply>(relay, 'peers');
      assert.ok(all.peers.some((peer) => peer.address === qualified!.address && peer.mapping !== null));
      const one = await ctlJson<PeersReply>(relay, 'peers', '--filter', qualified.address);
      assert.equal(one.matched, 1);
      assert.equal(one.peers[0]?.mapping, `${qualified.mappedIPv4}:${qualified.mappedPort}`);
      assert.ok((one.peers[0]?.lastInSecondsAgo ?? Infinity) < 30);
      const none = await ctlJson<PeersReply>(relay, 'peers', '--filter', IPV6_HOST);
      assert.deepEqual(none.peers, []);
      const limited = await ctlJson<PeersReply>(relay, 'peers', '--limit', '1');
      assert.ok(limited.peers.length <= 1);
      const table = await run(['-p', pidFileOf(relay), 'peers']);
      assert.match(table.stdout, new RegExp(`^${qualified.address} `, 'm'));
    } catch (error) {
      fail(t, error);
    }
  });

  it("status: the client's native peer and the relay that carries it", async (t) => {
    try {
      assert.ok(lab && alice && qualified);
      // The native host's packets reach alice through the relay: its ping test records the relay.
      const ping = await lab.ping6('ipv6host', qualified.address, { count: 2 });
      assert.equal(ping.received, 2, ping.transcript);
      const status = await ctlJson<ControlStatus>(alice.daemon, 'status');
      const native = status.nativePeers;
      assert.ok(native !== null);
      assert.equal(native.matched, 1, JSON.stringify(native));
      assert.equal(native.peers[0]?.address, IPV6_HOST);
      assert.match(native.peers[0]?.relay ?? '', new RegExp(`^${RELAY_IPV4.replaceAll('.', '\\.')}:\\d+$`));
      const text = await run(['-p', pidFileOf(alice.daemon), 'status']);
      assert.match(
        text.stdout,
        new RegExp(`^Native peer: +${IPV6_HOST} via ${native.peers[0]?.relay}$`, 'm'),
      );
      assert.ok(relay && server);
      assert.equal((await ctlJson<ControlStatus>(relay, 'status')).nativePeers, null);
      assert.equal((await ctlJson<ControlStatus>(server, 'status')).nativePeers, null);
    } catch (error) {
      fail(t, error);
    }
  });

  it('metrics: valid exposition text for all three roles, with the values of counters', async (t) => {
    assert.ok(relay && server && alice);
    for (const daemon of [relay, server, alice.daemon]) {
      const metrics = await run(['-p', pidFileOf(daemon), 'metrics']);
      assert.equal(metrics.code, 0, metrics.stderr);
      assert.deepEqual(checkExposition(metrics.stdout), []);
      const verdict = promtoolCheck(metrics.stdout);
      if (verdict === null) t.diagnostic('promtool not installed: checked with our own checker only');
      else assert.ok(verdict.ok && verdict.output.trim() === '', verdict.output);
      assert.match(metrics.stdout, /^miredo_info\{role="(relay|server|client)"\} 1$/m);
    }
    const relayMetrics = (await run(['-p', pidFileOf(relay), 'metrics'])).stdout;
    const counters = await ctlJson<Record<string, number>>(relay, 'counters');
    assert.match(relayMetrics, /^miredo_peers \d+$/m);
    const encapsulated = Number(/^miredo_encapsulated_total (\d+)$/m.exec(relayMetrics)?.[1]);
    assert.ok(encapsulated > 0 && encapsulated <= (counters['encapsulated'] ?? 0));
    const clientMetrics = (await run(['-p', pidFileOf(alice.daemon), 'metrics'])).stdout;
    assert.match(clientMetrics, /^miredo_qualified 1$/m);
    // The status test waited for the probe: its type is the one set to 1, every other 0.
    assert.match(clientMetrics, /^miredo_nat_type\{type="cone-port-preserving"\} 1$/m);
    assert.equal(clientMetrics.match(/^miredo_nat_type\{type="[a-z-]+"\} 1$/gm)?.length, 1);
    assert.equal(clientMetrics.match(/^miredo_nat_type\{/gm)?.length, NAT_TYPES.length);
    assert.match(clientMetrics, /^miredo_server_answer_seconds_count [1-9]\d*$/m);
  });

  it('MetricsListen: the relay serves GET /metrics on its loopback, and only there', async () => {
    assert.ok(lab);
    const fetchScript = (url: string): string[] => [
      '-e',
      `fetch(${JSON.stringify(url)}).then(async (r) => process.stdout.write(r.status + '\\n' + (await r.text())), (e) => { process.stdout.write('failed ' + (e.cause?.code ?? e.message)); })`,
    ];
    const local = await lab.exec('relay', process.execPath, fetchScript('http://127.0.0.1:9473/metrics'));
    const [status, ...body] = local.stdout.split('\n');
    assert.equal(status, '200', local.stdout + local.stderr);
    const text = body.join('\n');
    assert.deepEqual(checkExposition(text), []);
    assert.match(text, /^miredo_info\{role="relay"\} 1$/m);
    // The server's node reaches the relay's WAN address (its Teredo port answers), not this port.
    const remote = await lab.exec(
      'server',
      process.execPath,
      fetchScript('http://198.51.100.3:9473/metrics'),
    );
    assert.equal(remote.stdout, 'failed ECONNREFUSED');
  });

  it('the socket is root:miredo, mode 0660; a non-member is refused (exit 4), a member served', async () => {
    assert.ok(lab && relay);
    const path = controlSocketPath(pidFileOf(relay));
    const info = statSync(path);
    assert.ok(info.isSocket());
    assert.equal(info.mode & 0o777, 0o660);
    assert.equal(info.uid, 0);
    const group = lookupGroup(CONTROL_GROUP);
    assert.equal(info.gid, group ?? 0);
    // Let nobody reach the socket (the lab directory is root's, 0700) and run a copy it can read.
    chmodSync(lab.directory, 0o711);
    copy = await copyForNobody();
    const bin = copy.at(CTL_BIN);
    const refused = await run(['-p', pidFileOf(relay), 'status'], { uid: NOBODY, gid: NOBODY }, bin);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /permission denied/);
    if (group !== null) {
      const member = await run(['-p', pidFileOf(relay), 'status'], { uid: NOBODY, gid: group }, bin);
      assert.equal(member.code, 0, member.stderr);
    }
  });

  it('malformed and oversized requests get an error or nothing, and the daemon goes on', async () => {
    assert.ok(relay);
    const path = controlSocketPath(pidFileOf(relay));
    const before = await ctlJson<ControlStatus>(relay, 'status');
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0xffff_ffff);
    const garbage = Buffer.from('GET / HTTP/1.0\r\n\r\n');
    const flood = Buffer.alloc(4 * 1024 * 1024, 0x41);
    for (const bytes of [huge, garbage, flood, Buffer.concat([huge, flood])]) {
      const answer = await rawRequest(path, bytes);
      if (answer.length > 0) assert.match(answer.subarray(4).toString('utf8'), /"kind":"error"/);
    }
    const afterwards = await ctlJson<ControlStatus>(relay, 'status');
    assert.equal(afterwards.enginePid, before.enginePid, 'same engine');
    assert.ok(afterwards.uptimeSeconds >= before.uptimeSeconds);
  });

  it('a daemon that is not running: exit 3; a bad command line: exit 2', async () => {
    assert.ok(lab);
    const absent = await run(['-p', `${lab.directory}/nothing.pid`, 'status']);
    assert.equal(absent.code, 3, absent.stderr);
    assert.match(absent.stderr, /not running/);
    const usage = await run(['frobnicate']);
    assert.equal(usage.code, 2);
  });
});
