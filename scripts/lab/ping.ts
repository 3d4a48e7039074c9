/**
 * ICMPv6 echo between lab nodes with iputils' `ping` (Debian package iputils-ping), and the
 * parsing of its output into round-trip times.
 */
import type { CommandResult } from './command.js';

export interface PingOptions {
  /** Replies wanted (ping stops when it has them or at the deadline). Default 3. */
  readonly count?: number;
  /** Seconds between requests. Default 0.2. */
  readonly intervalSeconds?: number;
  /** Seconds after which ping gives up, replies or not. Default 10. */
  readonly deadlineSeconds?: number;
  /** Payload bytes (ping -s). Default ping's 56. */
  readonly size?: number;
}

export interface PingResult {
  readonly from: string;
  readonly to: string;
  readonly transmitted: number;
  readonly received: number;
  /** Round-trip time of each reply in arrival order, milliseconds (duplicates left out). */
  readonly rttsMs: readonly number[];
  /** ping's own output, for diagnostics. */
  readonly transcript: string;
}

/** `ping` arguments: with -w, ping keeps sending until `count` replies or the deadline. */
export function pingArguments(to: string, options: PingOptions = {}): string[] {
  const args = [
    '-6',
    '-n',
    '-c',
    String(options.count ?? 3),
    '-i',
    String(options.intervalSeconds ?? 0.2),
    '-w',
    String(options.deadlineSeconds ?? 10),
  ];
  if (options.size !== undefined) args.push('-s', String(options.size));
  args.push(to);
  return args;
}

const REPLY = /^\d+ bytes from \S+: icmp_seq=\d+ .*time=([0-9.]+) ms(.*)$/;
const SUMMARY = /^(\d+) packets transmitted, (\d+) received/;

export function parsePingOutput(from: string, to: string, result: CommandResult): PingResult {
  const rttsMs: number[] = [];
  let transmitted = 0;
  let received = 0;
  for (const line of result.stdout.split('\n')) {
    const reply = REPLY.exec(line);
    if (reply !== null && !(reply[2] ?? '').includes('DUP!')) rttsMs.push(Number(reply[1]));
    const summary = SUMMARY.exec(line);
    if (summary !== null) {
      transmitted = Number(summary[1]);
      received = Number(summary[2]);
    }
  }
  const transcript = [result.stdout.trim(), result.stderr.trim()].filter((text) => text !== '').join('\n');
  return { from, to, transmitted, received, rttsMs, transcript };
}

export function formatPing(result: PingResult): string {
  const rtts = result.rttsMs.map((rtt) => rtt.toFixed(2)).join(', ');
  return `ping ${result.from} → ${result.to}: ${result.received}/${result.transmitted} replies${rtts === '' ? '' : `, RTT ms: ${rtts}`}`;
}
