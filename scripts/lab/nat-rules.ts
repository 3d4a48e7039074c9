/**
 * Netfilter rules that make a namespace behave as a NAT of a given kind (nat-kinds.ts, and
 * lab-notes). Linux's NAT keeps one conntrack entry per flow (per destination address and port)
 * and keeps a flow's source port when no other flow holds that port towards that destination;
 * every kind is built from that:
 *
 * - cone (port-restricted): MASQUERADE, and NEW inbound UDP dropped on the WAN side. Every client
 *   has its own port range (plan.ts), so a client's port is free towards every destination and
 *   the mapping is endpoint-independent; the drop gives address-and-port-dependent filtering and
 *   keeps an unsolicited datagram from leaving a conntrack entry that would hold the port.
 * - full-cone: the same, plus the NAT forwards each client's port range to that client (DNAT):
 *   anyone reaches a mapping.
 * - address-restricted: full-cone's forwarding, but an inbound datagram that is not a reply is
 *   forwarded only if its source address is one the client has sent to (xt_recent, one list per
 *   client; the lists last as long as the lab).
 * - port-preserving-symmetric: MASQUERADE alone. A mapping per flow, on the client's port when
 *   free; an unsolicited datagram is not forwarded but its conntrack entry holds the port towards
 *   its sender, so the client's own flow to that sender later gets another port. The NAT's "port
 *   unreachable" answers are dropped, as a NAT that silently discards would.
 * - symmetric: MASQUERADE --random-fully, a random port for every flow.
 * - sequential-symmetric: netfilter has no sequential allocator, so SNAT rules for ports
 *   SEQUENTIAL_PORT_BASE.. take turns with the statistic match (nth mode): the n-th new UDP flow
 *   through the NAT (counting from 0) gets port BASE + (n mod SEQUENTIAL_PORTS). Inbound as for cone.
 * - hairpinning (option, kinds that keep the clients' ports): a datagram from the LAN to the NAT's
 *   public address and a client's port range goes to that client (DNAT), with the sender's public
 *   mapping as its source (SNAT to the public address, the port kept).
 */
import type { NatClientEndpoint, NatNode } from './plan.js';

export const SEQUENTIAL_PORT_BASE = 40_000;
export const SEQUENTIAL_PORTS = 256;

/** `iptables` argument lists (the table given with -t, filter otherwise), applied in order. */
export type IptablesRule = readonly string[];

type NatRuleInput = Pick<
  NatNode,
  'kind' | 'hairpin' | 'interfaceName' | 'lanBridge' | 'wanIPv4' | 'lanPrefix' | 'clientEndpoints'
>;

const portSpan = (client: NatClientEndpoint): string => `${client.ports[0]}:${client.ports[1]}`;

function dropNewInbound(wan: string): IptablesRule {
  return ['-A', 'INPUT', '-i', wan, '-p', 'udp', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP'];
}

function forwardPortRanges(nat: NatRuleInput, inbound: readonly string[]): IptablesRule[] {
  return nat.clientEndpoints.map((client) => [
    ...['-t', 'nat', '-A', 'PREROUTING', ...inbound, '-p', 'udp', '--dport', portSpan(client)],
    ...['-j', 'DNAT', '--to-destination', client.ipv4],
  ]);
}

function addressRestrictedFilter(nat: NatRuleInput): IptablesRule[] {
  const wan = nat.interfaceName;
  const list = (index: number): string => `contacted-${index}`;
  return [
    ...nat.clientEndpoints.map((client, index) => [
      ...['-A', 'FORWARD', '-o', wan, '-s', client.ipv4, '-p', 'udp'],
      ...['-m', 'recent', '--name', list(index), '--rdest', '--set'],
    ]),
    ['-A', 'FORWARD', '-i', wan, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
    ...nat.clientEndpoints.map((client, index) => [
      ...['-A', 'FORWARD', '-i', wan, '-d', client.ipv4, '-p', 'udp'],
      ...['-m', 'recent', '--name', list(index), '--rsource', '--rcheck', '-j', 'ACCEPT'],
    ]),
    ['-A', 'FORWARD', '-i', wan, '-p', 'udp', '-j', 'DROP'],
  ];
}

function sequentialMapping(nat: NatRuleInput): IptablesRule[] {
  // iptables-nft makes the statistic match nft's `numgen inc mod EVERY == PACKET`: a counter of
  // the flows the rule sees, from 0, so `--packet 0` takes the first of every EVERY. Rule k sees
  // the flows rules 0..k-1 let pass, SEQUENTIAL_PORTS - k of every turn, and takes the first: flow
  // k of the turn. (iptables-legacy's xt_statistic starts its count elsewhere: not used here.)
  return Array.from({ length: SEQUENTIAL_PORTS }, (_, k) => [
    ...['-t', 'nat', '-A', 'POSTROUTING', '-o', nat.interfaceName, '-p', 'udp'],
    ...['-m', 'statistic', '--mode', 'nth', '--every', String(SEQUENTIAL_PORTS - k), '--packet', '0'],
    ...['-j', 'SNAT', '--to-source', `${nat.wanIPv4}:${SEQUENTIAL_PORT_BASE + k}`],
  ]);
}

function hairpinning(nat: NatRuleInput): IptablesRule[] {
  return [
    ...forwardPortRanges(nat, ['-i', nat.lanBridge, '-d', nat.wanIPv4]),
    [
      ...['-t', 'nat', '-A', 'POSTROUTING', '-o', nat.lanBridge, '-s', nat.lanPrefix, '-d', nat.lanPrefix],
      ...['-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'SNAT', '--to-source', nat.wanIPv4],
    ],
  ];
}

function kindRules(nat: NatRuleInput): IptablesRule[] {
  const wan = nat.interfaceName;
  const masquerade = ['-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MASQUERADE'];
  const fromWan = ['-i', wan];
  switch (nat.kind) {
    case 'cone':
      return [masquerade, dropNewInbound(wan)];
    case 'full-cone':
      return [masquerade, ...forwardPortRanges(nat, fromWan), dropNewInbound(wan)];
    case 'address-restricted':
      return [
        masquerade,
        ...forwardPortRanges(nat, fromWan),
        ...addressRestrictedFilter(nat),
        dropNewInbound(wan),
      ];
    case 'port-preserving-symmetric':
      return [
        masquerade,
        ['-A', 'OUTPUT', '-o', wan, '-p', 'icmp', '--icmp-type', 'port-unreachable', '-j', 'DROP'],
      ];
    case 'symmetric':
      return [[...masquerade, '--random-fully']];
    case 'sequential-symmetric':
      // UDP takes the sequential rules; MASQUERADE after them serves the rest (ICMP).
      return [...sequentialMapping(nat), masquerade, dropNewInbound(wan)];
  }
}

export function natRules(nat: NatRuleInput): readonly IptablesRule[] {
  return [...kindRules(nat), ...(nat.hairpin ? hairpinning(nat) : [])];
}

/** The rules as `iptables-restore --noflush` input: one load instead of a command per rule. */
export function iptablesRestoreInput(rules: readonly IptablesRule[]): string {
  const tables = new Map<string, string[]>();
  for (const rule of rules) {
    const table = rule[0] === '-t' ? (rule[1] ?? 'filter') : 'filter';
    const body = rule[0] === '-t' ? rule.slice(2) : rule;
    const lines = tables.get(table) ?? [];
    lines.push(body.join(' '));
    tables.set(table, lines);
  }
  return [...tables].map(([table, lines]) => `*${table}\n${lines.join('\n')}\nCOMMIT\n`).join('');
}
