/**
 * A steady ping from a lab node (iputils' ping, one request every 200 ms, run for as long as a
 * fault campaign lasts), and what it says about an outage: how many requests went unanswered
 * and when replies came back for good. A ping that exits (no route while the client has no
 * Teredo address) is started again; the time it was not running counts as lost requests.
 */
import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../../../scripts/lab/index.js';

export const STEADY_INTERVAL_MS = 200;

/**
 * One echo request: when it was sent and when its reply came (null: never); overtaken when its
 * reply came after the reply to a later request.
 */
export interface Probe {
  readonly sentAtMs: number;
  readonly repliedAtMs: number | null;
  readonly overtaken?: boolean;
}

export interface Outage {
  /** Requests sent inside the window. */
  readonly sent: number;
  /** Of those, the ones never answered. */
  readonly lost: number;
  /** The longest run of unanswered requests in a row. */
  readonly longest: number;
  /**
   * When replies came back: the reply to the first request after the longest run of unanswered
   * ones (the window's start when none was lost); null when none came.
   */
  readonly recoveredAtMs: number | null;
}

/** What one ping process reported: its requests by sequence number, from its own timestamps (-D). */
export interface Run {
  readonly startMs: number;
  endMs: number | null;
  readonly probes: Map<number, { sentAtMs: number; repliedAtMs: number | null; overtaken?: boolean }>;
  /** The highest sequence number answered so far. */
  highestReplied: number;
}

const STAMP = /^\[(\d+\.\d+)\] /;
const REPLY = /bytes from \S+: icmp_seq=(\d+) .*time=([0-9.]+) ms/;
const NO_ANSWER = /no answer yet for icmp_seq=(\d+)/;

/**
 * The requests of `runs` in the order sent, with the time no ping ran (between a run's last
 * request and the next run's first) filled with unanswered ones, one per `intervalMs`.
 */
export function probesOf(runs: readonly Pick<Run, 'startMs' | 'probes'>[], intervalMs: number): Probe[] {
  const probes: Probe[] = [];
  let lastAt: number | undefined;
  for (const run of runs) {
    const own = [...run.probes.values()].sort((x, y) => x.sentAtMs - y.sentAtMs);
    const first = own[0]?.sentAtMs ?? run.startMs;
    // Runs that sent nothing before any request (no route yet: not qualified) count too.
    lastAt ??= own.length === 0 ? run.startMs - intervalMs : undefined;
    if (lastAt !== undefined) {
      for (let at = lastAt + intervalMs; at < first - intervalMs / 2; at += intervalMs) {
        probes.push({ sentAtMs: at, repliedAtMs: null });
      }
    }
    probes.push(...own);
    lastAt = probes.at(-1)?.sentAtMs ?? lastAt;
  }
  return probes;
}

/**
 * The requests sent in [fromMs, toMs]: how many were lost, and when replies came back after the
 * longest run of unanswered ones (the outage; a random loss here and there is not one).
 */
export function outageOf(probes: readonly Probe[], fromMs: number, toMs: number): Outage {
  const inside = probes.filter((probe) => probe.sentAtMs >= fromMs && probe.sentAtMs <= toMs);
  let lost = 0;
  let run = 0;
  let longest = 0;
  let longestEnd: Probe | null = null;
  for (const probe of inside) {
    if (probe.repliedAtMs !== null) {
      run = 0;
      continue;
    }
    lost++;
    run++;
    if (run >= longest) {
      longest = run;
      longestEnd = probe;
    }
  }
  if (longestEnd === null) return { sent: inside.length, lost, longest, recoveredAtMs: fromMs };
  const end = longestEnd.sentAtMs;
  const next = probes.find((probe) => probe.sentAtMs > end && probe.repliedAtMs !== null);
  return { sent: inside.length, lost, longest, recoveredAtMs: next?.repliedAtMs ?? null };
}

/**
 * An outage in words, its recovery counted from `sinceMs`; a random fault's ends with whether the
 * client was answering at the end.
 */
export function describeOutage(outage: Outage, sinceMs: number, random: boolean): string {
  if (outage.lost === 0) return `no request lost of ${outage.sent}`;
  if (random) {
    const end = outage.recoveredAtMs === null ? 'not answering at the end' : 'answering at the end';
    return `${outage.lost}/${outage.sent} requests lost (at most ${outage.longest} in a row), ${end}`;
  }
  const back =
    outage.recoveredAtMs === null
      ? 'no replies again'
      : `replies again after ${Math.round(outage.recoveredAtMs - sinceMs)} ms`;
  return `${back}, ${outage.lost}/${outage.sent} requests lost (at most ${outage.longest} in a row)`;
}

/** The requests sent in [fromMs, toMs] whose reply was overtaken by a later one's. */
export function overtakenOf(probes: readonly Probe[], fromMs: number, toMs: number): Probe[] {
  return probes.filter(
    (probe) => probe.overtaken === true && probe.sentAtMs >= fromMs && probe.sentAtMs <= toMs,
  );
}

/** Records one line of `ping -D -O` into `run`, in the order the lines came. */
export function recordLine(run: Run, line: string): void {
  const stamp = STAMP.exec(line);
  if (stamp === null) return;
  const atMs = Number(stamp[1]) * 1000;
  const reply = REPLY.exec(line);
  if (reply !== null) {
    const seq = Number(reply[1]);
    const sentAtMs = atMs - Number(reply[2]);
    const known = run.probes.get(seq);
    // A duplicate reply changes nothing; a first reply below the highest one came late.
    if (known !== undefined && known.repliedAtMs !== null) return;
    const overtaken = seq < run.highestReplied;
    run.highestReplied = Math.max(run.highestReplied, seq);
    if (known === undefined) run.probes.set(seq, { sentAtMs, repliedAtMs: atMs, overtaken });
    else Object.assign(known, { repliedAtMs: atMs, overtaken });
    return;
  }
  const unanswered = NO_ANSWER.exec(line);
  if (unanswered !== null && !run.probes.has(Number(unanswered[1]))) {
    run.probes.set(Number(unanswered[1]), { sentAtMs: atMs - STEADY_INTERVAL_MS, repliedAtMs: null });
  }
}

export class SteadyPing {
  private readonly runs: Run[] = [];
  private child: ChildProcess | null = null;
  private stopped = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly lab: Lab,
    readonly node: string,
    private readonly target: string,
  ) {
    this.launch();
  }

  /** Every request so far. */
  probes(): Probe[] {
    return probesOf(this.runs, STEADY_INTERVAL_MS);
  }

  outage(fromMs: number, toMs: number): Outage {
    return outageOf(this.probes(), fromMs, toMs);
  }

  overtaken(fromMs: number, toMs: number): Probe[] {
    return overtakenOf(this.probes(), fromMs, toMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.child?.kill('SIGINT');
    await this.exited;
  }

  private launch(): void {
    const run: Run = { startMs: Date.now(), endMs: null, probes: new Map(), highestReplied: 0 };
    this.runs.push(run);
    const interval = String(STEADY_INTERVAL_MS / 1000);
    const child = this.lab.spawn(this.node, 'ping', ['-6', '-n', '-D', '-O', '-i', interval, this.target], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.child = child;
    let pending = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) recordLine(run, line);
    });
    this.exited = new Promise((resolve) => {
      child.on('close', () => {
        run.endMs = Date.now();
        if (this.stopped) resolve();
        else setTimeout(() => resolve(this.stopped ? undefined : this.launch()), STEADY_INTERVAL_MS);
      });
    });
  }
}
