/**
 * bin/miredo-server in a namespace lab (server-tools.ts): Router Solicitations with and without
 * authentication get the exact Router Advertisement the core builds, a cone RS is answered from
 * the secondary address, a Teredo client's echo request reaches a native IPv6 host through the
 * raw socket (and one with a forged mapping does not), SIGUSR1 and SIGTERM report the counters,
 * and a non-global server address is refused at start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJailDirectory, removeJailDirectory } from '../../../scripts/lab/jail.js';
import { LOG_LEVELS } from '../../../src/log/levels.js';
import { clientLinkLocal, encodeTeredoAddress } from '../../../src/teredo/address.js';
import { buildEcho, buildRouterAdvertisement, buildRouterSolicitation } from '../../../src/teredo/icmpv6.js';
import { WIRE_SIZE } from '../../../src/teredo/constants.js';
import { ipv4Number, ipv6Bytes } from '../../support/inet.js';
import { netnsSkip } from '../../support/netns.js';
import { pollUntil, processGone, startDaemon } from '../daemon/daemon-tools.js';
import type { DaemonRun, LogLine } from '../daemon/daemon-tools.js';
import {
  CLIENT_IPV4,
  createServerLab,
  IPV6_HOST,
  SERVER_BIN,
  SERVER_PRIMARY,
  SERVER_SECONDARY,
  snmp6,
  UdpPeer,
} from './server-tools.js';
import type { ServerLab } from './server-tools.js';

const TEREDO_PORT = 3544;
const CLIENT_PORT = 40000;
const REPLY_TIMEOUT_MS = 5000;
const NONCE = Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4);

function build(write: (out: Uint8Array) => number): Uint8Array {
  const out = new Uint8Array(2048);
  return out.slice(0, write(out));
}

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function solicitation(cone: boolean, withAuth: boolean): Uint8Array {
  const datagram = build((out) => buildRouterSolicitation(out, 0, { nonce: NONCE, cone }));
  return withAuth ? datagram : datagram.slice(WIRE_SIZE.authHeaderMin);
}

/** The RA for a solicitation from the client, as the core's builder writes it. */
function advertisement(cone: boolean, withAuth: boolean): string {
  return hexOf(
    build((out) =>
      buildRouterAdvertisement(out, 0, {
        ...(withAuth ? { nonce: NONCE } : {}),
        originPort: CLIENT_PORT,
        originIPv4: ipv4Number(CLIENT_IPV4),
        destination: clientLinkLocal(cone),
        serverIPv4: ipv4Number(SERVER_PRIMARY),
      }),
    ),
  );
}

/** An echo request from the client's Teredo address (mapped port `port`) to the IPv6 host. */
function echoRequest(port: number, sequence: number): Uint8Array {
  const source = encodeTeredoAddress({
    prefix: 0x20010000,
    server: ipv4Number(SERVER_PRIMARY),
    flags: 0x0123,
    port,
    client: ipv4Number(CLIENT_IPV4),
  });
  return build((out) =>
    buildEcho(out, 0, {
      kind: 'request',
      source,
      destination: ipv6Bytes(IPV6_HOST),
      hopLimit: 64,
      identifier: 0x5432,
      sequence,
      data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    }),
  );
}

const countersOf = (line: LogLine): Record<string, number> => {
  const counters = line['counters'];
  assert.ok(typeof counters === 'object' && counters !== null, JSON.stringify(line));
  return Object.fromEntries(Object.entries(counters).filter(([, value]) => value !== 0)) as Record<
    string,
    number
  >;
};

/** The exit status once the process has exited AND its stderr has been read to the end. */
async function finished(run: DaemonRun): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const [exit] = await Promise.all([
    run.exited,
    run.child.stderr === null || run.child.stderr.readableEnded ? undefined : once(run.child.stderr, 'end'),
  ]);
  return exit;
}

describe('miredo-server in a namespace lab', { skip: netnsSkip() }, () => {
  let lab: ServerLab | undefined;
  let daemon: DaemonRun | undefined;
  let peer: UdpPeer | undefined;
  let dir = '';
  let jail = '';
  let conf = '';
  /** What the tests below have sent, so far, as the server must count it. */
  const expected = { received: 0, 'ra-sent': 0, 'forwarded-native': 0, 'drop-mapping-mismatch': 0 };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mts-server-'));
    jail = createJailDirectory('mts-server-');
    lab = await createServerLab();
    conf = join(dir, 'miredo-server.conf');
    writeFileSync(conf, `ServerBindAddress ${SERVER_PRIMARY}\n`);
    daemon = startDaemon(
      lab.server,
      ['-f', '-c', conf, '-p', join(dir, 'server.pid'), '-u', 'nobody', '-t', jail],
      SERVER_BIN,
    );
    await daemon.engineReady(15_000);
    peer = await UdpPeer.start(lab.client, CLIENT_IPV4, CLIENT_PORT);
  });

  after(async () => {
    peer?.close();
    if (daemon !== undefined && !processGone(daemon.pid)) daemon.child.kill('SIGKILL');
    await lab?.destroy();
    rmSync(dir, { recursive: true, force: true });
    if (jail !== '') removeJailDirectory(jail);
  });

  async function exchange(
    payload: Uint8Array,
    to: string,
  ): Promise<{ from: string; port: number; hex: string }> {
    assert.ok(peer);
    peer.send(payload, to, TEREDO_PORT);
    return peer.next(REPLY_TIMEOUT_MS);
  }

  it('answers an RS with authentication with the RA the core builds, echoing the nonce', async () => {
    const reply = await exchange(solicitation(false, true), SERVER_PRIMARY);
    expected.received += 1;
    expected['ra-sent'] += 1;
    assert.deepEqual(reply, { from: SERVER_PRIMARY, port: TEREDO_PORT, hex: advertisement(false, true) });
  });

  it('answers an RS without authentication with an RA without an authentication header', async () => {
    const reply = await exchange(solicitation(false, false), SERVER_PRIMARY);
    expected.received += 1;
    expected['ra-sent'] += 1;
    assert.deepEqual(reply, { from: SERVER_PRIMARY, port: TEREDO_PORT, hex: advertisement(false, false) });
  });

  it('answers a cone RS from the other address, a restricted one from the address it reached', async () => {
    const cone = await exchange(solicitation(true, true), SERVER_PRIMARY);
    const secondary = await exchange(solicitation(false, true), SERVER_SECONDARY);
    expected.received += 2;
    expected['ra-sent'] += 2;
    // Both advertise the primary address, wherever they come from.
    assert.deepEqual(cone, { from: SERVER_SECONDARY, port: TEREDO_PORT, hex: advertisement(true, true) });
    assert.deepEqual(secondary, {
      from: SERVER_SECONDARY,
      port: TEREDO_PORT,
      hex: advertisement(false, true),
    });
  });

  it("forwards a Teredo client's echo request to the native IPv6 host, not a forged one", async () => {
    assert.ok(lab && peer);
    const ipv6host = lab.ipv6host;
    const before = await snmp6(ipv6host, 'Icmp6InEchos');
    // The forged source (another mapped port) goes first: once the valid ones have arrived, the
    // server has judged it too, as it handles one socket's datagrams in order.
    peer.send(echoRequest(CLIENT_PORT + 1, 1), SERVER_PRIMARY, TEREDO_PORT);
    for (let sequence = 2; sequence <= 4; sequence += 1) {
      peer.send(echoRequest(CLIENT_PORT, sequence), SERVER_PRIMARY, TEREDO_PORT);
    }
    expected.received += 4;
    expected['forwarded-native'] += 3;
    expected['drop-mapping-mismatch'] += 1;
    const arrived = await pollUntil(
      async () => {
        const now = await snmp6(ipv6host, 'Icmp6InEchos');
        return now >= before + 3 ? now : undefined;
      },
      REPLY_TIMEOUT_MS,
      'three echo requests at the IPv6 host',
    );
    assert.equal(arrived, before + 3);
    assert.equal(peer.unread, 0, 'nothing came back to the client');
  });

  it('logs the counters on SIGUSR1 in the engine summary', async () => {
    assert.ok(daemon);
    const from = daemon.lines.length;
    process.kill(daemon.pid, 'SIGUSR1');
    const summary = await daemon.waitForLog((line) => line['msg'] === 'Engine summary', 5000, from);
    assert.equal(summary['role'], 'server');
    assert.deepEqual(countersOf(summary), expected);
  });

  it('keeps serving when a reload brings a non-global address', async () => {
    assert.ok(daemon);
    const from = daemon.lines.length;
    writeFileSync(conf, 'ServerBindAddress 10.0.0.1\n');
    process.kill(daemon.pid, 'SIGHUP');
    const refusal = await daemon.waitForLog(
      (line) => String(line['msg']).includes('10.0.0.1 is not a global unicast address'),
      5000,
      from,
    );
    assert.equal(refusal['level'], LOG_LEVELS.error);
    await daemon.waitForLog(
      (line) => String(line['msg']).startsWith('Configuration not reloaded'),
      5000,
      from,
    );
    const reply = await exchange(solicitation(false, true), SERVER_PRIMARY);
    expected.received += 1;
    expected['ra-sent'] += 1;
    assert.deepEqual(reply, { from: SERVER_PRIMARY, port: TEREDO_PORT, hex: advertisement(false, true) });
  });

  it("logs 'Final counters' on SIGTERM and exits with status 0", async () => {
    assert.ok(daemon);
    const from = daemon.lines.length;
    process.kill(daemon.pid, 'SIGTERM');
    const final = await daemon.waitForLog((line) => line['msg'] === 'Final counters', 5000, from);
    assert.deepEqual(countersOf(final), expected);
    assert.deepEqual(await daemon.exited, { code: 0, signal: null });
  });

  it('refuses a server address that is not global unicast, naming it', async () => {
    assert.ok(lab);
    const privateConf = join(dir, 'private.conf');
    writeFileSync(privateConf, 'ServerBindAddress 10.0.0.1\n');
    const refused = startDaemon(
      lab.server,
      ['-f', '-c', privateConf, '-p', join(dir, 'private.pid'), '-u', 'nobody'],
      SERVER_BIN,
    );
    assert.deepEqual(await finished(refused), { code: 1, signal: null });
    assert.ok(
      refused.rawStderr.includes(
        `${privateConf}:1: ServerBindAddress: 10.0.0.1 is not a global unicast address: Server IPv4 addresses must be global unicast`,
      ),
      refused.rawStderr.join('\n'),
    );

    const onCommandLine = startDaemon(
      lab.server,
      ['-f', '-c', privateConf, '-p', join(dir, 'private.pid'), '-u', 'nobody', '192.168.0.1'],
      SERVER_BIN,
    );
    assert.deepEqual(await finished(onCommandLine), { code: 1, signal: null });
    assert.match(
      onCommandLine.rawStderr.join('\n'),
      /192\.168\.0\.1 is not a global unicast address: Server IPv4 addresses must be global unicast/,
    );
    assert.doesNotMatch(await lab.server.run('ss', ['-H', '-lun']), /:3544/, 'no socket was opened');
  });
});
