/**
 * TCP throughput through the relay with iperf3: a real Teredo client (Debian's Miredo or ours)
 * on the WAN runs `iperf3 -c` against `iperf3 -s` on the native IPv6 host, once each way
 * (-R: the host sends). The figure is what the receiver got, in Mbit/s.
 */
import { z } from 'zod';
import type { Lab } from './lab/index.js';
import { cpuSecondsBetween, cpuSecondsByPid } from './bench-relay-cpu.js';

export interface TcpRun {
  readonly direction: 'client-to-host' | 'host-to-client';
  readonly mbitPerSecond: number;
  /** TCP retransmissions the sender counted. */
  readonly retransmits: number;
  readonly seconds: number;
  readonly relayCpuSeconds: number;
}

const iperfSchema = z.object({
  error: z.string().optional(),
  end: z
    .object({
      sum_received: z.object({ bits_per_second: z.number(), seconds: z.number() }).optional(),
      sum_sent: z.object({ retransmits: z.number().optional() }).optional(),
    })
    .optional(),
});

export type IperfResult =
  | {
      readonly ok: true;
      readonly bitsPerSecond: number;
      readonly seconds: number;
      readonly retransmits: number;
    }
  | { readonly ok: false; readonly error: string };

/** The receiver's rate from `iperf3 -J` output (client side; with -R the client is the receiver). */
export function parseIperfJson(text: string): IperfResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `iperf3 printed no JSON: ${text.trim().slice(0, 200)}` };
  }
  const parsed = iperfSchema.safeParse(json);
  if (!parsed.success) return { ok: false, error: 'unexpected iperf3 JSON' };
  const { error, end } = parsed.data;
  if (error !== undefined) return { ok: false, error: `iperf3: ${error}` };
  const received = end?.sum_received;
  if (received === undefined) return { ok: false, error: 'iperf3 reported no received sum' };
  return {
    ok: true,
    bitsPerSecond: received.bits_per_second,
    seconds: received.seconds,
    retransmits: end?.sum_sent?.retransmits ?? 0,
  };
}

export interface TcpSetup {
  readonly lab: Lab;
  readonly clientNode: string;
  readonly hostIPv6: string;
  readonly seconds: number;
  readonly relayPids: readonly number[];
}

export async function runTcp(setup: TcpSetup, direction: TcpRun['direction']): Promise<TcpRun> {
  const args = ['-6', '-c', setup.hostIPv6, '-t', String(setup.seconds), '-J', '--connect-timeout', '5000'];
  if (direction === 'host-to-client') args.push('-R');
  const before = cpuSecondsByPid(setup.relayPids);
  const result = await setup.lab.exec(setup.clientNode, 'iperf3', args, (setup.seconds + 20) * 1000);
  const relayCpuSeconds = cpuSecondsBetween(before, cpuSecondsByPid(setup.relayPids));
  const parsed = parseIperfJson(result.stdout);
  if (!parsed.ok)
    throw new Error(`${parsed.error}${result.stderr === '' ? '' : ` (${result.stderr.trim()})`}`);
  return {
    direction,
    mbitPerSecond: parsed.bitsPerSecond / 1e6,
    retransmits: parsed.retransmits,
    seconds: parsed.seconds,
    relayCpuSeconds,
  };
}
