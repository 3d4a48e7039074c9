/**
 * BIRD 2 configuration for the anycast fleet (pure): the router takes 2001::/32 from every relay
 * by eBGP and installs one route with a nexthop per relay (ECMP); each relay's BIRD learns the
 * route its Teredo relay keeps in the kernel and announces it while it is there.
 * examples/bird-relay.conf is the commented version for operators.
 */
import { FLEET_SHARED_IPV4, RELAYS_AS, ROUTER_AS, ROUTER_ID, ROUTER_WAN_IPV4 } from './fleet-plan.js';
import type { FleetSettings, RelayUplink } from './fleet-plan.js';
import { TEREDO_PREFIX_ROUTE } from './plan.js';

/** BFD: 100 ms both ways, down after 3 missed. */
const BFD_INTERVAL = 'interval 100 ms; multiplier 3;';
/** The port a relay's BGP session is redirected to when its messages are delayed (bgp-delay.ts). */
export const BGP_DELAY_PORT = 1179;

/** BGP hold and keepalive times: as short as BGP allows, longer when the lab delays messages. */
export function bgpTimers(fleet: FleetSettings): { holdS: number; keepaliveS: number } {
  if (fleet.bgpDelayMs === 0) return { holdS: 3, keepaliveS: 1 };
  const holdS = Math.ceil((3 * fleet.bgpDelayMs) / 1000) + 6;
  return { holdS, keepaliveS: Math.max(1, Math.floor(holdS / 3)) };
}

function sessionTimers(fleet: FleetSettings): string[] {
  const { holdS, keepaliveS } = bgpTimers(fleet);
  return [
    `  hold time ${holdS};`,
    `  keepalive time ${keepaliveS};`,
    '  connect delay time 1;',
    '  connect retry time 1;',
    '  error wait time 1, 4;',
  ];
}

export interface RouterPeer {
  readonly name: string;
  readonly uplink: RelayUplink;
  /** The relay's own IPv4 on the WAN: its IPv4 session's end (sharedIPv4). */
  readonly ipv4: string;
}

const SHARED_ROUTE = `${FLEET_SHARED_IPV4}/32`;
/** The WAN interface of the router and of every relay: the IPv4 sessions of sharedIPv4 run there. */
const WAN_INTERFACE = 'wan0';

/** The name of a relay's IPv4 session (sharedIPv4), on the router. */
export function ipv4SessionName(relay: string): string {
  return `${relay}_v4`;
}

export function routerBirdConfig(fleet: FleetSettings, peers: readonly RouterPeer[]): string {
  const lines = [
    `router id ${ROUTER_ID};`,
    'log stderr all;',
    'protocol device { scan time 10; }',
    // One kernel route with every equal BGP path as a nexthop.
    'protocol kernel { ipv6 { import none; export all; }; merge paths on; }',
  ];
  if (fleet.sharedIPv4)
    lines.push('protocol kernel kernel4 { ipv4 { import none; export all; }; merge paths on; }');
  if (fleet.bfd) {
    const interfaces = [
      ...peers.map((peer) => `"${peer.uplink.routerInterface}"`),
      ...(fleet.sharedIPv4 ? [`"${WAN_INTERFACE}"`] : []),
    ].join(', ');
    lines.push(`protocol bfd { interface ${interfaces} { ${BFD_INTERVAL} }; }`);
  }
  for (const peer of peers) {
    lines.push(
      `protocol bgp ${peer.name} {`,
      `  local ${peer.uplink.routerIPv6} as ${ROUTER_AS};`,
      `  neighbor ${peer.uplink.ipv6} as ${RELAYS_AS};`,
      // The relay opens the session (through bgp-delay.ts when messages are delayed).
      '  passive on;',
      ...sessionTimers(fleet),
      `  bfd ${fleet.bfd ? 'on' : 'off'};`,
      `  ipv6 { import where net = ${TEREDO_PREFIX_ROUTE}; export none; };`,
      '}',
    );
    if (!fleet.sharedIPv4) continue;
    lines.push(
      `protocol bgp ${ipv4SessionName(peer.name)} {`,
      `  local ${ROUTER_WAN_IPV4} as ${ROUTER_AS};`,
      `  neighbor ${peer.ipv4} as ${RELAYS_AS};`,
      '  passive on;',
      ...sessionTimers(fleet),
      `  bfd ${fleet.bfd ? 'on' : 'off'};`,
      `  ipv4 { import where net = ${SHARED_ROUTE}; export none; };`,
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function relayBirdConfig(fleet: FleetSettings, routerId: string, uplink: RelayUplink): string {
  const lines = [
    `router id ${routerId};`,
    'log stderr all;',
    'protocol device { scan time 10; }',
    'protocol kernel {',
    `  kernel table ${fleet.learnTable};`,
    '  learn;',
    `  scan time ${fleet.scanTimeS};`,
    `  ipv6 { import where net = ${TEREDO_PREFIX_ROUTE}; export none; };`,
    '}',
  ];
  if (fleet.sharedIPv4) {
    lines.push(
      'protocol kernel kernel4 {',
      `  kernel table ${fleet.learnTable};`,
      '  learn;',
      `  scan time ${fleet.scanTimeS};`,
      `  ipv4 { import where net = ${SHARED_ROUTE}; export none; };`,
      '}',
    );
  }
  if (fleet.bfd) {
    const interfaces = [uplink.interfaceName, ...(fleet.sharedIPv4 ? [WAN_INTERFACE] : [])];
    lines.push(
      `protocol bfd { interface ${interfaces.map((name) => `"${name}"`).join(', ')} { ${BFD_INTERVAL} }; }`,
    );
  }
  lines.push(
    'protocol bgp uplink {',
    `  local ${uplink.ipv6} as ${RELAYS_AS};`,
    `  neighbor ${uplink.routerIPv6} as ${ROUTER_AS};`,
    // Through bgp-delay.ts (over loopback): a direct session would bind its socket to the uplink.
    ...(fleet.bgpDelayMs > 0 ? ['  multihop;'] : []),
    ...sessionTimers(fleet),
    `  bfd ${fleet.bfd ? 'on' : 'off'};`,
    `  ipv6 { import none; export where net = ${TEREDO_PREFIX_ROUTE}; };`,
    '}',
  );
  if (fleet.sharedIPv4) {
    lines.push(
      'protocol bgp uplink4 {',
      `  local ${routerId} as ${RELAYS_AS};`,
      `  neighbor ${ROUTER_WAN_IPV4} as ${ROUTER_AS};`,
      ...sessionTimers(fleet),
      `  bfd ${fleet.bfd ? 'on' : 'off'};`,
      `  ipv4 { import none; export where net = ${SHARED_ROUTE}; };`,
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}
