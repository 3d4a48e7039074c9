/**
 * UDP through the relay, 64-byte payloads, both ways, with the synthetic clients of
 * bench-relay-packets.ts: making the relay trust them, one trial at a given rate (relay CPU
 * included), and the loss-free search turned into figures.
 */
import type { AgentHandle } from './bench-relay-agent-handle.js';
import { counterPlace, readCounter, settledCounter } from './bench-relay-counters.js';
import type { CounterNodes, Direction } from './bench-relay-counters.js';
import { cpuSecondsBetween, cpuSecondsByPid } from './bench-relay-cpu.js';
import { dropsBetween, readRelayDrops } from './bench-relay-drops.js';
import type { UdpFigures } from './bench-relay-report.js';
import { deliveredRate, lossFraction, searchLossFree, sendRate } from './bench-relay-search.js';
import type { SearchOptions, Trial } from './bench-relay-search.js';
import type { Lab } from './lab/index.js';

export interface UdpContext {
  readonly lab: Lab;
  readonly nodes: CounterNodes;
  /** The fake clients' agent (in nodes.clientNode) and the IPv6 host's (in nodes.hostNode). */
  readonly clients: AgentHandle;
  readonly host: AgentHandle;
  readonly relayNode: string;
  /** The relay's tunnel interface, whose queue drops are counted. */
  readonly relayInterface: string;
  readonly trialSeconds: number;
  readonly search: SearchOptions;
  /** Told about every trial, for the progress output. */
  readonly onTrial?: (direction: Direction, trial: Trial) => void;
}

const VERIFY_RATE = 2000;
const VERIFY_SECONDS = 0.25;

export async function runTrial(
  context: UdpContext,
  direction: Direction,
  rate: number,
  seconds: number,
): Promise<Trial> {
  const place = counterPlace(direction, context.nodes);
  // A bubble from every client keeps the relay's entries fresh (Miredo: valid 30 s after the last packet received).
  await context.clients.send({ op: 'bubbles' });
  const pids = await context.lab.namespace(context.relayNode).pids();
  const before = await readCounter(context.lab, place);
  const cpuBefore = cpuSecondsByPid(pids);
  const dropsBefore = readRelayDrops(pids, context.relayInterface);
  const agent = direction === 'client-to-host' ? context.clients : context.host;
  const sent = await agent.send({ op: 'blast', rate, seconds });
  const after = await settledCounter(context.lab, place);
  const trial: Trial = {
    rate,
    sent: sent.sent,
    delivered: after - before,
    seconds: sent.seconds,
    relayCpuSeconds: cpuSecondsBetween(cpuBefore, cpuSecondsByPid(pids)),
    relayDrops: dropsBetween(dropsBefore, readRelayDrops(pids, context.relayInterface)),
  };
  context.onTrial?.(direction, trial);
  return trial;
}

/**
 * A relay forwards a Teredo client's packets only once it has an entry for it (Miredo's relay
 * drops unknown peers): the host sends each client a packet (the relay queues it and asks the
 * client, through the server, for a bubble), each client answers with a bubble straight to the
 * relay, which then trusts it. Verified with a slow trial each way.
 */
export async function establishFakeClients(context: UdpContext): Promise<void> {
  await context.host.send({ op: 'prime' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await context.clients.send({ op: 'bubbles' });
  for (const direction of ['client-to-host', 'host-to-client'] as const) {
    const trial = await runTrial(context, direction, VERIFY_RATE, VERIFY_SECONDS);
    if (trial.sent === 0 || trial.delivered < trial.sent * 0.9) {
      throw new Error(
        `the relay forwards ${trial.delivered} of ${trial.sent} slow ${direction} packets: ` +
          'it does not accept the synthetic clients',
      );
    }
  }
}

export async function measureUdp(context: UdpContext, direction: Direction): Promise<UdpFigures> {
  const result = await searchLossFree(
    (rate) => runTrial(context, direction, rate, context.trialSeconds),
    context.search,
  );
  const best = result.best;
  return {
    lossFreePacketsPerSecond: best === null ? 0 : Math.round(deliveredRate(best)),
    limitedByGenerator: result.limitedByGenerator,
    lowestFailingRate: result.lowestFailingRate,
    generatorPacketsPerSecond: Math.round(sendRate(result.flatOut)),
    overloadDeliveredPerSecond: Math.round(deliveredRate(result.flatOut)),
    cpuMicrosecondsPerPacket:
      best === null || best.delivered === 0
        ? null
        : Number(((best.relayCpuSeconds / best.delivered) * 1e6).toFixed(3)),
    relayCpuLoad: best === null ? null : Number((best.relayCpuSeconds / best.seconds).toFixed(3)),
    trials: result.trials,
  };
}

export function describeTrial(direction: Direction, trial: Trial): string {
  const n = (value: number): string => Math.round(value).toLocaleString('en-US');
  const rate = trial.rate === 0 ? 'flat out' : `${n(trial.rate)} pkt/s`;
  const drops = trial.relayDrops;
  return (
    `  ${direction} ${rate}: sent ${n(sendRate(trial))}/s, delivered ${n(trial.delivered)} of ${n(trial.sent)} ` +
    `(${(lossFraction(trial) * 100).toFixed(2)} % lost), relay CPU ${trial.relayCpuSeconds.toFixed(2)} s` +
    (drops == null
      ? ''
      : `, relay drops: UDP buffer ${n(drops.udpReceiveBuffer)}, TUN queue ${n(drops.tunQueue)}`)
  );
}
