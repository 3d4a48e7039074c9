/**
 * Our relay against Debian's Miredo 1.2.6 in the relay role, side by side in one run, in the
 * project's network-namespace lab (scripts/lab), plus client qualification times and the
 * peer table's figures at a million peers. Needs root. See bench/README.md for what the
 * figures mean.
 *
 *   node dist/scripts/bench-relay.js [options]      (--help lists them; USAGE below)
 *
 * The lab: server (Debian's miredo-server unless --server ours), relay (each implementation in
 * turn, `--rounds` times, bound to 198.51.100.3:3544, RelayType cone), the native IPv6 host
 * 2001:db8:1::2, and three clients directly on the WAN: "fakes" (K synthetic Teredo clients for
 * the UDP figures), "tcp" (a real client, the same implementation for both relays, for iperf3)
 * and "qual" (qualification). Namespaces are removed at the end, on errors and on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AgentHandle } from './bench-relay-agent-handle.js';
import { installCounters } from './bench-relay-counters.js';
import type { CounterNodes } from './bench-relay-counters.js';
import { benchPeerTable } from './bench-relay-peers.js';
import type { PeerTableFigures } from './bench-relay-peers.js';
import { measureQualification } from './bench-relay-qualification.js';
import { bestOfRounds, formatReport, ratio } from './bench-relay-report.js';
import type {
  QualificationFigures,
  RelayBenchReport,
  RelayFigures,
  RoundFigures,
  TcpFigures,
  UdpFigures,
} from './bench-relay-report.js';
import { runTcp } from './bench-relay-tcp.js';
import type { TcpRun } from './bench-relay-tcp.js';
import { describeTrial, establishFakeClients, measureUdp } from './bench-relay-udp.js';
import type { UdpContext } from './bench-relay-udp.js';
import {
  createLab,
  DEFAULT_TEREDO_INTERFACE,
  formatProgress,
  IPV6HOST_IPV6,
  REPO_ROOT,
  RELAY_IPV4,
  SERVER_IPV4,
} from './lab/index.js';
import type { Implementation, Lab, LabDaemon } from './lab/index.js';
import { describeMachine } from './bench-machine.js';

const USAGE = `usage: node dist/scripts/bench-relay.js [options]   (as root)
  --only debian|ours          measure one relay only (default: both)
  --server debian|ours        the lab's Teredo server (default: debian)
  --tcp-client debian|ours    the Teredo client carrying iperf3, the same for both relays (default: debian)
  --trial-seconds S           length of one UDP trial (default 1)
  --max-trials N              UDP trials per direction after the flat-out one (default 10)
  --rounds N                  measure each relay N times, alternating; keep the best (default 2)
  --tcp-seconds S             length of each iperf3 run (default 3)
  --qualification-runs N      qualifications per client implementation (default 3)
  --clients K                 synthetic Teredo clients (default 8)
  --peers N                   peers in the peer-table benchmark (default 1000000)
  --workers N                 lookup threads for the parallel run (default: CPU count)
  --ours-config LINE          an extra line for our relay's miredo.conf (repeatable)
  --no-udp --no-tcp --no-qualification --no-peers   skip a part
  --json FILE                 where to write the results (default bench/relay-results.json)
  --verbose                   print the lab's progress`;
const FAKES = 'fakes';
const TCP_CLIENT = 'tcp';
const QUALIFYING_CLIENT = 'qual';
const HOST = 'ipv6host';
const RELAY = 'relay';
const TEREDO_PORT = 3544;
const FAKE_BASE_PORT = 40_000;
const PAYLOAD_BYTES = 64;
const MAX_LOSS = 0.001;
const RETRY_LOSS = 0.02;
const DEFAULT_PEERS = 1_000_000;
const DEFAULT_CAPACITY = 1_048_576;

interface Options {
  readonly relays: readonly Implementation[];
  readonly server: Implementation;
  readonly tcpClient: Implementation;
  readonly trialSeconds: number;
  readonly maxTrials: number;
  readonly rounds: number;
  readonly tcpSeconds: number;
  readonly qualificationRuns: number;
  readonly clients: number;
  readonly peers: number;
  readonly workers: number;
  readonly oursConfig: readonly string[];
  readonly udp: boolean;
  readonly tcp: boolean;
  readonly qualification: boolean;
  readonly peerTable: boolean;
  readonly json: string;
  readonly verbose: boolean;
}

function implementation(value: string | undefined, fallback: Implementation, option: string): Implementation {
  if (value === undefined) return fallback;
  if (value !== 'debian' && value !== 'ours') throw new Error(`--${option} takes debian or ours`);
  return value;
}

function positive(value: string | undefined, fallback: number, option: string, integer: boolean): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!(number > 0) || (integer && !Number.isInteger(number))) {
    throw new Error(`--${option} must be a positive ${integer ? 'integer' : 'number'}`);
  }
  return number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      server: { type: 'string' },
      'tcp-client': { type: 'string' },
      'trial-seconds': { type: 'string' },
      'max-trials': { type: 'string' },
      rounds: { type: 'string' },
      'tcp-seconds': { type: 'string' },
      'qualification-runs': { type: 'string' },
      clients: { type: 'string' },
      peers: { type: 'string' },
      workers: { type: 'string' },
      'ours-config': { type: 'string', multiple: true },
      'no-udp': { type: 'boolean', default: false },
      'no-tcp': { type: 'boolean', default: false },
      'no-qualification': { type: 'boolean', default: false },
      'no-peers': { type: 'boolean', default: false },
      json: { type: 'string', default: join(REPO_ROOT, 'bench', 'relay-results.json') },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = values.only === undefined ? null : implementation(values.only, 'debian', 'only');
  const peers = positive(values.peers, DEFAULT_PEERS, 'peers', true);
  const options: Options = {
    relays: only === null ? ['debian', 'ours'] : [only],
    server: implementation(values.server, 'debian', 'server'),
    tcpClient: implementation(values['tcp-client'], 'debian', 'tcp-client'),
    trialSeconds: positive(values['trial-seconds'], 1, 'trial-seconds', false),
    maxTrials: positive(values['max-trials'], 10, 'max-trials', true),
    rounds: positive(values.rounds, 2, 'rounds', true),
    tcpSeconds: positive(values['tcp-seconds'], 3, 'tcp-seconds', true),
    qualificationRuns: positive(values['qualification-runs'], 3, 'qualification-runs', true),
    clients: positive(values.clients, 8, 'clients', true),
    peers,
    workers: positive(values.workers, cpus().length, 'workers', true),
    oursConfig: values['ours-config'] ?? [],
    udp: !values['no-udp'],
    tcp: !values['no-tcp'],
    qualification: !values['no-qualification'],
    peerTable: !values['no-peers'],
    json: resolve(values.json),
    verbose: values.verbose,
  };
  if (options.clients > 256) throw new Error('--clients must be at most 256');
  if (options.trialSeconds > 30) throw new Error('--trial-seconds must be at most 30');
  return options;
}

const labels = new Map<string, string>();

/** "ours", or Debian's package and version (dpkg asked once per package). */
function packageLabel(impl: Implementation, debianPackage: string, ours: string): string {
  if (impl === 'ours') return ours;
  let known = labels.get(debianPackage);
  if (known === undefined) {
    try {
      const version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', debianPackage], {
        encoding: 'utf8',
      });
      known = `Debian's ${debianPackage} ${version}`;
    } catch {
      known = `Debian's ${debianPackage}`;
    }
    labels.set(debianPackage, known);
  }
  return known;
}

function label(impl: Implementation): string {
  return packageLabel(impl, 'miredo', 'ours');
}

function serverLabel(impl: Implementation): string {
  return packageLabel(impl, 'miredo-server', 'our miredo-server');
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** Everything that must go when the run ends, however it ends. */
class Session {
  lab: Lab | null = null;
  readonly agents: AgentHandle[] = [];
  private closing: Promise<void> | null = null;

  /** Once closing (Ctrl-C), nothing new is started. */
  get stopping(): boolean {
    return this.closing !== null;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.agents.map((agent) => agent.stop()));
      await this.lab?.destroy();
    })();
    return this.closing;
  }
}

interface Measurement {
  readonly relays: RelayFigures[];
  qualification: QualificationFigures[];
}

async function measureTcp(
  lab: Lab,
  options: Options,
  relay: Implementation,
  runIndex: number,
): Promise<TcpFigures> {
  let client: Awaited<ReturnType<Lab['startClient']>> | null = null;
  const runs: { clientToHost: TcpRun | null; hostToClient: TcpRun | null } = {
    clientToHost: null,
    hostToClient: null,
  };
  try {
    // A new client per relay: the old one would keep sending to a relay that no longer knows it.
    client = await lab.startClient(TCP_CLIENT, options.tcpClient, { interfaceName: `tt${runIndex}` });
    await lab.waitQualified(client, 15_000);
    const ping = await lab.ping6(TCP_CLIENT, IPV6HOST_IPV6, { count: 3, deadlineSeconds: 15 });
    if (ping.received === 0) throw new Error('the client cannot reach the IPv6 host through the relay');
    const relayPids = await lab.namespace(RELAY).pids();
    const setup = {
      lab,
      clientNode: TCP_CLIENT,
      hostIPv6: IPV6HOST_IPV6,
      seconds: options.tcpSeconds,
      relayPids,
    };
    runs.clientToHost = await runTcp(setup, 'client-to-host');
    console.error(
      `  TCP client → host (${label(relay)}): ${runs.clientToHost.mbitPerSecond.toFixed(0)} Mbit/s`,
    );
    runs.hostToClient = await runTcp(setup, 'host-to-client');
    console.error(
      `  TCP host → client (${label(relay)}): ${runs.hostToClient.mbitPerSecond.toFixed(0)} Mbit/s`,
    );
    return { client: options.tcpClient, ...runs, error: null };
  } catch (error) {
    return { client: options.tcpClient, ...runs, error: message(error) };
  } finally {
    await client?.stop();
  }
}

async function measureRelay(
  session: Session,
  options: Options,
  udp: Omit<UdpContext, 'lab'> | null,
  impl: Implementation,
  runIndex: number,
): Promise<RoundFigures> {
  const lab = session.lab!;
  const figures: {
    udpClientToHost: UdpFigures | null;
    udpHostToClient: UdpFigures | null;
    tcp: TcpFigures | null;
  } = { udpClientToHost: null, udpHostToClient: null, tcp: null };
  let daemon: LabDaemon | null = null;
  try {
    console.error(`${label(impl)} as the relay (round ${Math.floor(runIndex / options.relays.length) + 1}):`);
    daemon = await lab.startRelay(impl, {
      bindPort: TEREDO_PORT,
      relayType: 'cone',
      ...(impl === 'ours' && options.oursConfig.length > 0 ? { extraConfig: options.oursConfig } : {}),
    });
    if (udp !== null) {
      const context: UdpContext = { ...udp, lab };
      await establishFakeClients(context);
      figures.udpClientToHost = await measureUdp(context, 'client-to-host');
      figures.udpHostToClient = await measureUdp(context, 'host-to-client');
    }
    if (options.tcp) figures.tcp = await measureTcp(lab, options, impl, runIndex);
    return { ...figures, error: null };
  } catch (error) {
    return { ...figures, error: message(error) };
  } finally {
    await daemon?.stop();
  }
}

/**
 * Our daemons send runs of equal datagrams to one destination as one UDP GSO message
 * (UDP_SEGMENT). A veth passes such a message on whole, so the fake clients' rule, which counts
 * datagrams of one exact length, would miss them, and the receivers would be spared per-datagram
 * work that a real network charges them. With tx-udp-segmentation off on these nodes' WAN
 * interfaces, the kernel splits the message when it leaves the node, like a NIC without UDP
 * segmentation offload: what goes on the wire is the same as without GSO, and the splitting is
 * charged to the sending daemon's CPU. Debian's Miredo does not use GSO: nothing changes for it.
 */
async function segmentUdpGsoInSoftware(lab: Lab, nodes: readonly string[]): Promise<void> {
  for (const node of nodes) await lab.run(node, 'ethtool', ['-K', 'wan0', 'tx-udp-segmentation', 'off']);
}

async function measureLab(session: Session, options: Options): Promise<Measurement> {
  const lab = await createLab({
    directClients: [FAKES, TCP_CLIENT, QUALIFYING_CLIENT],
    ...(options.verbose ? { onProgress: (event) => console.error(formatProgress(event)) } : {}),
  });
  session.lab = lab;
  await segmentUdpGsoInSoftware(lab, [RELAY, TCP_CLIENT]);
  await lab.startServer(options.server);
  const plan = {
    serverIPv4: SERVER_IPV4[0],
    clientIPv4: fakesIPv4(lab),
    basePort: FAKE_BASE_PORT,
    clients: options.clients,
    hostIPv6: IPV6HOST_IPV6,
    payloadBytes: PAYLOAD_BYTES,
    relayIPv4: RELAY_IPV4,
  };
  let udp: Omit<UdpContext, 'lab'> | null = null;
  if (options.udp) {
    const nodes: CounterNodes = { hostNode: HOST, clientNode: FAKES };
    await installCounters(lab, nodes, plan, RELAY_IPV4);
    const clients = await AgentHandle.start(lab, FAKES, 'client', plan);
    session.agents.push(clients);
    const host = await AgentHandle.start(lab, HOST, 'host', plan);
    session.agents.push(host);
    udp = {
      nodes,
      clients,
      host,
      relayNode: RELAY,
      relayInterface: DEFAULT_TEREDO_INTERFACE,
      trialSeconds: options.trialSeconds,
      search: { maxLoss: MAX_LOSS, maxTrials: options.maxTrials, precision: 0.02, retryLoss: RETRY_LOSS },
      onTrial: (direction, trial) => console.error(describeTrial(direction, trial)),
    };
  }
  if (options.tcp) lab.spawn(HOST, 'iperf3', ['-s'], { stdio: 'ignore' });
  const measurement: Measurement = { relays: [], qualification: [] };
  // Rounds alternate the relays, so that a busy moment of the machine does not hit only one;
  // each figure is the best of the rounds.
  const rounds = new Map<Implementation, RoundFigures[]>(options.relays.map((impl) => [impl, []]));
  let runIndex = 0;
  for (let round = 0; round < options.rounds && !session.stopping; round++) {
    for (const impl of options.relays) {
      if (session.stopping) break;
      rounds.get(impl)!.push(await measureRelay(session, options, udp, impl, runIndex++));
    }
  }
  for (const [impl, figures] of rounds) measurement.relays.push(bestOfRounds(impl, label(impl), figures));
  if (options.qualification && !session.stopping) {
    console.error(
      `client qualification against ${serverLabel(options.server)}, ${options.qualificationRuns} runs each:`,
    );
    measurement.qualification = await measureQualification({
      lab,
      node: QUALIFYING_CLIENT,
      impls: ['debian', 'ours'],
      runs: options.qualificationRuns,
      labelOf: label,
      onSample: (impl, addressMs, loggedMs) =>
        console.error(`  ${label(impl)}: address up after ${addressMs} ms (logged at ${loggedMs ?? '-'} ms)`),
    });
  }
  return measurement;
}

function fakesIPv4(lab: Lab): string {
  const node = lab.node(FAKES);
  if (node.role !== 'client') throw new Error('the fakes node is not a client');
  return node.ipv4;
}

function buildReport(
  options: Options,
  measurement: Measurement,
  peerTable: PeerTableFigures | null,
  peerTableError: string | null,
  startedAt: number,
  load: readonly number[],
): RelayBenchReport {
  const relay = (impl: Implementation): RelayFigures | undefined =>
    measurement.relays.find((figures) => figures.impl === impl);
  const debian = relay('debian');
  const ours = relay('ours');
  const ratios = {
    udpClientToHost: ratio(
      ours?.udpClientToHost?.lossFreePacketsPerSecond,
      debian?.udpClientToHost?.lossFreePacketsPerSecond,
    ),
    udpHostToClient: ratio(
      ours?.udpHostToClient?.lossFreePacketsPerSecond,
      debian?.udpHostToClient?.lossFreePacketsPerSecond,
    ),
    tcpClientToHost: ratio(ours?.tcp?.clientToHost?.mbitPerSecond, debian?.tcp?.clientToHost?.mbitPerSecond),
    tcpHostToClient: ratio(ours?.tcp?.hostToClient?.mbitPerSecond, debian?.tcp?.hostToClient?.mbitPerSecond),
  };
  const atLeast = (value: number | null, goal: number): boolean | null =>
    value === null ? null : value >= goal;
  const both = (a: boolean | null, b: boolean | null): boolean | null =>
    a === null || b === null ? null : a && b;
  const qualification = (impl: Implementation): number | null =>
    measurement.qualification.find((q) => q.impl === impl)?.medianAddressMs ?? null;
  const ourQualification = qualification('ours');
  const debianQualification = qualification('debian');
  return {
    benchmark: 'relay',
    date: new Date(startedAt).toISOString(),
    machine: describeMachine(load),
    setup: {
      server: serverLabel(options.server),
      tcpClient: label(options.tcpClient),
      relayType: 'cone',
      relayAddress: `${RELAY_IPV4}:${TEREDO_PORT}`,
      syntheticClients: options.clients,
      payloadBytes: PAYLOAD_BYTES,
      trialSeconds: options.trialSeconds,
      maxLoss: MAX_LOSS,
      tcpSeconds: options.tcpSeconds,
      rounds: options.rounds,
      oursConfig: options.oursConfig.join('; '),
      udpMethod:
        'synthetic Teredo clients without NAT (sendmmsg) and a raw IPv6 sender on the host; ' +
        'delivered packets counted by netfilter rules at the receivers; loss-free = best trial with ≤ 0.1 % loss',
    },
    relays: measurement.relays,
    ratios,
    goals: {
      udpLossFree: {
        goal: 'ours ≥ 2× Debian, both directions',
        met: both(atLeast(ratios.udpClientToHost, 2), atLeast(ratios.udpHostToClient, 2)),
      },
      tcp: {
        goal: 'ours ≥ 1.5× Debian, both directions',
        met: both(atLeast(ratios.tcpClientToHost, 1.5), atLeast(ratios.tcpHostToClient, 1.5)),
      },
      peerTableSize: {
        goal: '1,000,000 peers in ≤ 128 MB',
        met: peerTable === null || peerTable.peers < 1_000_000 ? null : peerTable.tableBytes <= 128e6,
      },
      lookupsPerWorker: {
        goal: '≥ 3,000,000 lookups/s per worker',
        met: peerTable === null ? null : peerTable.hitsOneWorker.lookupsPerSecond >= 3e6,
      },
      qualification: {
        goal: "ours ≤ Debian's, from process start to address up",
        met:
          ourQualification === null || debianQualification === null
            ? null
            : ourQualification <= debianQualification,
      },
    },
    qualification: measurement.qualification,
    peerTable,
    peerTableError,
    durationSeconds: Number(((Date.now() - startedAt) / 1000).toFixed(1)),
  };
}

async function main(options: Options): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('bench-relay needs root (network namespaces, TUN devices, raw sockets, netfilter)');
    return 2;
  }
  const startedAt = Date.now();
  const load = loadavg();
  const session = new Session();
  const interrupted = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: removing the lab's namespaces...`);
    void session.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    let measurement: Measurement = { relays: [], qualification: [] };
    if (options.udp || options.tcp || options.qualification) {
      try {
        measurement = await measureLab(session, options);
      } finally {
        await session.close();
      }
    }
    let peerTable: PeerTableFigures | null = null;
    let peerTableError: string | null = null;
    if (options.peerTable) {
      console.error(
        `peer table: ${options.peers.toLocaleString('en-US')} peers, lookups in 1 and ${options.workers} workers...`,
      );
      try {
        peerTable = await benchPeerTable({
          peers: options.peers,
          capacity: Math.max(options.peers, DEFAULT_CAPACITY),
          workers: options.workers,
          lookupSeconds: 1,
        });
      } catch (error) {
        peerTableError = message(error);
      }
    }
    const report = buildReport(options, measurement, peerTable, peerTableError, startedAt, load);
    console.log(formatReport(report));
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwritten to ${options.json}`);
    return 0;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

try {
  process.exitCode = await main(parseOptions());
} catch (error) {
  console.error(`bench-relay: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
