/**
 * Router Solicitation → Router Advertisement transactions per second: our Teredo server
 * against Debian's miredo-server, side by side, same generator, same topology, one run.
 *
 *   node dist/scripts/bench-server.js [--seconds N] [--warmup N] [--pool N] [--batch N]
 *                                     [--json FILE] [--no-default-limit] [--only debian|ours]
 *
 * Root: builds the flood lab (scripts/flood/topology.ts: flooder → server ← client namespaces)
 * and removes it afterwards, also on Ctrl-C and on errors. For each server in turn: start it,
 * wait until it answers a real client's RS, send spoofed RS (random sources in 203.0.113.0/24
 * and 192.0.2.0/24, random ports, auth + nonce, batched sendmmsg on a raw socket) for a short
 * warm-up and then for `--seconds`, and count the RAs that come back to the flooder with an
 * iptables counter. Runs:
 *   1. Debian's /usr/sbin/miredo-server (no rate limiting exists there);
 *   2. ours with `RSRateLimit 0`: no per-source limit, the fair comparison;
 *   3. ours with its default configuration, for information (skip with --no-default-limit):
 *      RSRateLimit 50 per source IPv4, burst 100, so the 508 spoofed sources get at most
 *      about 25,000 RAs/s between them once their bursts are spent.
 * Other load on the machine skews the rates (the generator and the server each want a core):
 * the server's CPU time is reported too, as RAs per CPU second.
 * Prints a table and writes the numbers as JSON (default bench/server-results.json).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, REPO_ROOT, startServer, vmRssBytes } from './flood/servers.js';
import type { RunningServer, ServerImpl } from './flood/servers.js';
import { createFloodTopology, FLOOD_ADDRESSES } from './flood/topology.js';
import type { FloodTopology } from './flood/topology.js';
import { floodResult, startFlood, steadyValue } from './flood/tools.js';
import type { ToolRun } from './flood/tool-events.js';

const GOAL_RATIO = 2;
const SERVER = FLOOD_ADDRESSES.serverPrimary;

interface Options {
  readonly seconds: number;
  readonly warmup: number;
  readonly pool: number;
  readonly batch: number;
  readonly json: string;
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
  /** Datagrams the server's socket had no room for (Udp RcvbufErrors in its namespace). */
  readonly receiveBufferDrops: number;
  /** CPU seconds the server's worker process used during the measured window. */
  readonly serverCpuSeconds: number;
  readonly transactionsPerCpuSecond: number;
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
    defaultLimit: !values['no-default-limit'],
    only: values.only === undefined ? null : (values.only as ServerImpl),
  };
  if (options.only !== null && options.only !== 'debian' && options.only !== 'ours') {
    throw new Error('--only takes debian or ours');
  }
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
  const list: Contender[] = [
    { id: 'debian', label: `Debian miredo-server ${debianVersion()}`, impl: 'debian' },
    { id: 'ours-unlimited', label: 'ours, RSRateLimit 0', impl: 'ours', rsRateLimit: 0 },
  ];
  if (options.defaultLimit)
    list.push({ id: 'ours-default', label: 'ours, default RSRateLimit', impl: 'ours' });
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
    const flood = async (seconds: number): Promise<Awaited<ReturnType<typeof floodResult>>> => {
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
      await steadyValue(() => lab.answersAtFlooder());
    }

    const answersBefore = await lab.answersAtFlooder();
    const udpBefore = await lab.serverUdpCounters();
    const cpuBefore = cpuSeconds(worker) ?? 0;
    const sent = await flood(options.seconds);
    const answers = (await steadyValue(() => lab.answersAtFlooder())) - answersBefore;
    const cpu = (cpuSeconds(worker) ?? 0) - cpuBefore;
    const udpAfter = await lab.serverUdpCounters();
    const rss = vmRssBytes(worker) ?? 0;
    const drops = (udpAfter['RcvbufErrors'] ?? 0) - (udpBefore['RcvbufErrors'] ?? 0);
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
      receiveBufferDrops: drops,
      serverCpuSeconds: Number(cpu.toFixed(2)),
      transactionsPerCpuSecond: cpu > 0 ? Math.round(answers / cpu) : 0,
      serverRssBytes: rss,
      seconds: Number(sent.seconds.toFixed(3)),
    };
  } finally {
    await server.stop();
    session.server = null;
  }
}

function printTable(rows: readonly Measurement[]): void {
  const n = (value: number): string => value.toLocaleString('en-US');
  const table = rows.map((row) => ({
    server: row.label,
    'RS sent': n(row.rsSent),
    'RS/s': n(row.rsPerSecond),
    'RA received': n(row.raReceived),
    'transactions/s': n(row.transactionsPerSecond),
    answered: `${(row.answeredFraction * 100).toFixed(1)}%`,
    'rcvbuf drops': n(row.receiveBufferDrops),
    'server CPU s': row.serverCpuSeconds.toFixed(2),
    'RA per CPU s': n(row.transactionsPerCpuSecond),
    'RSS MiB': (row.serverRssBytes / 1048576).toFixed(1),
  }));
  const columns = Object.keys(table[0] ?? {});
  const widths = columns.map((column) =>
    Math.max(column.length, ...table.map((row) => String(row[column as keyof typeof row]).length)),
  );
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(columns));
  for (const row of table)
    console.log(line(columns.map((column) => String(row[column as keyof typeof row]))));
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
    session.lab = await createFloodTopology();
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
    const cpuRatio = ratioOf((row) => row.transactionsPerCpuSecond);
    const report = {
      benchmark: 'server-rs-ra',
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? '',
        kernel: release(),
        node: process.version,
      },
      generator: {
        seconds: options.seconds,
        warmupSeconds: options.warmup,
        distinctPackets: options.pool,
        batch: options.batch,
        sources: 'random IPv4 in 203.0.113.0/24 and 192.0.2.0/24, random ports, RS with auth + nonce',
      },
      note: 'ours runs with RSRateLimit 0 for the comparison (Debian has no rate limiter)',
      results: rows,
      ratioOursToDebian: ratio,
      /** The same per second of the server's CPU time: less sensitive to other load on the machine. */
      perCpuSecondRatioOursToDebian: cpuRatio,
      goalRatio: GOAL_RATIO,
      meetsGoal: ratio !== null && ratio >= GOAL_RATIO,
    };
    printTable(rows);
    console.log(
      ratio === null
        ? 'ratio: not available'
        : `ours (RSRateLimit 0) / Debian: ${ratio}× — goal ≥ ${GOAL_RATIO}×: ${report.meetsGoal ? 'met' : 'NOT met'}`,
    );
    if (cpuRatio !== null) console.log(`per server CPU second, ours / Debian: ${cpuRatio}×`);
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
