/**
 * A ping flow across the anycast fleet, for the fail-over and drain tests: the IPv6 host pings a
 * client behind a cone NAT at 10/s; something happens to the relay that carries the flow (the
 * one the router sends the echo requests to) after a while, and the pings lost are counted.
 *
 * MIREDO_TS_FLEET_RUNS and MIREDO_TS_FLEET_PINGS make the runs more and longer by hand,
 * MIREDO_TS_FLEET_BFD=0 turns BFD off and MIREDO_TS_FLEET_HASH=0 makes the router hash addresses only
 * (README gives such figures); CI runs the defaults.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { FLEET_IPV6HOST_IPV6 } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon, PingResult, TeredoClient } from '../../../scripts/lab/index.js';
import { QUALIFY_TIMEOUT_MS } from '../lab/lab-test-tools.js';

export const RUNS = Number(process.env['MIREDO_TS_FLEET_RUNS'] ?? 3);
export const PINGS = Number(process.env['MIREDO_TS_FLEET_PINGS'] ?? 100);
export const BFD = process.env['MIREDO_TS_FLEET_BFD'] !== '0';
/** MIREDO_TS_FLEET_FAILURE=freeze: the relay's machine hangs (SIGSTOP) instead of kill -9. */
export const FREEZE = process.env['MIREDO_TS_FLEET_FAILURE'] === 'freeze';
export const HASH_POLICY: 0 | 1 = process.env['MIREDO_TS_FLEET_HASH'] === '0' ? 0 : 1;
/** The event comes this long after the flow starts. */
export const EVENT_AFTER_MS = 3000;
export const ANNOUNCE_TABLE = 3544;

export interface FleetDaemons {
  readonly relays: Map<string, LabDaemon>;
  readonly client: TeredoClient;
  readonly address: string;
}

/** Our server, our relays (announcing through table 3544) and alice, qualified. */
export async function startFleet(lab: Lab, relayConfig: readonly string[]): Promise<FleetDaemons> {
  await lab.startServer('ours');
  const relays = new Map<string, LabDaemon>();
  for (const node of lab.relays) relays.set(node, await startFleetRelay(lab, node, relayConfig));
  await lab.fleet.waitRouterNexthops(lab.relays, 10_000);
  const client = await lab.startClient('alice', 'ours', { extraConfig: ['DataplaneWorkers 1'] });
  const { address } = await lab.waitQualified(client, QUALIFY_TIMEOUT_MS);
  return { relays, client, address };
}

export function startFleetRelay(lab: Lab, node: string, relayConfig: readonly string[]): Promise<LabDaemon> {
  return lab.startRelay('ours', {
    node,
    extraConfig: ['DataplaneWorkers 1', `AnnounceTable ${ANNOUNCE_TABLE}`, ...relayConfig],
  });
}

/** Pings from the IPv6 host until three in a row are answered both ways (at most `tries` rounds). */
export async function warmUp(t: TestContext, lab: Lab, address: string, tries = 5): Promise<void> {
  for (let attempt = 1; attempt <= tries; attempt += 1) {
    const there = await lab.ping6('ipv6host', address, { deadlineSeconds: 3 });
    const back = await lab.ping6('alice', FLEET_IPV6HOST_IPV6, { deadlineSeconds: 3 });
    if (there.received === 3 && back.received === 3) {
      if (attempt > 1) t.diagnostic(`the flow worked at the ${attempt}th attempt`);
      return;
    }
  }
  assert.fail(`no ping answered both ways between the IPv6 host and ${address} in ${tries} attempts`);
}

export interface FlowRun {
  readonly ping: PingResult;
  /** The relay the router sent the flow to before the event. */
  readonly carrier: string;
  readonly lost: number;
}

/** The relay whose counter grew most between two readings. */
function busiest(before: Map<string, number>, after: Map<string, number>): string {
  let best = '';
  let most = -1;
  for (const [relay, count] of after) {
    const grew = count - (before.get(relay) ?? 0);
    if (grew > most) [best, most] = [relay, grew];
  }
  return best;
}

/**
 * PINGS pings at 10/s from the IPv6 host to `address`; EVENT_AFTER_MS in, `event` is applied to
 * the relay carrying them. The ping waits 2 s for the last replies.
 */
export async function flowThrough(
  lab: Lab,
  address: string,
  event: (carrier: string) => Promise<void>,
): Promise<FlowRun> {
  const before = await lab.fleet.relayTraffic();
  const ping = lab.ping6('ipv6host', address, {
    count: PINGS,
    intervalSeconds: 0.1,
    deadlineSeconds: Math.ceil(PINGS / 10) + 2,
  });
  await new Promise((resolve) => setTimeout(resolve, EVENT_AFTER_MS));
  const carrier = busiest(before, await lab.fleet.relayTraffic());
  await event(carrier);
  const result = await ping;
  return { ping: result, carrier, lost: result.transmitted - result.received };
}

/**
 * RUNS flows, each warmed up first; `event` acts on the carrier and returns what to report of it;
 * `restore` brings the carrier back (restart, wait for the router). The losses, in run order.
 */
export async function measureRuns(
  t: TestContext,
  lab: Lab,
  address: string,
  runs: number,
  event: (carrier: string) => Promise<string>,
  restore: (carrier: string) => Promise<void>,
): Promise<number[]> {
  const losses: number[] = [];
  for (let run = 1; run <= runs; run += 1) {
    await warmUp(t, lab, address);
    let what = '';
    const flow = await flowThrough(lab, address, async (carrier) => {
      what = await event(carrier);
    });
    losses.push(flow.lost);
    t.diagnostic(
      `run ${run}: ${flow.carrier}: ${what}; ${flow.lost} of ${flow.ping.transmitted} lost (seq ${lostSequences(flow.ping)})`,
    );
    await restore(flow.carrier);
  }
  t.diagnostic(`lost per run: ${losses.join(', ')} (of ${PINGS})`);
  return losses;
}

/** Which pings went unanswered, as seq ranges (for the report). */
export function lostSequences(ping: PingResult): string {
  const answered = new Set([...ping.transcript.matchAll(/icmp_seq=(\d+)/g)].map((match) => Number(match[1])));
  const lost: number[] = [];
  for (let seq = 1; seq <= ping.transmitted; seq += 1) if (!answered.has(seq)) lost.push(seq);
  const ranges: string[] = [];
  for (let i = 0; i < lost.length;) {
    let j = i;
    while (j + 1 < lost.length && lost[j + 1] === (lost[j] ?? 0) + 1) j += 1;
    ranges.push(i === j ? `${lost[i]}` : `${lost[i]}-${lost[j]}`);
    i = j + 1;
  }
  return ranges.join(', ') || 'none';
}
