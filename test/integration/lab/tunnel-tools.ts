/**
 * Helpers of issue 5's lab tests (our client and relay): engine counters through SIGUSR1, a
 * one-way TCP transfer checked with sha256, watching a client's address over time, and hostile
 * datagrams sent from a WAN node.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { encodeTeredoAddress, parseIPv6 } from '../../../src/teredo/address.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { parseIPv4 } from '../../../src/teredo/ipv4.js';
import { writeOriginIndication } from '../../../src/teredo/wire.js';
import { formatExit, IPV6HOST_IPV6, pollUntil } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import type { LabFixture } from './lab-test-tools.js';

export type Counters = Readonly<Record<string, number>>;

const SUMMARY_TIMEOUT_MS = 5000;

/** Our daemon's engine counters: SIGUSR1 makes it log an "Engine summary" JSON line with them. */
export async function engineCounters(daemon: LabDaemon): Promise<Counters> {
  const seen = daemon.output.length;
  daemon.child.kill('SIGUSR1');
  return pollUntil(
    async () => {
      for (const line of daemon.output.slice(seen)) {
        if (!line.text.includes('"Engine summary"')) continue;
        const parsed = JSON.parse(line.text) as { readonly counters?: Counters };
        if (parsed.counters !== undefined) return parsed.counters;
      }
      return undefined;
    },
    SUMMARY_TIMEOUT_MS,
    `${daemon.node}'s engine summary`,
    daemon,
  );
}

/** How much each counter grew from `before` to `after` (only those that did). */
export function counterGrowth(before: Counters, after: Counters): Counters {
  const growth: Record<string, number> = {};
  for (const [name, value] of Object.entries(after)) {
    const delta = value - (before[name] ?? 0);
    if (delta !== 0) growth[name] = delta;
  }
  return growth;
}

/** Packets thrown away: the sum of the counters named `prefix...` (every `drop-*` by default). */
export function dropsIn(counters: Counters, prefix = 'drop-'): number {
  return Object.entries(counters)
    .filter(([name]) => name.startsWith(prefix))
    .reduce((sum, [, value]) => sum + value, 0);
}

export function formatCounters(counters: Counters): string {
  const entries = Object.entries(counters);
  return entries.length === 0 ? '(none)' : entries.map(([name, value]) => `${name} ${value}`).join(', ');
}

/**
 * The record of our client's NAT type probe once it has classified (its `NAT type detected` or
 * `... NAT type unknown` line), waiting up to `timeoutMs`.
 */
export function natTypeLogged(daemon: LabDaemon, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  return pollUntil(
    async () => {
      for (const line of daemon.output) {
        if (!line.text.includes('NAT type')) continue;
        const record = JSON.parse(line.text) as Record<string, unknown>;
        if (typeof record['natType'] === 'string') return record;
      }
      return undefined;
    },
    timeoutMs,
    `${daemon.node}'s NAT type`,
    daemon,
  );
}

export interface TcpTransferOptions {
  readonly from: string;
  readonly to: string;
  /** The receiving node's IPv6 address the sender connects to. */
  readonly address: string;
  readonly port: number;
  readonly bytes: number;
  readonly timeoutMs?: number;
}

export interface TcpTransfer {
  readonly bytes: number;
  readonly sentSha256: string;
  readonly receivedSha256: string;
  /** From the sender's start to the receiver's end of stream. */
  readonly ms: number;
  readonly megabitsPerSecond: number;
}

/**
 * Sends `bytes` random bytes over one TCP connection (netcat-openbsd: `nc -N` sends and shuts
 * down, `nc -l` receives into sha256sum) and reports both digests and the throughput.
 */
export async function tcpTransfer(
  t: TestContext,
  lab: Lab,
  options: TcpTransferOptions,
): Promise<TcpTransfer> {
  const { from, to, address, port, bytes } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const payload = randomBytes(bytes);
  const sentSha256 = createHash('sha256').update(payload).digest('hex');
  const file = join(lab.directory, `tcp-${from}-${to}-${port}.bin`);
  await writeFile(file, payload, { mode: 0o644 });

  // Its own process group: killing it also kills nc and sha256sum. pipefail: nc's failure shows.
  const receive = 'set -o pipefail; nc -l "$1" "$2" | sha256sum';
  const receiver = lab.spawn(to, 'bash', ['-c', receive, 'bash', address, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  receiver.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  receiver.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const received = new Promise<number | null>((resolve) => {
    // 'close', not 'exit': the process may exit before its stdout (the sha256) has been read.
    receiver.once('close', (code) => resolve(code));
    receiver.once('error', () => resolve(null));
  });
  try {
    await pollUntil(
      async () => {
        const listening = await lab.exec(to, 'ss', ['-H', '-l', '-t', '-n', `sport = :${port}`]);
        return listening.stdout.trim() === '' ? undefined : true;
      },
      5000,
      `nc to listen on ${to} port ${port}`,
    );
    const started = Date.now();
    const sender = await lab.exec(
      from,
      'sh',
      ['-c', 'nc -N "$1" "$2" < "$3"', 'sh', address, String(port), file],
      timeoutMs,
    );
    if (sender.code !== 0) {
      throw new Error(`nc on ${from} → [${address}]:${port}: ${formatExit(sender)}: ${sender.stderr}`);
    }
    const deadline = new AbortController();
    const late = sleep(timeoutMs, 'late' as const, { signal: deadline.signal }).catch(() => 'late' as const);
    const code = await Promise.race([received, late]);
    deadline.abort();
    const ms = Date.now() - started;
    if (code !== 0)
      throw new Error(`receiver on ${to}: ${code === 'late' ? 'timed out' : `exit ${code}`}: ${output}`);
    const receivedSha256 = output.trim().split(/\s+/)[0] ?? '';
    const transfer = { bytes, sentSha256, receivedSha256, ms, megabitsPerSecond: (bytes * 8) / 1000 / ms };
    t.diagnostic(
      `TCP ${from} → ${to}: ${bytes} bytes in ${ms} ms (${transfer.megabitsPerSecond.toFixed(1)} Mbit/s), ` +
        `sha256 ${receivedSha256 === sentSha256 ? 'identical' : `differs (sent ${sentSha256}, got ${receivedSha256})`}`,
    );
    return transfer;
  } finally {
    if (receiver.exitCode === null && receiver.pid !== undefined) {
      try {
        process.kill(-receiver.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

/** A `tcpTransfer` in the fixture's lab (its story told on failure) that must arrive byte-identical. */
export async function tcpArrivesIdentical(
  t: TestContext,
  fixture: LabFixture,
  options: TcpTransferOptions,
): Promise<TcpTransfer> {
  const transfer = await fixture.explain((lab) => tcpTransfer(t, lab, options));
  assert.equal(transfer.receivedSha256, transfer.sentSha256);
  return transfer;
}

/** `bytes` of TCP from `client` to the IPv6 host (port 5001) must arrive byte-identical. */
export function tcpToIPv6Host(
  t: TestContext,
  fixture: LabFixture,
  client: string,
  bytes: number,
): Promise<TcpTransfer> {
  return tcpArrivesIdentical(t, fixture, {
    from: client,
    to: 'ipv6host',
    address: IPV6HOST_IPV6,
    port: 5001,
    bytes,
  });
}

/** `bytes` of TCP from the IPv6 host to `client` (port 5002) must arrive byte-identical. */
export function tcpFromIPv6Host(
  t: TestContext,
  fixture: LabFixture,
  client: string,
  bytes: number,
): Promise<TcpTransfer> {
  const address = fixture.address(client);
  return tcpArrivesIdentical(t, fixture, { from: 'ipv6host', to: client, address, port: 5002, bytes });
}

export interface AddressTimeline {
  /** Every address seen, in order of first appearance. */
  readonly distinct: readonly string[];
  /** Samples without any Teredo address on the interface. */
  readonly gaps: number;
  readonly samples: number;
  /** When the address changed, in ms since the watch started, and to what. */
  readonly changes: readonly { readonly atMs: number; readonly address: string | null }[];
  /** Set when the watch could not finish (the daemon exited, say). */
  readonly error: string | null;
}

/**
 * Samples a client's Teredo address every `everyMs` for `durationMs`. Never rejects (a watch
 * runs in the background while other tests go on): a failure is reported in `error`.
 */
export async function watchAddress(
  client: TeredoClient,
  durationMs: number,
  everyMs: number,
): Promise<AddressTimeline> {
  const started = Date.now();
  const distinct: string[] = [];
  const changes: { atMs: number; address: string | null }[] = [];
  let previous: string | null | undefined;
  let gaps = 0;
  let samples = 0;
  try {
    for (;;) {
      if (client.daemon.status !== null)
        throw new Error(`${client.node} exited (${formatExit(client.daemon.status)})`);
      const address = (await client.currentAddress())?.address ?? null;
      samples += 1;
      if (address === null) gaps += 1;
      else if (!distinct.includes(address)) distinct.push(address);
      if (address !== previous) changes.push({ atMs: Date.now() - started, address });
      previous = address;
      const left = durationMs - (Date.now() - started);
      if (left <= 0) break;
      await sleep(Math.min(everyMs, left));
    }
    return { distinct, gaps, samples, changes, error: null };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { distinct, gaps, samples, changes, error: message };
  }
}

export function formatTimeline(name: string, timeline: AddressTimeline): string {
  const changes = timeline.changes
    .map((change) => `+${(change.atMs / 1000).toFixed(1)} s ${change.address ?? '(none)'}`)
    .join('; ');
  return `${name}: ${timeline.distinct.length} address(es) in ${timeline.samples} samples, ${timeline.gaps} without: ${changes}`;
}

/**
 * What a daemon must do with a hostile datagram: count it as malformed (`drop-rx-malformed`,
 * reference 4.3: not a whole Teredo payload), drop it for some reason (any `drop-rx-*` counter:
 * refused by the rules of reference 4.8, or random bytes that may look like either), or anything,
 * something legitimate included (a client queues a packet from a native source behind a ping test).
 */
export type HostileExpectation = 'malformed' | 'dropped' | 'any';

export interface HostileDatagram {
  readonly label: string;
  readonly bytes: Uint8Array;
  readonly expect: HostileExpectation;
}

function ipv6(text: string): Uint8Array {
  const bytes = parseIPv6(text);
  if (bytes === null) throw new Error(`not an IPv6 address: ${text}`);
  return bytes;
}

function ipv4(text: string): number {
  const value = parseIPv4(text);
  if (value === null) throw new Error(`not an IPv4 address: ${text}`);
  return value;
}

/** A Teredo address naming `server` and the mapping `mappedIPv4:port` (flags 0). */
function teredoAddress(server: string, mappedIPv4: string, port: number): Uint8Array {
  const fields = {
    prefix: TEREDO_CONSTANTS.prefix,
    server: ipv4(server),
    flags: 0,
    port,
    client: ipv4(mappedIPv4),
  };
  return encodeTeredoAddress(fields);
}

/** An IPv6 header (next header 59, "no next header") followed by `payload`. */
function ipv6Packet(
  source: Uint8Array,
  destination: Uint8Array,
  payload: Uint8Array,
  payloadLength?: number,
): Uint8Array {
  const packet = new Uint8Array(40 + payload.length);
  packet[0] = 0x60;
  const length = payloadLength ?? payload.length;
  packet[4] = length >>> 8;
  packet[5] = length & 0xff;
  packet[6] = 59;
  packet[7] = 64;
  packet.set(source, 8);
  packet.set(destination, 24);
  packet.set(payload, 40);
  return packet;
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Authentication header: 00 01, ID-len, AU-len, (ID, auth value), nonce 8, confirmation. */
function authHeader(idLength: number, authLength: number, body: number): Uint8Array {
  return concat(Uint8Array.of(0x00, 0x01, idLength, authLength), new Uint8Array(body).fill(0xa5));
}

/** A mapping that is not the sender's: forged Teredo sources and origin indications. */
const FORGED_IPV4 = '203.0.113.7';
const FORGED_PORT = 4000;

function originIndication(mappedIPv4: string, port: number): Uint8Array {
  const out = new Uint8Array(8);
  writeOriginIndication(out, 0, port, ipv4(mappedIPv4));
  return out;
}

export interface HostileContext {
  /** The Teredo address of the target (a client's own, or any for the relay). */
  readonly target: string;
  /** The lab's Teredo server (embedded in forged Teredo sources). */
  readonly server: string;
  /** Random inputs: how many, and the seed that makes them the same every run. */
  readonly randomCount: number;
  readonly seed: number;
}

/**
 * Malformed and forged Teredo datagrams (reference 4.3 and 4.8): random bytes, truncated and
 * over-long headers, authentication and origin headers that lie, packets no peer may send.
 */
export function hostileDatagrams(context: HostileContext): readonly HostileDatagram[] {
  const target = ipv6(context.target);
  const forged = teredoAddress(context.server, FORGED_IPV4, FORGED_PORT);
  const bubble = (source: Uint8Array, destination = target) =>
    ipv6Packet(source, destination, new Uint8Array(0));
  const data = new Uint8Array(64).fill(0x42);
  const random = fc.sample(fc.uint8Array({ minLength: 2, maxLength: 1400 }), {
    seed: context.seed,
    numRuns: context.randomCount,
  });
  const [largest = new Uint8Array(0)] = fc.sample(fc.uint8Array({ minLength: 65_507, maxLength: 65_507 }), {
    seed: context.seed,
    numRuns: 1,
  });
  const one = (
    label: string,
    bytes: Uint8Array,
    expect: HostileExpectation = 'malformed',
  ): HostileDatagram => ({
    label,
    bytes,
    expect,
  });
  return [
    ...random.map((bytes, index) => one(`random ${index} (${bytes.length} bytes)`, bytes, 'dropped')),
    one('65507 random bytes (the largest UDP payload)', largest, 'dropped'),
    one('one byte', Uint8Array.of(0x60)),
    one('IPv6 header cut at 39 bytes', ipv6Packet(forged, target, data).subarray(0, 39)),
    one('IPv6 payload length 65535 in a 104-byte datagram', ipv6Packet(forged, target, data, 0xffff)),
    one('IPv6 payload length one past the end', ipv6Packet(forged, target, data, data.length + 1)),
    one(
      'IP version 4 in the IPv6 header',
      Uint8Array.from(ipv6Packet(forged, target, data), (b, i) => (i === 0 ? 0x40 : b)),
    ),
    one('authentication header cut at 12 bytes', authHeader(0, 0, 8)),
    one('authentication header with ID and auth lengths 255 in 30 bytes', authHeader(255, 255, 26)),
    one('authentication header alone', authHeader(0, 0, 9)),
    one(
      'authentication header then a cut IPv6 header',
      concat(authHeader(0, 0, 9), bubble(forged).subarray(0, 20)),
    ),
    one('origin indication cut at 4 bytes', originIndication(FORGED_IPV4, FORGED_PORT).subarray(0, 4)),
    one('origin indication alone', originIndication(FORGED_IPV4, FORGED_PORT)),
    one(
      'origin indication before the authentication header',
      concat(originIndication(FORGED_IPV4, FORGED_PORT), authHeader(0, 0, 9), bubble(forged)),
    ),
    one(
      'authentication and origin headers and a forged RA-like packet from a non-server',
      concat(
        authHeader(0, 0, 9),
        originIndication(FORGED_IPV4, FORGED_PORT),
        ipv6Packet(ipv6('fe80::8000:f227:39cc:9bfe'), ipv6('fe80::ffff:ffff:ffff'), data),
      ),
      'dropped',
    ),
    one(
      'origin indication and a bubble from a non-server',
      concat(originIndication(FORGED_IPV4, FORGED_PORT), bubble(forged)),
      'dropped',
    ),
    one('bubble from a Teredo source whose mapping is not the sender', bubble(forged), 'dropped'),
    one(
      'data from a Teredo source whose mapping is not the sender',
      ipv6Packet(forged, target, data),
      'dropped',
    ),
    one('data from a link-local source', ipv6Packet(ipv6('fe80::1'), target, data), 'dropped'),
    one('data to a multicast destination', ipv6Packet(forged, ipv6('ff02::1'), data), 'dropped'),
    one('data from a native IPv6 source', ipv6Packet(ipv6('2001:db8:99::1'), target, data), 'any'),
    // Reference 4.3 drops datagrams shorter than 2 bytes; our data plane takes a zero-length read
    // for "longer than the slot" and skips it uncounted, so only udp-received shows it.
    one('empty datagram', new Uint8Array(0), 'any'),
  ];
}

/**
 * Node one-liner run inside the sender's namespace: sends the datagrams of a JSON file, one per
 * millisecond or so, so that the target's socket buffer does not overflow (the counters must see
 * them all: a kernel drop proves nothing about the daemon).
 */
const SEND_DATAGRAMS = `
const [file, host, port] = process.argv.slice(1);
const socket = require('node:dgram').createSocket('udp4');
const list = JSON.parse(require('node:fs').readFileSync(file, 'utf8'));
let sent = 0;
const next = () => {
  if (sent === list.length) { socket.close(); process.stdout.write(String(sent)); return; }
  socket.send(Buffer.from(list[sent], 'base64'), Number(port), host, (error) => {
    if (error) { process.stderr.write(error.message); process.exit(1); }
    sent += 1;
    setTimeout(next, 1);
  });
};
next();
`;

/** Sends the datagrams from `fromNode` to host:port; resolves with how many left. */
export async function sendDatagrams(
  lab: Lab,
  fromNode: string,
  host: string,
  port: number,
  datagrams: readonly HostileDatagram[],
): Promise<number> {
  const file = join(lab.directory, `hostile-${fromNode}-${host}-${port}.json`);
  const encoded = datagrams.map((datagram) => Buffer.from(datagram.bytes).toString('base64'));
  await writeFile(file, JSON.stringify(encoded), { mode: 0o644 });
  const output = await lab.run(
    fromNode,
    process.execPath,
    ['-e', SEND_DATAGRAMS, file, host, String(port)],
    30_000,
  );
  return Number(output);
}

/** UDP datagrams the kernel of `node` dropped for a full socket buffer (/proc/net/snmp RcvbufErrors). */
export async function udpReceiveBufferErrors(lab: Lab, node: string): Promise<number> {
  const snmp = await lab.run(node, 'cat', ['/proc/net/snmp']);
  const [names, values] = snmp.split('\n').filter((line) => line.startsWith('Udp:'));
  const column = names?.split(/\s+/).indexOf('RcvbufErrors') ?? -1;
  return Number(values?.split(/\s+/)[column] ?? Number.NaN);
}

/** The UDP port `node` listens on at `ipv4` (a relay binds a random one unless BindPort says). */
export async function udpPortOf(lab: Lab, node: string, ipv4: string): Promise<number> {
  const sockets = await lab.run(node, 'ss', ['-H', '-u', '-l', '-n']);
  const ports = new Set(
    sockets
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[3] ?? '')
      .filter((local) => local.startsWith(`${ipv4}:`))
      .map((local) => Number(local.slice(ipv4.length + 1))),
  );
  const [port] = ports;
  if (ports.size !== 1 || port === undefined)
    throw new Error(`${node} listens on UDP ${ipv4} ports ${[...ports].join(', ')}:\n${sockets}`);
  return port;
}

const ENGINE_READY = /"msg":"Engine \d+ ready"/;

/**
 * Our daemon's start-up apart from its qualification proper: a Node daemon takes seconds to
 * load and drop privileges on a busy machine, which `Qualified.elapsedMs` includes.
 */
export function describeStartup(client: TeredoClient, qualified: Qualified): string {
  const ready = client.daemon.output.find((line) => ENGINE_READY.test(line.text));
  if (ready === undefined) return `${client.node}: qualified ${qualified.elapsedMs} ms after start`;
  return `${client.node}: engine ready ${ready.atMs} ms after start, qualified ${qualified.elapsedMs - ready.atMs} ms later`;
}
