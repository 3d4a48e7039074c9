/**
 * The anycast relay fleet's part of a lab plan (pure): a router namespace between the native
 * IPv6 host and 1-3 relays, each relay with a point-to-point link to the router over which its
 * BIRD announces 2001::/32 by BGP; the router installs one ECMP route with a nexthop per relay.
 *
 *   wan ── br0 ── server 198.51.100.1 + .2, 2001:db8:1::1 (2001:db8:2::/64 via the router)
 *              ├── router 2001:db8:1::fe ─ h0 2001:db8:2::1 ── ipv6host 2001:db8:2::2
 *              │          └─ r<i> 2001:db8:10:<i>::1 ── up0 2001:db8:10:<i>::2 of relay<i>
 *              ├── relay<i> 198.51.100.(90+i) (IPv6 only through its uplink)
 *              │   sharedIPv4: + 198.51.100.90/32 on lo, announced to the router 198.51.100.254
 *              └── NATs and clients as in any lab
 */

export interface AnycastSpec {
  /** How many relays (relay1, relay2, ...): 1 to 3. */
  readonly relays: number;
  /** BFD between the router and each relay (100 ms, multiplier 3). Default off. */
  readonly bfd?: boolean;
  /** The relays' BIRD kernel protocol scan time in seconds (BIRD also hears changes at once over netlink). Default 1. */
  readonly scanTimeS?: number;
  /** The kernel routing table the relays' BIRD learns 2001::/32 from. Default 254 (main). */
  readonly learnTable?: number;
  /**
   * Slow convergence: every BGP message from a relay reaches the router this much later (a
   * delaying TCP proxy in the relay's namespace). Default 0 (direct session).
   */
  readonly bgpDelayMs?: number;
  /**
   * The router's ECMP hash (net.ipv6.fib_multipath_hash_policy): 1 (the default) hashes the
   * 5-tuple, ICMP echo identifiers included, so flows between the same two hosts may take
   * different relays; 0 hashes addresses only, so all of them take one relay.
   */
  readonly hashPolicy?: 0 | 1;
  /**
   * What announces each relay's route: BIRD (the default), or FRR (frr.ts: examples/frr-relay.conf,
   * with BFD; the relays keep their route in the main table, so learnTable is not for it). The
   * router runs BIRD either way.
   */
  readonly routing?: FleetRouting;
  /**
   * The relays share one IPv4 address (FLEET_SHARED_IPV4 on each relay's loopback), which their
   * BIRD announces to the router over an IPv4 session on the WAN while the relay's AnnounceTable
   * holds it (SharedRelayAddress); the router spreads IPv4 flows over them by 5-tuple too, and
   * the NATs reach the shared address through the router (ROUTER_WAN_IPV4). Relays must then be
   * started with BindAddress FLEET_SHARED_IPV4, a BindPort, SharedRelayAddress and an
   * AnnounceTable equal to `learnTable`. Default off; BIRD only.
   */
  readonly sharedIPv4?: boolean;
}

export type FleetRouting = 'bird' | 'frr';

/** A relay's link to the router. */
export interface RelayUplink {
  /** The relay's end, in the relay's namespace. */
  readonly interfaceName: string;
  readonly ipv6: string;
  /** The router's end, in the router's namespace. */
  readonly routerInterface: string;
  readonly routerIPv6: string;
}

export interface FleetSettings {
  readonly bfd: boolean;
  readonly scanTimeS: number;
  readonly learnTable: number;
  readonly bgpDelayMs: number;
  readonly hashPolicy: 0 | 1;
  /** Set only for FRR: BIRD without it. */
  readonly routing?: 'frr';
  /** Set only when the relays share an IPv4 address (AnycastSpec.sharedIPv4). */
  readonly sharedIPv4?: true;
}

export const MAX_FLEET_RELAYS = 3;
export const ROUTER_WAN_IPV6 = '2001:db8:1::fe';
export const ROUTER_HOST_IPV6 = '2001:db8:2::1';
export const FLEET_IPV6HOST_IPV6 = '2001:db8:2::2';
export const FLEET_HOST_PREFIX = '2001:db8:2::/64';
/** A BIRD router id (any 32-bit number written as IPv4); not an address of the lab. */
export const ROUTER_ID = '192.0.2.254';
export const ROUTER_AS = 65000;
export const RELAYS_AS = 65001;
export const MAIN_TABLE = 254;
/** The relays' shared IPv4 address (AnycastSpec.sharedIPv4) and the router's IPv4 on the WAN. */
export const FLEET_SHARED_IPV4 = '198.51.100.90';
export const ROUTER_WAN_IPV4 = '198.51.100.254';

export function fleetRelayName(index: number): string {
  return `relay${index + 1}`;
}

export function fleetRelayIPv4(index: number): string {
  return `198.51.100.${91 + index}`;
}

export function relayUplink(index: number): RelayUplink {
  const link = `2001:db8:10:${index + 1}::`;
  return {
    interfaceName: 'up0',
    ipv6: `${link}2`,
    routerInterface: `r${index + 1}`,
    routerIPv6: `${link}1`,
  };
}

/** The settings with their defaults; throws on a spec that cannot be built. */
export function fleetSettings(spec: AnycastSpec): FleetSettings {
  if (!Number.isInteger(spec.relays) || spec.relays < 1 || spec.relays > MAX_FLEET_RELAYS)
    throw new Error(`anycast.relays must be 1 to ${MAX_FLEET_RELAYS}`);
  const scanTimeS = spec.scanTimeS ?? 1;
  if (!Number.isInteger(scanTimeS) || scanTimeS < 1)
    throw new Error('anycast.scanTimeS must be a whole >= 1');
  const bgpDelayMs = spec.bgpDelayMs ?? 0;
  if (bgpDelayMs < 0 || bgpDelayMs > 30_000) throw new Error('anycast.bgpDelayMs must be 0 to 30000');
  if (bgpDelayMs > 0 && spec.bfd === true) throw new Error('anycast.bgpDelayMs and bfd do not go together');
  const learnTable = spec.learnTable ?? MAIN_TABLE;
  if (!Number.isInteger(learnTable) || learnTable < 1 || learnTable > 0xfffffffe)
    throw new Error('anycast.learnTable must be a kernel table id');
  const routing = spec.routing ?? 'bird';
  if (routing === 'frr' && (spec.learnTable !== undefined || bgpDelayMs > 0 || spec.bfd === false))
    throw new Error(
      'anycast.routing frr takes the example as it is: no learnTable, bgpDelayMs nor bfd false',
    );
  if (spec.sharedIPv4 === true && (routing === 'frr' || bgpDelayMs > 0))
    throw new Error('anycast.sharedIPv4 goes with BIRD and without bgpDelayMs');
  // frr-relay.conf has BFD: the router's BIRD must run it too.
  const bfd = routing === 'frr' || (spec.bfd ?? false);
  const settings = {
    bfd,
    scanTimeS,
    learnTable,
    bgpDelayMs,
    hashPolicy: spec.hashPolicy ?? 1,
    ...(spec.sharedIPv4 === true ? { sharedIPv4: true as const } : {}),
  };
  return routing === 'frr' ? { ...settings, routing } : settings;
}
