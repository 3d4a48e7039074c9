/**
 * Running bin/miredo inside a namespace and watching it: its JSON log lines (with -f, one
 * object per line on stderr), kernel state through `ip -j`, and /proc facts about processes.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Netns } from '../../support/netns.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const MIREDO_BIN = `${REPO_ROOT}bin/miredo`;

export type LogLine = Readonly<Record<string, unknown>>;

/** A running daemon and everything it has logged so far. */
export class DaemonRun {
  readonly lines: LogLine[] = [];
  readonly rawStderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly events = new EventEmitter();

  constructor(readonly child: ChildProcess) {
    let pending = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        this.rawStderr.push(line);
        try {
          const parsed = JSON.parse(line) as unknown;
          if (typeof parsed === 'object' && parsed !== null) {
            this.lines.push(parsed as LogLine);
            this.events.emit('line', parsed);
          }
        } catch {
          // Plain text (startup errors before the logger exists).
        }
        newline = pending.indexOf('\n');
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** The first line (already logged, or to come) matching `match`, or a rejection after the deadline. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs: number, from = 0): Promise<LogLine> {
    const seen = this.lines.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onLine = (line: LogLine): void => {
        if (!match(line)) return;
        clearTimeout(timer);
        this.events.off('line', onLine);
        resolve(line);
      };
      const timer = setTimeout(() => {
        this.events.off('line', onLine);
        reject(new Error(`no matching log line within ${timeoutMs} ms; log:\n${this.rawStderr.join('\n')}`));
      }, timeoutMs);
      this.events.on('line', onLine);
    });
  }

  /** Pid of the engine announced by the n-th (from `from`) "Engine N ready" line. */
  async engineReady(timeoutMs: number, from = 0): Promise<number> {
    const line = await this.waitForLog((l) => /^Engine \d+ ready$/.test(String(l['msg'])), timeoutMs, from);
    return Number(line['child']);
  }
}

export function startDaemon(ns: Netns, args: readonly string[], bin = MIREDO_BIN): DaemonRun {
  const child = ns.spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new DaemonRun(child);
}

/** Polls `probe` every 20 ms until it returns a value other than undefined, or fails at the deadline. */
export async function pollUntil<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface LinkState {
  readonly ifindex: number;
  readonly mtu: number;
  readonly up: boolean;
}

export async function linkState(ns: Netns, ifname: string): Promise<LinkState | null> {
  const result = await ns.exec('ip', ['-j', 'link', 'show', 'dev', ifname]);
  if (result.code !== 0) return null;
  const [link] = JSON.parse(result.stdout) as Array<{ ifindex: number; mtu: number; flags: string[] }>;
  if (link === undefined) return null;
  return { ifindex: link.ifindex, mtu: link.mtu, up: link.flags.includes('UP') };
}

export async function addresses6(ns: Netns, ifname: string): Promise<string[]> {
  const result = await ns.exec('ip', ['-j', '-6', 'addr', 'show', 'dev', ifname]);
  if (result.code !== 0) return [];
  const [entry] = JSON.parse(result.stdout) as Array<{
    addr_info: Array<{ local: string; prefixlen: number }>;
  }>;
  return (entry?.addr_info ?? []).map((info) => `${info.local}/${info.prefixlen}`);
}

export async function routes6(ns: Netns, ifname: string): Promise<string[]> {
  const result = await ns.exec('ip', ['-j', '-6', 'route', 'show', 'dev', ifname]);
  if (result.code !== 0) return [];
  const routes = JSON.parse(result.stdout) as Array<{ dst: string; metric: number }>;
  return routes.map((route) => `${route.dst} metric ${route.metric}`);
}

export interface ProcStatus {
  readonly uid: readonly number[];
  readonly gid: readonly number[];
  readonly capEff: bigint;
  readonly capPrm: bigint;
  readonly noNewPrivs: number;
  readonly state: string;
}

export function procStatus(pid: number): ProcStatus | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1] ?? '';
  return {
    uid: field('Uid').split(/\s+/).map(Number),
    gid: field('Gid').split(/\s+/).map(Number),
    capEff: BigInt(`0x${field('CapEff')}`),
    capPrm: BigInt(`0x${field('CapPrm')}`),
    noNewPrivs: Number(field('NoNewPrivs')),
    state: field('State'),
  };
}

/** Gone, or a zombie waiting to be reaped. */
export function processGone(pid: number): boolean {
  const status = procStatus(pid);
  return status === null || status.state.startsWith('Z');
}

export function procRoot(pid: number): string {
  return readlinkSync(`/proc/${pid}/root`);
}
