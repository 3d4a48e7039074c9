/**
 * Router Solicitation → Router Advertisement transactions per second: our Teredo server
 * against Debian's miredo-server, side by side, same generator, same topology, one run.
 *
 *   node dist/scripts/bench-server.js [--seconds N] [--warmup N] [--pool N] [--batch N]
 *                                     [--ra-sink ifb|flooder] [--json FILE]
 *                                     [--no-default-limit] [--only debian|ours]
 *
 * Root: builds the flood lab (scripts/flood/topology.ts: flooder → server ← client namespaces)
 * and removes it afterwards, also on Ctrl-C and on errors. For each server in turn: start it,
 * wait until it answers a real client's RS, send spoofed RS (random sources in 203.0.113.0/24
 * and 192.0.2.0/24, random ports, auth + nonce, batched sendmmsg on a raw socket) for a short
 * warm-up and then for `--seconds`, and count the RAs. Where they are counted (`--ra-sink`):
 *   ifb (default): the server namespace routes the spoofed sources into an ifb device that
 *     frees them in its transmit function, so the server's CPU pays only for its own work;
 *   flooder: the RAs go back over the veth and an iptables rule in the flooder counts them;
 *     the veth's delivery into the flooder namespace then runs on the server's CPU too.
 * Runs:
 *   1. Debian's /usr/sbin/miredo-server (no rate limiting exists there);
 *   2. ours with `RSRateLimit 0`: no per-source limit, the fair comparison;
 *   3. ours with its default configuration, for information (skip with --no-default-limit):
 *      RSRateLimit 50 per source IPv4, burst 100, so the 508 spoofed sources get at most
 *      about 25,000 RAs/s between them once their bursts are spent.
 * Other load on the machine skews the rates (the generator and the server each want a core):
 * the server's CPU time (all its processes and threads) is reported too, user and system
 * apart, with the machine's CPU time by kind over the same window.
 * Prints a table and writes the numbers as JSON (default bench/server-results.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  cpuTimesBetween,
  cpuTimesByPid,
  machineCpuTimes,
  machineCpuTimesBetween,
  processTree,
} from './flood/proc-stat.js';
import type { MachineCpuTimes } from './flood/proc-stat.js';
import { REPO_ROOT, startServer, vmRssBytes } from './flood/servers.js';
import type { RunningServer, ServerImpl } from './flood/servers.js';
import { createFloodTopology, FLOOD_ADDRESSES, RA_SINKS } from './flood/topology.js';
import type { FloodTopology, RaSink } from './flood/topology.js';
import type { FloodResult } from './flood/flood-sender.js';
import { floodResult, startFlood, steadyValue } from './flood/tools.js';
import type { ToolRun } from './flood/tool-events.js';
import { describeMachine } from './bench-machine.js';

const GOAL_RATIO = 2;
/** Answering this share of the RS sent means the server kept up with the generator. */
const GENERATOR_LIMITED_FRACTION = 0.99;
const SERVER = FLOOD_ADDRESSES.serverPrimary;

const RA_SINK_DESCRIPTIONS: Readonly<Record<RaSink, string>> = {
  ifb:
    'RAs routed into an ifb device in the server namespace (freed in its transmit function) ' +
    'and counted as its RX packets: the server CPU pays only for the server',
  flooder:
    'RAs delivered over the veth into the flooder namespace and counted by an iptables rule there: ' +
    "that delivery's softirq work is charged to the server's CPU too",
};

interface Options {
  readonly seconds: number;
  readonly warmup: number;
  readonly pool: number;
  readonly batch: number;
  readonly json: string;
  readonly raSink: RaSink;
  readonly defaultLimit: boolean;
  /** Measure only these servers ('debian', 'ours'); both by default. */
  readonly only: ServerImpl | null;
}

interface Contender {
  readonly id: string;
  readonly label: string;
  readonly impl: ServerImpl;
  readonly rsRateLimit?: number;
}

interface Measurement {
  readonly id: string;
  readonly label: string;
  readonly config: string;
  readonly rsSent: number;
  readonly rsRefusedByKernel: number;
  readonly rsPerSecond: number;
  readonly raReceived: number;
  readonly transactionsPerSecond: number;
  readonly answeredFraction: number;
  /**
   * The server answered (nearly) every RS the generator managed to send: its figure is only a
   * lower bound, the generator's limit rather than the server's.
   */
  readonly generatorLimited: boolean;
  /** Datagrams the server's socket had no room for (Udp RcvbufErrors in its namespace). */
  readonly receiveBufferDrops: number;
  /** CPU time all the server's processes (every thread) used during the measured window. */
  readonly serverUserSeconds: number;
  readonly serverSystemSeconds: number;
  readonly serverCpuSeconds: number;
  /** serverCpuSeconds over the flood's duration: 1 is one core kept busy. */
  readonly serverCores: number;
  readonly transactionsPerCpuSecond: number;
  readonly cpuMicrosecondsPerTransaction: number;
  /** The flood generator's CPU time (its kernel time includes the RS's delivery to the server). */
  readonly generatorUserSeconds: number;
  readonly generatorSystemSeconds: number;
  /** The whole machine's CPU time by kind over the same window (every core). */
  readonly machineCpuSeconds: MachineCpuTimes;
  readonly serverRssBytes: number;
  readonly seconds: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '0.5' },
      pool: { type: 'string', default: '16384' },
      batch: { type: 'string', default: '64' },
      json: { type: 'string', default: join(REPO_ROOT, 'bench', 'server-results.json') },
      'ra-sink': { type: 'string', default: 'ifb' },
      'no-default-limit': { type: 'boolean', default: false },
      only: { type: 'string' },
    },
  });
  const options = {
    seconds: Number(values.seconds),
    warmup: Number(values.warmup),
    pool: Number(values.pool),
    batch: Number(values.batch),
    json: resolve(values.json),
    raSink: values['ra-sink'] as RaSink,
    defaultLimit: !values['no-default-limit'],
    only: values.only === undefined ? null : (values.only as ServerImpl),
  };
  if (options.only !== null && options.only !== 'debian' && options.only !== 'ours') {
    throw new Error('--only takes debian or ours');
  }
  if (!RA_SINKS.includes(options.raSink)) throw new Error(`--ra-sink takes ${RA_SINKS.join(' or ')}`);
  if (!(options.seconds > 0) || !(options.warmup >= 0))
    throw new Error('--seconds must be > 0, --warmup ≥ 0');
  if (!Number.isInteger(options.pool) || options.pool < 1 || options.pool > 65536) {
    throw new Error('--pool must be 1..65536');
  }
  if (!Number.isInteger(options.batch) || options.batch < 1 || options.batch > 1024) {
    throw new Error('--batch must be 1..1024');
  }
  return options;
}

function contenders(options: Options): Contender[] {
  // The figures of the old way of counting must not pass for the default's in a summary.
  const sink = options.raSink === 'ifb' ? '' : `, RAs counted at the ${options.raSink}`;
  const list: Contender[] = [
    { id: 'debian', label: `Debian miredo-server ${debianVersion()}${sink}`, impl: 'debian' },
    { id: 'ours-unlimited', label: `ours, RSRateLimit 0${sink}`, impl: 'ours', rsRateLimit: 0 },
  ];
  if (options.defaultLimit)
    list.push({ id: 'ours-default', label: `ours, default RSRateLimit${sink}`, impl: 'ours' });
  return list.filter((contender) => options.only === null || contender.impl === options.only);
}

function debianVersion(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'miredo-server'], { encoding: 'utf8' });
  } catch {
    return '(version unknown)';
  }
}

class Session {
  lab: FloodTopology | null = null;
  server: RunningServer | null = null;
  tool: ToolRun | null = null;
  /** Ctrl-C or SIGTERM: what fails from now on is our own doing. */
  interrupted = false;
  readonly workDir = mkdtempSync(join(tmpdir(), 'mts-bench-server-'));
  private closing: Promise<void> | null = null;

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.tool?.kill();
      await this.server?.stop().catch(() => undefined);
      await this.lab?.destroy();
      rmSync(this.workDir, { recursive: true, force: true });
    })();
    return this.closing;
  }
}

async function measure(session: Session, contender: Contender, options: Options): Promise<Measurement> {
  const lab = session.lab;
  if (lab === null) throw new Error('no lab');
  const server = startServer(lab.server, {
    impl: contender.impl,
    workDir: session.workDir,
    ...(contender.rsRateLimit === undefined ? {} : { rsRateLimit: contender.rsRateLimit }),
  });
  session.server = server;
  try {
    await server.answering(lab.client, 15_000);
    const worker = await server.workerPid(5000);
    const flood = async (seconds: number): Promise<FloodResult> => {
      session.tool = startFlood(lab.flooder, {
        server: SERVER,
        seconds,
        pool: options.pool,
        batch: options.batch,
      });
      const result = await floodResult(session.tool, seconds * 1000 + 30_000);
      session.tool = null;
      return result;
    };
    if (options.warmup > 0) {
      await flood(options.warmup);
      await steadyValue(() => lab.answers());
    }

    const serverPids = processTree(server.pid);
    const answersBefore = await lab.answers();
    const udpBefore = await lab.serverUdpCounters();
    const cpuBefore = cpuTimesByPid(serverPids);
    const machineBefore = machineCpuTimes();
    const sent = await flood(options.seconds);
    const answers = (await steadyValue(() => lab.answers())) - answersBefore;
    const cpu = cpuTimesBetween(cpuBefore, cpuTimesByPid(serverPids));
    const machine = machineCpuTimesBetween(machineBefore, machineCpuTimes());
    const udpAfter = await lab.serverUdpCounters();
    const rss = vmRssBytes(worker) ?? 0;
    const drops = (udpAfter['RcvbufErrors'] ?? 0) - (udpBefore['RcvbufErrors'] ?? 0);
    const cpuTotal = cpu.userSeconds + cpu.systemSeconds;
    return {
      id: contender.id,
      label: contender.label,
      config: contender.rsRateLimit === undefined ? 'default' : `RSRateLimit ${contender.rsRateLimit}`,
      rsSent: sent.sent,
      rsRefusedByKernel: sent.failed,
      rsPerSecond: Math.round(sent.sent / sent.seconds),
      raReceived: answers,
      transactionsPerSecond: Math.round(answers / sent.seconds),
      answeredFraction: Number((answers / Math.max(1, sent.sent)).toFixed(4)),
      generatorLimited: answers >= sent.sent * GENERATOR_LIMITED_FRACTION,
      receiveBufferDrops: drops,
      serverUserSeconds: round2(cpu.userSeconds),
      serverSystemSeconds: round2(cpu.systemSeconds),
      serverCpuSeconds: round2(cpuTotal),
      serverCores: round2(cpuTotal / sent.seconds),
      transactionsPerCpuSecond: cpuTotal > 0 ? Math.round(answers / cpuTotal) : 0,
      cpuMicrosecondsPerTransaction: answers > 0 ? round2((cpuTotal * 1e6) / answers) : 0,
      generatorUserSeconds: round2(sent.userSeconds),
      generatorSystemSeconds: round2(sent.systemSeconds),
      machineCpuSeconds: roundTimes(machine),
      serverRssBytes: rss,
      seconds: Number(sent.seconds.toFixed(3)),
    };
  } finally {
    await server.stop();
    session.server = null;
  }
}

const round2 = (value: number): number => Number(value.toFixed(2));

function roundTimes(times: MachineCpuTimes): MachineCpuTimes {
  return {
    user: round2(times.user),
    system: round2(times.system),
    softirq: round2(times.softirq),
    irq: round2(times.irq),
    idle: round2(times.idle),
    other: round2(times.other),
  };
}

function printColumns(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

function printTables(rows: readonly Measurement[]): void {
  const n = (value: number): string => value.toLocaleString('en-US');
  const s = (value: number): string => value.toFixed(2);
  printColumns(
    [
      'server',
      'RS/s',
      'transactions/s',
      'answered',
      'rcvbuf drops',
      'user s',
      'system s',
      'cores',
      'CPU µs/RA',
      'RSS MiB',
    ],
    rows.map((row) => [
      row.label,
      n(row.rsPerSecond),
      `${row.generatorLimited ? '≥ ' : ''}${n(row.transactionsPerSecond)}`,
      `${(row.answeredFraction * 100).toFixed(1)}%`,
      n(row.receiveBufferDrops),
      s(row.serverUserSeconds),
      s(row.serverSystemSeconds),
      s(row.serverCores),
      s(row.cpuMicrosecondsPerTransaction),
      (row.serverRssBytes / 1048576).toFixed(1),
    ]),
  );
  console.log('');
  printColumns(
    [
      'CPU s in the window',
      'generator user',
      'generator system',
      'machine user',
      'system',
      'softirq',
      'idle',
    ],
    rows.map((row) => [
      row.label,
      s(row.generatorUserSeconds),
      s(row.generatorSystemSeconds),
      s(row.machineCpuSeconds.user),
      s(row.machineCpuSeconds.system),
      s(row.machineCpuSeconds.softirq),
      s(row.machineCpuSeconds.idle),
    ]),
  );
}

async function main(options: Options): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('bench-server needs root (network namespaces, raw sockets, iptables)');
    return 2;
  }
  const session = new Session();
  const interrupted = (signal: NodeJS.Signals): void => {
    session.interrupted = true;
    console.error(`\n${signal}: removing the namespaces...`);
    void session.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  try {
    session.lab = await createFloodTopology({ raSink: options.raSink });
    console.log(`RAs counted with --ra-sink ${options.raSink}: ${RA_SINK_DESCRIPTIONS[options.raSink]}`);
    const rows: Measurement[] = [];
    for (const contender of contenders(options)) {
      console.error(`measuring ${contender.label} for ${options.seconds} s...`);
      rows.push(await measure(session, contender, options));
    }
    const debian = rows.find((row) => row.id === 'debian');
    const ours = rows.find((row) => row.id === 'ours-unlimited');
    const ratioOf = (pick: (row: Measurement) => number): number | null =>
      debian && ours && pick(debian) > 0 ? Number((pick(ours) / pick(debian)).toFixed(2)) : null;
    const ratio = ratioOf((row) => row.transactionsPerSecond);
    // Ours kept up with the generator while Debian's did not: the ratio is a lower bound.
    const ratioIsLowerBound = ours?.generatorLimited === true && debian?.generatorLimited === false;
    const cpuRatio = ratioOf((row) => row.transactionsPerCpuSecond);
    const report = {
      benchmark: 'server-rs-ra',
      date: new Date().toISOString(),
      machine: describeMachine(),
      generator: {
        seconds: options.seconds,
        warmupSeconds: options.warmup,
        distinctPackets: options.pool,
        batch: options.batch,
        sources: 'random IPv4 in 203.0.113.0/24 and 192.0.2.0/24, random ports, RS with auth + nonce',
      },
      raSink: options.raSink,
      raSinkDescription: RA_SINK_DESCRIPTIONS[options.raSink],
      note: 'ours runs with RSRateLimit 0 for the comparison (Debian has no rate limiter)',
      results: rows,
      ratioOursToDebian: ratio,
      ratioIsLowerBound,
      /** The same per second of the server's CPU time: less sensitive to other load on the machine. */
      perCpuSecondRatioOursToDebian: cpuRatio,
      goalRatio: GOAL_RATIO,
      meetsGoal: ratio !== null && ratio >= GOAL_RATIO,
    };
    printTables(rows);
    console.log(
      ratio === null
        ? 'ratio: not available'
        : `ours (RSRateLimit 0) / Debian, --ra-sink ${options.raSink}: ${ratioIsLowerBound ? '≥ ' : ''}${ratio}× — goal ≥ ${GOAL_RATIO}×: ${report.meetsGoal ? 'met' : 'NOT met'}`,
    );
    if (cpuRatio !== null) console.log(`per server CPU second, ours / Debian: ${cpuRatio}×`);
    if (rows.some((row) => row.generatorLimited))
      console.log("≥: the server answered every RS the generator sent; the figure is the generator's limit");
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`written to ${options.json}`);
    return 0;
  } catch (error) {
    if (session.interrupted) return 130;
    throw error;
  } finally {
    await session.close();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

try {
  process.exitCode = await main(parseOptions());
} catch (error) {
  console.error(`bench-server: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
