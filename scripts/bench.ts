/**
 * `npm run bench`: every benchmark of the project in one run, as root, then one combined
 * summary and bench/results.json.
 *
 *   node dist/scripts/bench.js [--only tun,server,relay] [--json FILE] [-- <bench-relay options>]
 *
 * In order, each in its own process (each builds and removes its own namespaces, also on
 * Ctrl-C): bench-tun.js (batched TUN I/O), bench-server.js (RS→RA transactions, ours vs
 * Debian's miredo-server; skipped when it is not built), bench-relay.js (the relay role, ours
 * vs Debian's Miredo, qualification, peer table). Their own tables are printed as they finish;
 * options after `--` go to bench-relay. See bench/README.md for what the figures mean.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { comparisonRows, formatColumns, peerTableRows } from './bench-relay-report.js';
import type { RelayBenchReport } from './bench-relay-report.js';
import { describeMachine } from './bench-machine.js';

const SCRIPTS = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(SCRIPTS, '..', '..');
const PARTS = ['tun', 'server', 'relay'] as const;
type Part = (typeof PARTS)[number];

interface Options {
  readonly parts: readonly Part[];
  readonly json: string;
  readonly relayArgs: readonly string[];
}

interface PartRun {
  readonly code: number | null;
  readonly stdout: string;
}

function parseOptions(): Options {
  const { values, positionals } = parseArgs({
    options: {
      only: { type: 'string' },
      json: { type: 'string', default: join(REPO_ROOT, 'bench', 'results.json') },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(
      'usage: node dist/scripts/bench.js [--only tun,server,relay] [--json FILE] [-- <bench-relay options>]\n' +
        '(as root; node dist/scripts/bench-relay.js --help lists the relay options)',
    );
    process.exit(0);
  }
  const parts = values.only === undefined ? [...PARTS] : values.only.split(',').map((part) => part.trim());
  for (const part of parts) {
    if (!(PARTS as readonly string[]).includes(part)) throw new Error(`--only takes ${PARTS.join(', ')}`);
  }
  return { parts: parts as Part[], json: resolve(values.json), relayArgs: positionals };
}

/** Set while a benchmark runs, so a signal reaches it; it cleans up before it exits. */
let current: ChildProcess | null = null;
let interrupted = false;

function runScript(script: string, args: readonly string[]): Promise<PartRun> {
  return new Promise((resolvePart, reject) => {
    const child = spawn(process.execPath, [join(SCRIPTS, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    current = child;
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      current = null;
      resolvePart({ code, stdout });
    });
  });
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

/** bench-tun prints its result as the first line of JSON. */
function firstJsonLine(stdout: string): unknown {
  const line = stdout.split('\n').find((text) => text.startsWith('{'));
  return line === undefined ? null : (JSON.parse(line) as unknown);
}

async function runPart(part: Part, options: Options, workDir: string): Promise<unknown> {
  console.log(`\n=== ${part} ===`);
  switch (part) {
    case 'tun': {
      const run = await runScript('bench-tun.js', []);
      if (run.code !== 0) throw new Error(`bench-tun exited with ${run.code}`);
      return firstJsonLine(run.stdout);
    }
    case 'server': {
      if (!existsSync(join(SCRIPTS, 'bench-server.js')))
        throw new Error('dist/scripts/bench-server.js is not built');
      const json = join(workDir, 'server.json');
      const run = await runScript('bench-server.js', ['--json', json]);
      if (run.code !== 0) throw new Error(`bench-server exited with ${run.code}`);
      return readJson(json);
    }
    case 'relay': {
      const json = join(workDir, 'relay.json');
      const run = await runScript('bench-relay.js', ['--json', json, ...options.relayArgs]);
      if (run.code !== 0) throw new Error(`bench-relay exited with ${run.code}`);
      return readJson(json);
    }
  }
}

const tunSchema = z.object({
  packetsPerSecond: z.number(),
  targetPacketsPerSecond: z.number(),
  meetsTarget: z.boolean(),
});
const serverSchema = z.object({
  results: z.array(z.object({ label: z.string(), transactionsPerSecond: z.number() })),
  ratioOursToDebian: z.number().nullable(),
  goalRatio: z.number(),
  meetsGoal: z.boolean(),
});

/** One line per headline figure of the TUN and server benchmarks (the relay has its own table). */
function summaryRows(results: Readonly<Record<string, unknown>>): string[][] {
  const n = (value: number): string => Math.round(value).toLocaleString('en-US');
  const rows: string[][] = [];
  const tun = tunSchema.safeParse(results['tun']);
  if (tun.success) {
    const { packetsPerSecond, targetPacketsPerSecond, meetsTarget } = tun.data;
    rows.push([
      'TUN batched read',
      `${n(packetsPerSecond)} pkt/s (target ${n(targetPacketsPerSecond)}: ${meetsTarget ? 'met' : 'NOT met'})`,
    ]);
  }
  const server = serverSchema.safeParse(results['server']);
  if (server.success) {
    for (const row of server.data.results) {
      rows.push([`server RS→RA, ${row.label}`, `${n(row.transactionsPerSecond)} transactions/s`]);
    }
    const { ratioOursToDebian, goalRatio, meetsGoal } = server.data;
    rows.push([
      'server, ours / Debian',
      ratioOursToDebian === null
        ? '-'
        : `${ratioOursToDebian}× (goal ≥ ${goalRatio}×: ${meetsGoal ? 'met' : 'NOT met'})`,
    ]);
  }
  return rows;
}

function printSummary(
  results: Readonly<Record<string, unknown>>,
  errors: Readonly<Record<string, string>>,
): void {
  console.log('\n=== summary ===');
  const rows = summaryRows(results);
  if (rows.length > 0) console.log(formatColumns(['benchmark', 'figure'], rows));
  const relay = results['relay'] as RelayBenchReport | undefined;
  if (relay !== undefined) {
    console.log(
      `\n${formatColumns(['relay', "Debian's Miredo", 'ours', 'ours/Debian'], comparisonRows(relay))}`,
    );
    if (relay.peerTable !== null)
      console.log(`\n${formatColumns(['peer table', 'ours'], peerTableRows(relay.peerTable))}`);
  }
  for (const [part, error] of Object.entries(errors)) console.log(`${part}: ${error}`);
}

async function main(options: Options): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('the benchmarks need root (network namespaces, TUN devices, raw sockets, netfilter)');
    return 2;
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    current?.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const startedAt = Date.now();
  const load = loadavg();
  const workDir = mkdtempSync(join(tmpdir(), 'mts-bench-'));
  const results: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  try {
    for (const part of options.parts) {
      if (interrupted) break;
      try {
        results[part] = await runPart(part, options, workDir);
      } catch (error) {
        errors[part] = error instanceof Error ? error.message : String(error);
      }
    }
    if (interrupted) {
      console.error('interrupted: no results written');
      return 130;
    }
    printSummary(results, errors);
    const report = {
      benchmark: 'all',
      date: new Date(startedAt).toISOString(),
      machine: describeMachine(load),
      durationSeconds: Number(((Date.now() - startedAt) / 1000).toFixed(1)),
      ...results,
      errors,
    };
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwritten to ${options.json} (${report.durationSeconds} s)`);
    return Object.keys(errors).length === 0 ? 0 : 1;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

try {
  process.exitCode = await main(parseOptions());
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
