/**
 * Client start-up alone, without the rest of `npm run bench`: qualification time from process
 * start (address on the interface), and the memory of the client's processes once qualified.
 *
 *   sudo node dist/scripts/bench-qualification.js [--runs N] [--impls ours,debian] [--timeline]
 *
 * One lab (our server unless --server debian), one direct client node; each run starts a client,
 * waits for its address, reads every process's RSS and PSS (/proc/PID/smaps_rollup, the process
 * and its descendants: bootstrap, engine, launcher) and stops it. Implementations alternate.
 */
import { readFile, readdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createLab, formatProgress } from './lab/index.js';
import type { Implementation, TeredoClient } from './lab/index.js';
import { median } from './bench-relay-report.js';

const NODE = 'qual';
const TIMEOUT_MS = 15_000;

interface ProcessMemory {
  readonly pid: number;
  readonly name: string;
  readonly rssKb: number;
  readonly pssKb: number;
  /** Private (not shared) and anonymous memory: what the process adds beyond the shared node binary. */
  readonly privateKb: number;
  readonly anonymousKb: number;
  /** User + system CPU time of all its threads so far (/proc/PID/stat). */
  readonly cpuMs: number;
}

async function children(pid: number): Promise<number[]> {
  const found: number[] = [];
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const child of text.trim().split(/\s+/)) if (child !== '') found.push(Number(child));
  }
  return found;
}

async function processMemory(pid: number): Promise<ProcessMemory | null> {
  try {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string): number =>
      Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').slice(0, 2).join(' ');
    const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
    // Fields 14 and 15 (utime, stime), in clock ticks of 10 ms; [0] here is field 3.
    const cpuMs = (Number(stat[11] ?? 0) + Number(stat[12] ?? 0)) * 10;
    return {
      pid,
      name: cmdline.slice(0, 70),
      rssKb: field('Rss'),
      pssKb: field('Pss'),
      privateKb: field('Private_Clean') + field('Private_Dirty'),
      anonymousKb: field('Anonymous'),
      cpuMs,
    };
  } catch {
    return null;
  }
}

/** The mappings holding the most resident memory, for --smaps. */
async function largestMappings(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/smaps`, 'utf8').catch(() => '');
  const rows: Array<[number, string]> = [];
  let name = '';
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header !== null) {
      const size = (parseInt(header[2]!, 16) - parseInt(header[1]!, 16)) / 1024;
      name = `${header[3] || '[anon]'} (${Math.round(size)} KB mapped)`;
    }
    const rss = /^Rss:\s+(\d+)/.exec(line);
    if (rss !== null) rows.push([Number(rss[1]), name]);
  }
  rows.sort((a, b) => b[0] - a[0]);
  return rows
    .slice(0, 12)
    .map(([kb, what]) => `\n    ${(kb / 1024).toFixed(1)} MB ${what}`)
    .join('');
}

/** The process and all its descendants. */
export async function treeMemory(root: number): Promise<ProcessMemory[]> {
  const result: ProcessMemory[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.shift()!;
    const memory = await processMemory(pid);
    if (memory !== null) result.push(memory);
    pending.push(...(await children(pid)));
  }
  return result;
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    impls: { type: 'string', default: 'ours' },
    server: { type: 'string', default: 'ours' },
    timeline: { type: 'boolean', default: false },
    config: { type: 'string', multiple: true, default: [] },
    verbose: { type: 'boolean', default: false },
    smaps: { type: 'boolean', default: false },
  },
});
const impls = values.impls.split(',') as Implementation[];
const runs = Number(values.runs);
const lab = await createLab({
  directClients: [NODE],
  ...(values.verbose ? { onProgress: (event) => console.error(formatProgress(event)) } : {}),
});
const samples = new Map<Implementation, { ms: number[]; pssKb: number[]; cpuMs: number[] }>(
  impls.map((impl) => [impl, { ms: [], pssKb: [], cpuMs: [] }]),
);
try {
  await lab.startServer(values.server as Implementation);
  let interfaces = 0;
  for (let run = 0; run < runs; run++) {
    for (const impl of impls) {
      let client: TeredoClient | null = null;
      try {
        client = await lab.startClient(NODE, impl, {
          interfaceName: `tq${interfaces++}`,
          ...(impl === 'ours' ? { extraConfig: values.config } : {}),
        });
        const qualified = await client.waitQualified(TIMEOUT_MS);
        const memory = await treeMemory(client.daemon.pid);
        const pss = memory.reduce((sum, entry) => sum + entry.pssKb, 0);
        samples.get(impl)!.ms.push(qualified.elapsedMs);
        const cpu = memory.reduce((sum, entry) => sum + entry.cpuMs, 0);
        samples.get(impl)!.pssKb.push(pss);
        samples.get(impl)!.cpuMs.push(cpu);
        console.log(
          `${impl}: address after ${qualified.elapsedMs} ms; PSS ${(pss / 1024).toFixed(1)} MB; CPU ${cpu} ms`,
        );
        for (const entry of memory) {
          console.log(
            `  pid ${entry.pid} RSS ${(entry.rssKb / 1024).toFixed(1)} MB PSS ${(entry.pssKb / 1024).toFixed(1)} MB private ${(entry.privateKb / 1024).toFixed(1)} MB anonymous ${(entry.anonymousKb / 1024).toFixed(1)} MB CPU ${entry.cpuMs} ms ${entry.name}`,
          );
        }
        if (values.timeline) console.log(client.daemon.transcript());
        if (values.smaps)
          for (const entry of memory) console.log(entry.pid, await largestMappings(entry.pid));
      } catch (error) {
        console.log(`${impl}: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
      } finally {
        await client?.stop();
      }
    }
  }
  for (const [impl, sample] of samples) {
    console.log(
      `${impl}: median ${median(sample.ms) ?? '-'} ms [${sample.ms.join(', ')}]; median PSS ${((median(sample.pssKb) ?? 0) / 1024).toFixed(1)} MB; median CPU ${median(sample.cpuMs) ?? '-'} ms`,
    );
  }
} finally {
  await lab.destroy();
}
