/**
 * FRR on the fleet's relays (AnycastSpec routing 'frr'), pure: examples/frr-relay.conf itself,
 * with relay1's addresses replaced by the relay's, so the lab runs exactly what operators are
 * given. FRR 8.4 learns IPv6 routes from the main table only: our relays then keep their
 * announcement route there (AnnounceTable 254) with the metric the example matches.
 */
import type { RelayUplink } from './fleet-plan.js';

/** The relay directives frr-relay.conf expects. */
export const FRR_ANNOUNCE_TABLE = 254;
export const FRR_ANNOUNCE_METRIC = 1000;
export const FRR_RELAY_DIRECTIVES: readonly string[] = [
  `AnnounceTable ${FRR_ANNOUNCE_TABLE}`,
  `AnnounceMetric ${FRR_ANNOUNCE_METRIC}`,
];
/** The FRR daemons a relay runs, in start order (zebra first: the others connect to it). */
export const FRR_DAEMONS = ['zebra', 'bfdd', 'bgpd'] as const;
export type FrrDaemon = (typeof FRR_DAEMONS)[number];

/** What frr-relay.conf says of relay1, the example's host. */
const EXAMPLE = {
  hostname: 'hostname relay1',
  routerId: '198.51.100.91',
  routerIPv6: '2001:db8:10:1::1',
};

export interface FrrRelay {
  readonly name: string;
  /** Its BGP router id: its IPv4 address. */
  readonly routerId: string;
  readonly uplink: RelayUplink;
}

/** `example` (frr-relay.conf's text) for `relay`; throws if the example no longer names relay1's addresses. */
export function relayFrrConfig(example: string, relay: FrrRelay): string {
  let text = example;
  for (const [from, to] of [
    [EXAMPLE.hostname, `hostname ${relay.name}`],
    [EXAMPLE.routerId, relay.routerId],
    [EXAMPLE.routerIPv6, relay.uplink.routerIPv6],
  ] as const) {
    if (!text.includes(from)) throw new Error(`frr-relay.conf no longer has "${from}"`);
    text = text.split(from).join(to);
  }
  return text;
}

/** A daemon's command line: every path in `directory` (sockets, pid file), none of /run/frr's. */
export function frrDaemonArgs(daemon: FrrDaemon, directory: string): string[] {
  const args = [
    '--log',
    'stdout',
    '--vty_socket',
    directory,
    '-z',
    `${directory}/zserv.api`,
    '-i',
    `${directory}/${daemon}.pid`,
    '-f',
    `${directory}/empty.conf`,
  ];
  if (daemon === 'bfdd') args.push('--bfdctl', `${directory}/bfdd.sock`);
  return args;
}
