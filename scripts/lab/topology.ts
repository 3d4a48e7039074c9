/**
 * Wiring a planned lab into its namespaces: the WAN bridge, every public node's veth and
 * addresses, NAT routers with their LAN bridge and netfilter rules, clients behind them.
 * IPv6 duplicate address detection is switched off everywhere, so addresses work at once.
 */
import type { LabNamespace } from './namespace.js';
import { describeNat } from './nat-kinds.js';
import { iptablesRestoreInput, natRules } from './nat-rules.js';
import { IPV4_PREFIX_LENGTH, IPV6_PREFIX_LENGTH } from './plan.js';
import type { ClientNode, LabNode, NatNode, WanNode } from './plan.js';

export type NamespaceOf = (node: string) => LabNamespace;
export type Report = (node: string | null, message: string) => void;

/** Settings every namespace gets before any interface exists in it. */
export async function prepareNamespace(ns: LabNamespace, node: LabNode): Promise<void> {
  const settings: [string, string | number][] = [
    ['net.ipv6.conf.all.accept_dad', 0],
    ['net.ipv6.conf.default.accept_dad', 0],
  ];
  if (node.role === 'relay') settings.push(['net.ipv6.conf.all.forwarding', 1]);
  if (node.role === 'router') {
    // ECMP by 5-tuple (ports, and ICMP echo identifiers), as routers spreading flows do, or by addresses.
    settings.push(
      ['net.ipv6.conf.all.forwarding', 1],
      ['net.ipv6.fib_multipath_hash_policy', node.fleet.hashPolicy],
    );
    if (node.fleet.sharedIPv4) {
      // The same for IPv4; and no redirects: the NATs and the relays share the WAN with it.
      settings.push(
        ['net.ipv4.ip_forward', 1],
        ['net.ipv4.fib_multipath_hash_policy', node.fleet.hashPolicy],
        ['net.ipv4.conf.all.send_redirects', 0],
        ['net.ipv4.conf.default.send_redirects', 0],
      );
    }
  }
  if (node.role === 'nat') settings.push(['net.ipv4.ip_forward', 1]);
  if (node.role === 'ipv6host' && node.router !== null) {
    // Flow label 0 on everything it sends: Linux's address-only ECMP hash (policy 0) includes the
    // flow label, which would otherwise differ per socket and split one host pair over relays.
    settings.push(['net.ipv6.auto_flowlabels', 0]);
  }
  if (node.role === 'client' && node.portRange !== null) {
    settings.push(['net.ipv4.ip_local_port_range', node.portRange.join(' ')]);
  }
  await ns.sysctls(settings);
}

async function addBridge(ns: LabNamespace, name: string): Promise<void> {
  // No multicast snooping: without a querier it could hold back neighbour discovery.
  await ns.ip(['link', 'add', name, 'type', 'bridge', 'mcast_snooping', '0']);
  await ns.ip(['link', 'set', name, 'up']);
}

export async function buildWan(ns: LabNamespace, wan: WanNode): Promise<void> {
  await addBridge(ns, wan.bridge);
}

/** A veth from `bridge` in `hostNs` to `inner` in `ns`, both ends up, addresses on the inner end. */
async function plug(
  hostNs: LabNamespace,
  bridge: string,
  port: string,
  ns: LabNamespace,
  inner: string,
  ipv4: readonly string[],
  ipv6: readonly string[],
): Promise<void> {
  await hostNs.ip(['link', 'add', port, 'type', 'veth', 'peer', 'name', inner, 'netns', ns.name]);
  await hostNs.ip(['link', 'set', port, 'master', bridge, 'up']);
  for (const address of ipv4) await ns.ip(['addr', 'add', `${address}/${IPV4_PREFIX_LENGTH}`, 'dev', inner]);
  for (const address of ipv6) {
    await ns.ip(['-6', 'addr', 'add', `${address}/${IPV6_PREFIX_LENGTH}`, 'dev', inner, 'nodad']);
  }
  await ns.ip(['link', 'set', inner, 'up']);
}

/** Server, relay, IPv6 host or NAT: one interface on the WAN bridge. */
export async function attachPublicNode(
  wan: WanNode,
  namespaceOf: NamespaceOf,
  node: Exclude<LabNode, WanNode | ClientNode>,
  report: Report,
): Promise<void> {
  const ns = namespaceOf(node.name);
  await plug(
    namespaceOf(wan.name),
    wan.bridge,
    node.bridgePort,
    ns,
    node.interfaceName,
    node.ipv4,
    node.ipv6,
  );
  if (node.role === 'ipv6host') {
    await ns.ip(['-6', 'route', 'add', node.teredoRoute.prefix, 'via', node.teredoRoute.via]);
    report(
      node.name,
      `native IPv6 host ${node.ipv6.join(', ')}, Teredo (${node.teredoRoute.prefix}) via the relay`,
    );
    return;
  }
  report(node.name, `on the WAN as ${[...node.ipv4, ...node.ipv6].join(', ')}`);
}

export async function buildNat(ns: LabNamespace, nat: NatNode, report: Report): Promise<void> {
  await addBridge(ns, nat.lanBridge);
  await ns.ip(['addr', 'add', `${nat.lanIPv4}/${IPV4_PREFIX_LENGTH}`, 'dev', nat.lanBridge]);
  await ns.run('iptables-restore', ['--noflush'], undefined, iptablesRestoreInput(natRules(nat)));
  if (nat.udpTimeoutSeconds !== null) {
    await ns.sysctl('net.netfilter.nf_conntrack_udp_timeout', nat.udpTimeoutSeconds);
  }
  report(nat.name, `${describeNat(nat.kind, nat.hairpin)} NAT: WAN ${nat.wanIPv4}, LAN ${nat.lanPrefix}`);
}

export async function attachClient(
  namespaceOf: NamespaceOf,
  client: ClientNode,
  report: Report,
): Promise<void> {
  const ns = namespaceOf(client.name);
  const { node, bridge, port } = client.attachment;
  await plug(namespaceOf(node), bridge, port, ns, client.interfaceName, [client.ipv4], []);
  if (client.gatewayIPv4 !== null) {
    await ns.ip(['route', 'add', 'default', 'via', client.gatewayIPv4]);
    report(client.name, `client ${client.ipv4} behind ${client.nat ?? ''}`);
    return;
  }
  report(client.name, `client ${client.ipv4} directly on the WAN (no NAT)`);
}
