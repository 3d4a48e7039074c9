/**
 * How the demo judges what it saw, and says it in plain words: a qualification (the Teredo
 * address decoded and compared with the NAT's real public address), a ping (every reply back,
 * with the round-trip times), a relay discovery (the relay the client uses is the lab's relay).
 */
import type { OutputLine, PingResult, Qualified } from './lab/index.js';
import { describeDiscovery, formatEndpoint } from './demo-relay.js';
import type { RelayDiscovery } from './demo-relay.js';
import type { StepOutcome } from './demo-steps.js';

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Our engine logs these (pino JSON): once it runs unprivileged, and when it has an address. */
const ENGINE_RUNNING = 'Privileges dropped';
const NEW_ADDRESS = 'New Teredo address/MTU';

/** The time (epoch ms) of the first of our daemon's JSON log lines whose msg is `message`. */
function loggedAt(output: readonly OutputLine[], message: string): number | null {
  for (const line of output) {
    if (!line.text.includes(message)) continue;
    try {
      const record: unknown = JSON.parse(line.text);
      if (typeof record !== 'object' || record === null) continue;
      const { msg, time } = record as { msg?: unknown; time?: unknown };
      if (msg === message && typeof time === 'number') return time;
    } catch {
      // Not one of our JSON lines.
    }
  }
  return null;
}

/**
 * From our client's log: milliseconds from its engine running (privileges dropped, control plane
 * about to start) to its first "New Teredo address/MTU", i.e. the Router Solicitation and
 * Advertisement without Node.js starting up. Null when either line is missing.
 */
export function exchangeMs(output: readonly OutputLine[]): number | null {
  const running = loggedAt(output, ENGINE_RUNNING);
  const address = loggedAt(output, NEW_ADDRESS);
  return running === null || address === null ? null : Math.max(0, address - running);
}

export interface QualificationContext {
  readonly natName: string;
  /** See exchangeMs. */
  readonly exchangeMs: number | null;
  /** The NAT's public (WAN) address: what the server should have seen. */
  readonly natPublicIPv4: string;
  readonly expectedServer: string;
}

export function judgeQualification(
  qualified: Qualified,
  context: QualificationContext,
): StepOutcome<Qualified> {
  const serverOk = qualified.server === context.expectedServer;
  const mappingOk = qualified.mappedIPv4 === context.natPublicIPv4;
  const serverText = serverOk
    ? `server ${qualified.server}`
    : `server ${qualified.server} (expected ${context.expectedServer})`;
  const mapping =
    `public ${qualified.mappedIPv4}:${qualified.mappedPort} ` +
    `(${context.natName}'s public address is ${context.natPublicIPv4}: ${mappingOk ? 'same' : 'DIFFERENT'})`;
  return {
    ok: serverOk && mappingOk,
    detail:
      `qualified as ${qualified.address}, ${seconds(qualified.elapsedMs)} after the daemon started` +
      `${context.exchangeMs === null ? '' : ` (${context.exchangeMs} ms once its engine ran)`}: ` +
      `${serverText}, ${mapping}, cone flag ${qualified.cone ? 'set' : 'clear'}`,
    brief: `${qualified.address} in ${seconds(qualified.elapsedMs)}`,
    value: qualified,
  };
}

function average(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Every wanted reply back is a success; `note` explains the RTTs (the first includes finding the peer, say). */
export function judgePing(ping: PingResult, wanted: number, note = ''): StepOutcome<PingResult> {
  const ok = ping.received >= wanted;
  const replies = `${ping.received}/${ping.transmitted} replies`;
  const rtts =
    ping.rttsMs.length === 0 ? '' : `, RTT ${ping.rttsMs.map((rtt) => rtt.toFixed(2)).join(', ')} ms`;
  return {
    ok,
    detail: `${ping.to}: ${replies}${rtts}${ok && note !== '' ? ` (${note})` : ''}`,
    brief:
      ping.rttsMs.length === 0 ? replies : `${replies}, average RTT ${average(ping.rttsMs).toFixed(2)} ms`,
    value: ping,
    report: ping.transcript,
  };
}

export function judgeRelay(
  discovery: RelayDiscovery | null,
  host: string,
  expectedRelayIPv4: string,
): StepOutcome<RelayDiscovery | null> {
  if (discovery === null) {
    return {
      ok: false,
      detail: `the capture shows no echo reply from ${host} over Teredo`,
      brief: 'no reply from the host captured',
      value: null,
    };
  }
  const ok = discovery.relay.ipv4 === expectedRelayIPv4;
  const relay = formatEndpoint(discovery.relay);
  return {
    ok,
    detail: `${relay} for ${host}${ok ? '' : ` (the lab's relay is ${expectedRelayIPv4})`}: ${describeDiscovery(discovery)}`,
    brief: `relay ${relay}`,
    value: discovery,
  };
}
