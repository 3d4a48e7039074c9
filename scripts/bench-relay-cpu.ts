/**
 * CPU time of processes from /proc/PID/stat: utime + stime, which cover every thread of the
 * process (worker threads included) but not its children (each child is listed on its own).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

/** sysconf(_SC_CLK_TCK): the unit of /proc/PID/stat times (100 on Linux in practice). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === null) {
    let value = NaN;
    try {
      value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      // getconf missing: the Linux value.
    }
    ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/** utime + stime in clock ticks from the text of /proc/PID/stat, or null if it is not one. */
export function parseStatTicks(stat: string): number | null {
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const close = stat.lastIndexOf(')');
  if (close === -1) return null;
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // After the name: state (3), ppid (4), ... utime (14), stime (15) → indexes 11 and 12 here.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isSafeInteger(utime) && Number.isSafeInteger(stime) ? utime + stime : null;
}

/** CPU seconds used so far by each process that still exists, by pid. */
export function cpuSecondsByPid(pids: readonly number[]): Map<number, number> {
  const result = new Map<number, number>();
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ticks = parseStatTicks(stat);
    if (ticks !== null) result.set(pid, ticks / clockTicksPerSecond());
  }
  return result;
}

/** CPU seconds spent between two readings, by processes present in both. */
export function cpuSecondsBetween(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): number {
  let total = 0;
  for (const [pid, seconds] of after) {
    const start = before.get(pid);
    if (start !== undefined) total += seconds - start;
  }
  return total;
}
