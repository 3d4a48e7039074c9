/** Shared bits of the lab tests: the standard topology, and failures that carry the lab's story. */
import type { TestContext } from 'node:test';
import { formatCapturedPacket, formatProgress, formatPing, SERVER_IPV4 } from '../../../scripts/lab/index.js';
import type {
  CapturedPacket,
  Lab,
  NatSpec,
  PingOptions,
  PingResult,
  Qualified,
  TeredoClient,
} from '../../../scripts/lab/index.js';

export const QUALIFY_TIMEOUT_MS = 15_000;

/** Two cone NATs with one client each (alice, bob) and a symmetric one (carol). */
export const STANDARD_NATS: readonly NatSpec[] = [
  { name: 'cone1', kind: 'cone', clients: ['alice'] },
  { name: 'cone2', kind: 'cone', clients: ['bob'] },
  { name: 'sym1', kind: 'symmetric', clients: ['carol'] },
];

/** Collects the lab's progress lines so a failure can show them. */
export class LabStory {
  readonly lines: string[] = [];
  readonly listener = (event: Parameters<typeof formatProgress>[0]): void => {
    this.lines.push(formatProgress(event));
  };

  /** Runs `body`; on failure the error also tells what the lab did and what the daemons printed. */
  async explain<T>(lab: Lab | undefined, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const daemons = lab === undefined ? '' : `\n--- daemon output\n${lab.transcripts()}`;
      throw new Error(`${message}\n--- lab steps\n${this.lines.join('\n')}${daemons}`, { cause: error });
    }
  }
}

export async function qualifyAll(
  t: TestContext,
  lab: Lab,
  clients: ReadonlyMap<string, TeredoClient>,
): Promise<Map<string, Qualified>> {
  const entries = await Promise.all(
    [...clients].map(
      async ([name, client]) => [name, await lab.waitQualified(client, QUALIFY_TIMEOUT_MS)] as const,
    ),
  );
  for (const [name, qualified] of entries) {
    t.diagnostic(
      `${name} qualified in ${qualified.elapsedMs} ms: ${qualified.address} (mapped ${qualified.mappedIPv4}:${qualified.mappedPort})`,
    );
  }
  return new Map(entries);
}

/** Pings and reports the RTTs in the test output. */
export async function ping(
  t: TestContext,
  lab: Lab,
  from: string,
  to: string,
  options?: PingOptions,
): Promise<PingResult> {
  const result = await lab.ping6(from, to, options);
  t.diagnostic(formatPing(result));
  return result;
}

export function qualifiedOf(
  addresses: ReadonlyMap<string, Qualified> | undefined,
  client: string,
): Qualified {
  const qualified = addresses?.get(client);
  if (qualified === undefined) throw new Error(`${client} never qualified`);
  return qualified;
}

export function addressOf(addresses: ReadonlyMap<string, Qualified> | undefined, client: string): string {
  return qualifiedOf(addresses, client).address;
}

/** Pings while capturing on the server: what the server did for this exchange. */
export async function pingThroughServer(
  t: TestContext,
  lab: Lab,
  from: string,
  to: string,
): Promise<{ readonly ping: PingResult; readonly atServer: readonly CapturedPacket[] }> {
  const capture = await lab.capture('server');
  const result = await ping(t, lab, from, to);
  const atServer = await capture.stop();
  return { ping: result, atServer };
}

/**
 * The bubble the server relayed from `source` to `destination` (RFC 4380 5.3.1: sent from its
 * primary address, port 3544, to the destination's mapping, with an origin indication that
 * carries the source's mapping), if it is among `packets`.
 */
export function relayedBubble(
  packets: readonly CapturedPacket[],
  source: Qualified,
  destination: Qualified,
): CapturedPacket | undefined {
  return packets.find(
    (packet) =>
      packet.kind === 'bubble' &&
      packet.udp?.src === SERVER_IPV4[0] &&
      packet.udp.srcPort === 3544 &&
      packet.udp.dst === destination.mappedIPv4 &&
      packet.udp.dstPort === destination.mappedPort &&
      packet.ipv6?.dst === destination.address &&
      packet.origin?.ipv4 === source.mappedIPv4 &&
      packet.origin.port === source.mappedPort,
  );
}

export function describePackets(packets: readonly CapturedPacket[]): string {
  return packets.map(formatCapturedPacket).join('\n');
}
