/**
 * What a lab looks like before anything is built: the nodes, their namespaces, interfaces and
 * addresses, derived from a small spec. Pure, so the address plan can be checked without root.
 *
 *   wan ── bridge br0 ── server   198.51.100.1 + .2, 2001:db8:1::1
 *                   ├── relay    198.51.100.3, 2001:db8:1::3 (IPv6 forwarding)
 *                   ├── ipv6host 2001:db8:1::2, 2001::/32 via the relay
 *                   ├── NAT i    198.51.100.(10+i) ── bridge lan0 10.(i+1).0.1/24 ── clients 10.(i+1).0.(2+j)
 *                   │                                      (ephemeral UDP ports 20000+100j to 20099+100j)
 *                   └── direct client k (no NAT) 198.51.100.(100+k)
 *
 * With `anycast`, relay1..relayN and a BGP router replace the relay, and the IPv6 host sits
 * behind the router (fleet-plan.ts has that picture).
 */

import {
  FLEET_IPV6HOST_IPV6,
  fleetRelayIPv4,
  fleetRelayName,
  fleetSettings,
  ROUTER_HOST_IPV6,
  ROUTER_WAN_IPV4,
  ROUTER_WAN_IPV6,
  relayUplink,
} from './fleet-plan.js';
import type { AnycastSpec, FleetSettings, RelayUplink } from './fleet-plan.js';
import { supportsHairpinning } from './nat-kinds.js';
import type { NatKind } from './nat-kinds.js';

export type { NatKind } from './nat-kinds.js';

export interface NatSpec {
  readonly name: string;
  readonly kind: NatKind;
  /** Names of the client nodes behind this NAT, in address order. */
  readonly clients: readonly string[];
  /** Clients reach each other's public mappings through the NAT (port-preserving kinds only). */
  readonly hairpin?: boolean;
  /**
   * The NAT's conntrack timeout for UDP mappings that saw one reply (Linux: 30 s; Miredo
   * refreshes every 30 s, so its mapping lapses just before). Left alone when absent.
   */
  readonly udpTimeoutSeconds?: number;
}

export interface LabSpec {
  readonly nats?: readonly NatSpec[];
  /** Client nodes directly on the WAN, without NAT (for debugging). */
  readonly directClients?: readonly string[];
  /**
   * An anycast relay fleet (fleet-plan.ts) instead of the one relay: relay1..relayN, a BGP
   * router running BIRD, and the IPv6 host behind that router.
   */
  readonly anycast?: AnycastSpec;
}

export type NodeRole = 'wan' | 'server' | 'relay' | 'router' | 'ipv6host' | 'nat' | 'client';

interface NodeBase {
  readonly name: string;
  /** Namespace name: unique per lab. */
  readonly netns: string;
}

export interface WanNode extends NodeBase {
  readonly role: 'wan';
  readonly bridge: string;
}

/** A node with one interface on the WAN bridge. */
interface PublicNode extends NodeBase {
  /** Its interface (inside its namespace) and the bridge port (inside the wan namespace). */
  readonly interfaceName: string;
  readonly bridgePort: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

export interface ServerNode extends PublicNode {
  readonly role: 'server';
}

export interface RelayNode extends PublicNode {
  readonly role: 'relay';
  /** In an anycast fleet, its link to the router (its only IPv6); null for the lone relay. */
  readonly uplink: RelayUplink | null;
}

/** The anycast fleet's BGP router (BIRD, ECMP): on the WAN, with the IPv6 host and every relay behind it. */
export interface RouterNode extends PublicNode {
  readonly role: 'router';
  readonly hostInterface: string;
  readonly hostIPv6: string;
  /** The relays' node names, in order. */
  readonly relays: readonly string[];
  readonly fleet: FleetSettings;
}

export interface Ipv6HostNode extends PublicNode {
  readonly role: 'ipv6host';
  /** The route that makes the relay (or the router) this host's way to every Teredo address. */
  readonly teredoRoute: { readonly prefix: string; readonly via: string };
  /** Plugged into this router's namespace instead of the WAN bridge (an anycast fleet). */
  readonly router: string | null;
}

/** First and last port, inclusive. */
export type PortRange = readonly [number, number];

/** A client behind a NAT as the NAT's rules see it. */
export interface NatClientEndpoint {
  readonly ipv4: string;
  readonly ports: PortRange;
}

export interface NatNode extends PublicNode {
  readonly role: 'nat';
  readonly kind: NatKind;
  readonly hairpin: boolean;
  readonly wanIPv4: string;
  readonly lanBridge: string;
  readonly lanIPv4: string;
  readonly lanPrefix: string;
  readonly clients: readonly string[];
  /** The clients' addresses and port ranges, in the order of `clients`. */
  readonly clientEndpoints: readonly NatClientEndpoint[];
  readonly udpTimeoutSeconds: number | null;
}

export interface ClientNode extends NodeBase {
  readonly role: 'client';
  readonly interfaceName: string;
  readonly ipv4: string;
  /** Behind this NAT, or null when directly on the WAN. */
  readonly nat: string | null;
  /** Where its interface is plugged: a port of the NAT's LAN bridge or of the WAN bridge. */
  readonly attachment: { readonly node: string; readonly bridge: string; readonly port: string };
  readonly gatewayIPv4: string | null;
  /**
   * Behind a NAT, the client's ephemeral ports (ip_local_port_range): every client of a NAT
   * has its own range, so the NAT can keep a client's port as its public port and knows which
   * client a public port belongs to. Null for a client directly on the WAN.
   */
  readonly portRange: PortRange | null;
}

export type LabNode = WanNode | ServerNode | RelayNode | RouterNode | Ipv6HostNode | NatNode | ClientNode;

export interface LabPlan {
  readonly id: string;
  /** Every node by name, in build order (wan first). */
  readonly nodes: ReadonlyMap<string, LabNode>;
}

export const IPV4_PREFIX_LENGTH = 24;
export const IPV6_PREFIX_LENGTH = 64;
export const SERVER_IPV4 = ['198.51.100.1', '198.51.100.2'] as const;
export const SERVER_IPV6 = '2001:db8:1::1';
export const IPV6HOST_IPV6 = '2001:db8:1::2';
export const RELAY_IPV4 = '198.51.100.3';
export const RELAY_IPV6 = '2001:db8:1::3';
export const TEREDO_PREFIX_ROUTE = '2001::/32';
export const MAX_NATS = 80;
export const MAX_CLIENTS_PER_NAT = 200;
export const MAX_DIRECT_CLIENTS = 100;

export function natWanIPv4(index: number): string {
  return `198.51.100.${10 + index}`;
}

export function natLanIPv4(index: number): string {
  return `10.${index + 1}.0.1`;
}

export function natLanPrefix(index: number): string {
  return `10.${index + 1}.0.0/${IPV4_PREFIX_LENGTH}`;
}

export function natClientIPv4(natIndex: number, clientIndex: number): string {
  return `10.${natIndex + 1}.0.${2 + clientIndex}`;
}

/** Ports per client behind a NAT: client j uses CLIENT_PORT_BASE + j × CLIENT_PORT_BLOCK onwards. */
export const CLIENT_PORT_BASE = 20_000;
export const CLIENT_PORT_BLOCK = 100;

export function natClientPortRange(clientIndex: number): PortRange {
  const first = CLIENT_PORT_BASE + clientIndex * CLIENT_PORT_BLOCK;
  return [first, first + CLIENT_PORT_BLOCK - 1];
}

export function directClientIPv4(index: number): string {
  return `198.51.100.${100 + index}`;
}

const FIXED_NODES: readonly string[] = ['wan', 'server', 'relay', 'ipv6host', 'router'];
const NODE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/** The whole topology for `spec`; throws on a spec that cannot be built (duplicate names, too many nodes). */
export function planLab(spec: LabSpec, id: string): LabPlan {
  if (!/^[a-z0-9]{1,12}$/.test(id)) throw new Error(`lab id must be 1-12 lowercase letters or digits: ${id}`);
  const nats = spec.nats ?? [];
  const direct = spec.directClients ?? [];
  if (nats.length > MAX_NATS) throw new Error(`at most ${MAX_NATS} NATs`);
  if (direct.length > MAX_DIRECT_CLIENTS) throw new Error(`at most ${MAX_DIRECT_CLIENTS} direct clients`);

  const nodes = new Map<string, LabNode>();
  const add = (node: LabNode): void => {
    if (nodes.has(node.name)) {
      const why = FIXED_NODES.includes(node.name) ? `reserved (${FIXED_NODES.join(', ')})` : 'already used';
      throw new Error(`node name ${node.name} is ${why}`);
    }
    if (!NODE_NAME.test(node.name)) throw new Error(`node names are [a-z][a-z0-9-]{0,19}: ${node.name}`);
    nodes.set(node.name, node);
  };
  const netns = (name: string): string => `mtl-${id}-${name}`;
  let ports = 0;
  const bridgePort = (): string => `p${ports++}`;

  add({ role: 'wan', name: 'wan', netns: netns('wan'), bridge: 'br0' });
  add({
    role: 'server',
    name: 'server',
    netns: netns('server'),
    interfaceName: 'wan0',
    bridgePort: bridgePort(),
    ipv4: SERVER_IPV4,
    ipv6: [SERVER_IPV6],
  });
  if (spec.anycast === undefined) {
    add({
      role: 'relay',
      name: 'relay',
      netns: netns('relay'),
      interfaceName: 'wan0',
      bridgePort: bridgePort(),
      ipv4: [RELAY_IPV4],
      ipv6: [RELAY_IPV6],
      uplink: null,
    });
    add({
      role: 'ipv6host',
      name: 'ipv6host',
      netns: netns('ipv6host'),
      interfaceName: 'wan0',
      bridgePort: bridgePort(),
      ipv4: [],
      ipv6: [IPV6HOST_IPV6],
      teredoRoute: { prefix: TEREDO_PREFIX_ROUTE, via: RELAY_IPV6 },
      router: null,
    });
  } else {
    const fleet = fleetSettings(spec.anycast);
    const relays = Array.from({ length: spec.anycast.relays }, (_, index) => fleetRelayName(index));
    add({
      role: 'router',
      name: 'router',
      netns: netns('router'),
      interfaceName: 'wan0',
      bridgePort: bridgePort(),
      ipv4: fleet.sharedIPv4 ? [ROUTER_WAN_IPV4] : [],
      ipv6: [ROUTER_WAN_IPV6],
      hostInterface: 'h0',
      hostIPv6: ROUTER_HOST_IPV6,
      relays,
      fleet,
    });
    relays.forEach((name, index) => {
      add({
        role: 'relay',
        name,
        netns: netns(name),
        interfaceName: 'wan0',
        bridgePort: bridgePort(),
        ipv4: [fleetRelayIPv4(index)],
        ipv6: [],
        uplink: relayUplink(index),
      });
    });
    add({
      role: 'ipv6host',
      name: 'ipv6host',
      netns: netns('ipv6host'),
      interfaceName: 'eth0',
      bridgePort: '',
      ipv4: [],
      ipv6: [FLEET_IPV6HOST_IPV6],
      teredoRoute: { prefix: TEREDO_PREFIX_ROUTE, via: ROUTER_HOST_IPV6 },
      router: 'router',
    });
  }

  nats.forEach((nat, natIndex) => {
    if (nat.clients.length > MAX_CLIENTS_PER_NAT)
      throw new Error(`at most ${MAX_CLIENTS_PER_NAT} clients per NAT`);
    if (nat.hairpin === true && !supportsHairpinning(nat.kind))
      throw new Error(`${nat.name}: hairpinning needs a NAT that keeps the clients' ports, not ${nat.kind}`);
    add({
      role: 'nat',
      name: nat.name,
      netns: netns(nat.name),
      interfaceName: 'wan0',
      bridgePort: bridgePort(),
      ipv4: [natWanIPv4(natIndex)],
      ipv6: [],
      kind: nat.kind,
      hairpin: nat.hairpin ?? false,
      wanIPv4: natWanIPv4(natIndex),
      lanBridge: 'lan0',
      lanIPv4: natLanIPv4(natIndex),
      lanPrefix: natLanPrefix(natIndex),
      clients: nat.clients,
      clientEndpoints: nat.clients.map((_, clientIndex) => ({
        ipv4: natClientIPv4(natIndex, clientIndex),
        ports: natClientPortRange(clientIndex),
      })),
      udpTimeoutSeconds: nat.udpTimeoutSeconds ?? null,
    });
  });
  nats.forEach((nat, natIndex) => {
    nat.clients.forEach((client, clientIndex) => {
      add({
        role: 'client',
        name: client,
        netns: netns(client),
        interfaceName: 'eth0',
        ipv4: natClientIPv4(natIndex, clientIndex),
        nat: nat.name,
        attachment: { node: nat.name, bridge: 'lan0', port: `c${clientIndex}` },
        gatewayIPv4: natLanIPv4(natIndex),
        portRange: natClientPortRange(clientIndex),
      });
    });
  });
  direct.forEach((client, index) => {
    add({
      role: 'client',
      name: client,
      netns: netns(client),
      interfaceName: 'wan0',
      ipv4: directClientIPv4(index),
      nat: null,
      attachment: { node: 'wan', bridge: 'br0', port: bridgePort() },
      gatewayIPv4: null,
      portRange: null,
    });
  });
  return { id, nodes };
}
