/**
 * What the benchmark reads from /proc about processes and the machine: children, resident
 * memory, and CPU time split into user and system (kernel) time. /proc/PID/stat's utime and
 * stime cover every thread of the process, exited ones included, but not its children.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: /proc reports CPU times in these ticks (100 on every Linux architecture we run on). */
const CLOCK_TICKS_PER_SECOND = 100;

export interface CpuTimes {
  readonly userSeconds: number;
  readonly systemSeconds: number;
}

export const NO_CPU_TIME: CpuTimes = Object.freeze({ userSeconds: 0, systemSeconds: 0 });

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // The process is gone.
  }
}

/** The fields of /proc/PID/stat after "pid (comm) ": comm may hold spaces and parentheses. */
function statFields(stat: string): readonly string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Pids whose parent is `pid`. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readText(`/proc/${entry}/stat`);
    // After the name: state, then ppid.
    if (stat !== null && Number(statFields(stat)[1]) === pid) children.push(Number(entry));
  }
  return children;
}

/** `pid` and all its descendants that exist now. */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...childPids(tree[i]!));
  return tree;
}

/** VmRSS of a process in bytes, or null when it is gone. */
export function vmRssBytes(pid: number): number | null {
  const status = readText(`/proc/${pid}/status`);
  const kib = status === null ? undefined : /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  return kib === undefined ? null : Number(kib) * 1024;
}

/** The CPU time a process (all its threads) has used so far, or null when it is gone. */
export function processCpuTimes(pid: number): CpuTimes | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // utime and stime are fields 14 and 15 of the line: 11 and 12 after "pid (comm) ".
  const fields = statFields(stat);
  return {
    userSeconds: Number(fields[11]) / CLOCK_TICKS_PER_SECOND,
    systemSeconds: Number(fields[12]) / CLOCK_TICKS_PER_SECOND,
  };
}

/** CPU times by pid, for the processes of `pids` that still exist. */
export function cpuTimesByPid(pids: readonly number[]): Map<number, CpuTimes> {
  const times = new Map<number, CpuTimes>();
  for (const pid of pids) {
    const reading = processCpuTimes(pid);
    if (reading !== null) times.set(pid, reading);
  }
  return times;
}

/** The CPU time used between two readings by the processes present in both, added up. */
export function cpuTimesBetween(
  before: ReadonlyMap<number, CpuTimes>,
  after: ReadonlyMap<number, CpuTimes>,
): CpuTimes {
  let userSeconds = 0;
  let systemSeconds = 0;
  for (const [pid, end] of after) {
    const start = before.get(pid);
    if (start === undefined) continue;
    userSeconds += end.userSeconds - start.userSeconds;
    systemSeconds += end.systemSeconds - start.systemSeconds;
  }
  return { userSeconds, systemSeconds };
}

/** The whole machine's CPU time by kind (the first line of /proc/stat), in seconds. */
export interface MachineCpuTimes {
  readonly user: number;
  readonly system: number;
  readonly softirq: number;
  readonly irq: number;
  readonly idle: number;
  /** Everything else: nice, iowait, steal, guest. */
  readonly other: number;
}

const MACHINE_FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

export function parseMachineCpuTimes(procStat: string): MachineCpuTimes {
  const line = procStat.split('\n').find((text) => text.startsWith('cpu '));
  if (line === undefined) throw new Error('no "cpu " line in /proc/stat');
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const field = (name: (typeof MACHINE_FIELDS)[number]): number =>
    (ticks[MACHINE_FIELDS.indexOf(name)] ?? 0) / CLOCK_TICKS_PER_SECOND;
  // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
  const total = ticks.slice(0, MACHINE_FIELDS.length).reduce((sum, value) => sum + value, 0);
  const named = field('user') + field('system') + field('softirq') + field('irq') + field('idle');
  return {
    user: field('user'),
    system: field('system'),
    softirq: field('softirq'),
    irq: field('irq'),
    idle: field('idle'),
    other: total / CLOCK_TICKS_PER_SECOND - named,
  };
}

export function machineCpuTimes(): MachineCpuTimes {
  return parseMachineCpuTimes(readFileSync('/proc/stat', 'utf8'));
}

export function machineCpuTimesBetween(before: MachineCpuTimes, after: MachineCpuTimes): MachineCpuTimes {
  return {
    user: after.user - before.user,
    system: after.system - before.system,
    softirq: after.softirq - before.softirq,
    irq: after.irq - before.irq,
    idle: after.idle - before.idle,
    other: after.other - before.other,
  };
}
