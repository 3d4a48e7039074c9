/** Starting the flood tools (flood-cli.js, rs-probe-cli.js) inside a namespace and reading their results. */
import { fileURLToPath } from 'node:url';
import type { Netns } from '../../test/support/netns.js';
import type { FloodResult } from './flood-sender.js';
import type { ProbeResult } from './rs-probe.js';
import { ToolRun } from './tool-events.js';

/**
 * Tools and servers run in sessions of their own (setsid): with the kernel's autogroup
 * scheduling, CPU time is shared between sessions first, so the flooder and the server each
 * get a session's share instead of splitting the caller's. Ctrl-C then reaches only the
 * caller, which stops them.
 */
export const OWN_SESSION = true;

const script = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));

export interface FloodOptions {
  readonly server: string;
  /** Spoofed Teredo datagrams to a client instead of Router Solicitations (see flood-cli.ts). */
  readonly teredo?: {
    /** The client's mapped IPv4 address and port. */
    readonly ipv4: string;
    readonly port: number;
    /** Its Teredo address. */
    readonly address: string;
    readonly payload?: 'echo' | 'bubble';
  };
  readonly packets?: number;
  readonly seconds?: number;
  readonly pool?: number;
  readonly batch?: number;
}

/** Events: `started` {at}, `done` (a FloodResult). */
export function startFlood(ns: Pick<Netns, 'spawn'>, options: FloodOptions): ToolRun {
  const args = ['--server', options.server];
  const { teredo } = options;
  if (teredo !== undefined) {
    args.push('--teredo', `${teredo.ipv4}:${teredo.port}`, '--address', teredo.address);
    if (teredo.payload !== undefined) args.push('--payload', teredo.payload);
  }
  if (options.packets !== undefined) args.push('--packets', String(options.packets));
  if (options.seconds !== undefined) args.push('--seconds', String(options.seconds));
  if (options.pool !== undefined) args.push('--pool', String(options.pool));
  if (options.batch !== undefined) args.push('--batch', String(options.batch));
  const child = ns.spawn(process.execPath, [script('flood-cli.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: OWN_SESSION,
  });
  return new ToolRun('flooder', child);
}

export interface ProbeToolOptions {
  readonly server: string;
  readonly timeoutMs: number;
  readonly resendMs?: number;
  /** Wait for a line on stdin (ToolRun.send) before the first RS. */
  readonly waitGo?: boolean;
}

/** Events: `ready` {localPort}, `result` (a ProbeResult). */
export function startProbe(ns: Netns, options: ProbeToolOptions): ToolRun {
  const args = ['--server', options.server, '--timeout', String(options.timeoutMs)];
  if (options.resendMs !== undefined) args.push('--resend', String(options.resendMs));
  if (options.waitGo === true) args.push('--wait-go');
  const child = ns.spawn(process.execPath, [script('rs-probe-cli.js'), ...args], {
    stdio: [options.waitGo === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: OWN_SESSION,
  });
  return new ToolRun('probe', child);
}

export async function floodResult(run: ToolRun, timeoutMs: number): Promise<FloodResult> {
  return (await run.waitFor('done', timeoutMs)) as unknown as FloodResult;
}

export async function probeResult(run: ToolRun, timeoutMs: number): Promise<ProbeResult> {
  return (await run.waitFor('result', timeoutMs)) as unknown as ProbeResult;
}

/** One probe from `ns`: RS resent every `resendMs` until the server's RA or `timeoutMs`. */
export async function probeServer(
  ns: Netns,
  server: string,
  timeoutMs: number,
  resendMs = 250,
): Promise<ProbeResult> {
  const run = startProbe(ns, { server, timeoutMs, resendMs });
  try {
    return await probeResult(run, timeoutMs + 10_000);
  } finally {
    run.kill();
  }
}

/**
 * Reads a counter every 100 ms until two reads in a row agree (the server has drained its
 * queue after a flood) and returns it; fails if it is still moving after `timeoutMs`.
 */
export async function steadyValue(read: () => Promise<number>, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = await read();
    if (next === last) return next;
    if (Date.now() > deadline) throw new Error(`still changing after ${timeoutMs} ms (${last} → ${next})`);
    last = next;
  }
}
