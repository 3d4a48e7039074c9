/**
 * The relay benchmark's results: their JSON shape (bench/relay-results.json, and the `relay`
 * part of bench/results.json) and the table printed for people.
 */
import type { PeerTableFigures } from './bench-relay-peers.js';
import type { Trial } from './bench-relay-search.js';
import type { TcpRun } from './bench-relay-tcp.js';
import type { Implementation } from './lab/index.js';
import type { MachineDescription } from './bench-machine.js';

export interface UdpFigures {
  /** Delivered packets/s of the best loss-free trial (0 if none passed). */
  readonly lossFreePacketsPerSecond: number;
  /** The flat-out trial was loss-free: the relay may be faster than this. */
  readonly limitedByGenerator: boolean;
  /** The lowest rate that lost more than allowed (null if none did). */
  readonly lowestFailingRate: number | null;
  /** Flat out: what the generator sent and what the overloaded relay delivered, per second. */
  readonly generatorPacketsPerSecond: number;
  readonly overloadDeliveredPerSecond: number;
  /** Relay CPU time per delivered packet in the best loss-free trial, microseconds. */
  readonly cpuMicrosecondsPerPacket: number | null;
  /** Relay CPU seconds per second in that trial (1 = one core busy). */
  readonly relayCpuLoad: number | null;
  readonly trials: readonly Trial[];
}

export interface TcpFigures {
  /** Whose client carried the TCP test: the same one for both relays. */
  readonly client: Implementation;
  readonly clientToHost: TcpRun | null;
  readonly hostToClient: TcpRun | null;
  readonly error: string | null;
}

/** One relay measured once: started, measured, stopped. */
export interface RoundFigures {
  readonly udpClientToHost: UdpFigures | null;
  readonly udpHostToClient: UdpFigures | null;
  readonly tcp: TcpFigures | null;
  /** Why the relay could not be measured (fully or in part) in this round. */
  readonly error: string | null;
}

/** A relay's best figures over its rounds (each figure from whichever round did best), and every round. */
export interface RelayFigures extends RoundFigures {
  readonly impl: Implementation;
  readonly label: string;
  readonly rounds: readonly RoundFigures[];
}

function bestBy<T>(items: readonly (T | null)[], score: (item: T) => number): T | null {
  let best: T | null = null;
  for (const item of items) {
    if (item !== null && (best === null || score(item) > score(best))) best = item;
  }
  return best;
}

export function bestOfRounds(
  impl: Implementation,
  label: string,
  rounds: readonly RoundFigures[],
): RelayFigures {
  const lossFree = (udp: UdpFigures): number => udp.lossFreePacketsPerSecond;
  const tcpRuns = rounds.map((round) => round.tcp).filter((tcp): tcp is TcpFigures => tcp !== null);
  const mbit = (run: TcpRun): number => run.mbitPerSecond;
  const tcp: TcpFigures | null =
    tcpRuns.length === 0
      ? null
      : {
          client: tcpRuns[0]!.client,
          clientToHost: bestBy(
            tcpRuns.map((run) => run.clientToHost),
            mbit,
          ),
          hostToClient: bestBy(
            tcpRuns.map((run) => run.hostToClient),
            mbit,
          ),
          error: tcpRuns.every((run) => run.error !== null) ? (tcpRuns[0]!.error ?? null) : null,
        };
  return {
    impl,
    label,
    udpClientToHost: bestBy(
      rounds.map((round) => round.udpClientToHost),
      lossFree,
    ),
    udpHostToClient: bestBy(
      rounds.map((round) => round.udpHostToClient),
      lossFree,
    ),
    tcp,
    error: rounds.find((round) => round.error !== null)?.error ?? null,
    rounds,
  };
}

export interface QualificationFigures {
  readonly impl: Implementation;
  readonly label: string;
  /** From spawning the daemon to its Teredo address on the interface (polled every 25 ms). */
  readonly addressMs: readonly number[];
  /** From spawning the daemon to its "New Teredo address/MTU" log line. */
  readonly loggedMs: readonly number[];
  readonly medianAddressMs: number | null;
  readonly medianLoggedMs: number | null;
  readonly errors: readonly string[];
}

export interface RelayBenchReport {
  readonly benchmark: 'relay';
  readonly date: string;
  readonly machine: MachineDescription;
  readonly setup: Readonly<Record<string, string | number | boolean>>;
  readonly relays: readonly RelayFigures[];
  /** ours / Debian's, null when either figure is missing. */
  readonly ratios: Readonly<Record<string, number | null>>;
  readonly goals: Readonly<Record<string, { readonly goal: string; readonly met: boolean | null }>>;
  readonly qualification: readonly QualificationFigures[];
  readonly peerTable: PeerTableFigures | null;
  readonly peerTableError: string | null;
  readonly durationSeconds: number;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function ratio(ours: number | null | undefined, theirs: number | null | undefined): number | null {
  if (ours == null || theirs == null || theirs <= 0) return null;
  return Number((ours / theirs).toFixed(2));
}

const count = (value: number): string => Math.round(value).toLocaleString('en-US');

function cell(value: number | null | undefined, format: (value: number) => string): string {
  return value == null ? '-' : format(value);
}

/** Rows of [what, Debian, ours, ours/Debian] (a ratio of the figures: for times, lower is better). */
export function comparisonRows(report: RelayBenchReport): string[][] {
  const debian = report.relays.find((relay) => relay.impl === 'debian');
  const ours = report.relays.find((relay) => relay.impl === 'ours');
  const rows: string[][] = [];
  const add = (
    label: string,
    pick: (relay: RelayFigures) => number | null | undefined,
    format: (value: number) => string,
    prefix: (relay: RelayFigures) => string = () => '',
  ): void => {
    const a = debian === undefined ? null : pick(debian);
    const b = ours === undefined ? null : pick(ours);
    const r = ratio(b, a);
    const show = (relay: RelayFigures | undefined, value: number | null | undefined): string =>
      relay === undefined || value == null ? '-' : `${prefix(relay)}${format(value)}`;
    rows.push([label, show(debian, a), show(ours, b), r === null ? '-' : `${r.toFixed(2)}×`]);
  };
  // "≥": the generator's flat-out rate was delivered without loss, so the relay may do more.
  const atLeast =
    (pick: (relay: RelayFigures) => UdpFigures | null) =>
    (relay: RelayFigures): string =>
      pick(relay)?.limitedByGenerator === true ? '≥ ' : '';
  const c2h = (relay: RelayFigures): UdpFigures | null => relay.udpClientToHost;
  const h2c = (relay: RelayFigures): UdpFigures | null => relay.udpHostToClient;
  add('UDP loss-free client → host, pkt/s', (r) => c2h(r)?.lossFreePacketsPerSecond, count, atLeast(c2h));
  add('UDP loss-free host → client, pkt/s', (r) => h2c(r)?.lossFreePacketsPerSecond, count, atLeast(h2c));
  add('UDP flat out client → host, pkt/s', (r) => c2h(r)?.overloadDeliveredPerSecond, count, atLeast(c2h));
  add('UDP flat out host → client, pkt/s', (r) => h2c(r)?.overloadDeliveredPerSecond, count, atLeast(h2c));
  const micro = (value: number): string => value.toFixed(2);
  add('relay CPU µs/packet, client → host', (r) => r.udpClientToHost?.cpuMicrosecondsPerPacket, micro);
  add('relay CPU µs/packet, host → client', (r) => r.udpHostToClient?.cpuMicrosecondsPerPacket, micro);
  const mbit = (value: number): string => value.toFixed(0);
  add('TCP client → host, Mbit/s', (r) => r.tcp?.clientToHost?.mbitPerSecond, mbit);
  add('TCP host → client, Mbit/s', (r) => r.tcp?.hostToClient?.mbitPerSecond, mbit);
  const debianQualification = report.qualification.find((q) => q.impl === 'debian');
  const ourQualification = report.qualification.find((q) => q.impl === 'ours');
  const ms = (value: number): string => value.toFixed(0);
  for (const [label, pick] of [
    ['client qualification, address up, ms', (q: QualificationFigures) => q.medianAddressMs],
    ['client qualification, logged, ms', (q: QualificationFigures) => q.medianLoggedMs],
  ] as const) {
    const a = debianQualification === undefined ? null : pick(debianQualification);
    const b = ourQualification === undefined ? null : pick(ourQualification);
    const r = ratio(b, a);
    rows.push([label, cell(a, ms), cell(b, ms), r === null ? '-' : `${r.toFixed(2)}×`]);
  }
  return rows;
}

export function peerTableRows(figures: PeerTableFigures): string[][] {
  const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
  return [
    ['peers (capacity)', `${count(figures.peers)} (${count(figures.capacity)})`],
    ['table size, MB', mb(figures.tableBytes)],
    ['bytes per peer', figures.bytesPerPeer.toFixed(1)],
    ['of which in huge pages, MB', mb(figures.hugePageBytes)],
    ['inserts/s (control plane)', count(figures.insertsPerSecond)],
    ['lookups/s, 1 worker, hits', count(figures.hitsOneWorker.lookupsPerSecond)],
    ['lookups/s, 1 worker, misses', count(figures.missesOneWorker.lookupsPerSecond)],
    [
      `lookups/s, ${figures.hitsAllWorkers.workers} workers, hits`,
      `${count(figures.hitsAllWorkers.lookupsPerSecond)} (${figures.hitsAllWorkers.perWorker.map(count).join(' + ')})`,
    ],
  ];
}

/** Plain aligned columns: the first left-aligned, the others right-aligned. */
export function formatColumns(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((text, i) => (i === 0 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatReport(report: RelayBenchReport): string {
  const parts = [
    formatColumns(
      ['relay (same lab, same run)', "Debian's Miredo", 'ours', 'ours/Debian'],
      comparisonRows(report),
    ),
  ];
  if (report.peerTable !== null) {
    parts.push(formatColumns(['peer table', 'ours'], peerTableRows(report.peerTable)));
  } else if (report.peerTableError !== null) {
    parts.push(`peer table: ${report.peerTableError}`);
  }
  for (const relay of report.relays) {
    if (relay.error !== null) parts.push(`${relay.label}: ${relay.error}`);
    if (relay.tcp?.error != null) parts.push(`${relay.label}, TCP: ${relay.tcp.error}`);
  }
  for (const q of report.qualification) {
    if (q.errors.length > 0) parts.push(`${q.label} qualification: ${q.errors.join('; ')}`);
  }
  const goals = Object.entries(report.goals).map(
    ([name, { goal, met }]) =>
      `  ${name}: ${goal}: ${met === null ? 'not measured' : met ? 'met' : 'NOT met'}`,
  );
  parts.push(['goals (issue 6):', ...goals].join('\n'));
  return parts.join('\n\n');
}
