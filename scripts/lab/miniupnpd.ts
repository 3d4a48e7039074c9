/**
 * A lab NAT turned into a home router with miniupnpd (Debian's miniupnpd-iptables 2.3.1: UPnP IGD,
 * and NAT-PMP with PCP on port 5351), for the port mapping test (issue 14). miniupnpd refuses a
 * reserved external address (every documentation range included), so the NAT's WAN side is moved
 * to 11.0.0.0/24, which only the lab's namespaces route (on-link over the WAN bridge).
 * miniupnpd uses the legacy iptables API: its chains are made with iptables-legacy, and the
 * NAT's masquerading is moved there too, after the jump to MINIUPNPD-POSTROUTING, as on a real
 * router (nf_tables and legacy NAT at the same hook priority run in no defined order). The
 * daemon runs in the NAT's namespace, in the foreground, until stop(); the lab's teardown kills
 * anything left in its namespaces.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './lab.js';
import type { NatNode } from './plan.js';

export const ROUTER_WAN_PREFIX = '11.0.0.0/24';
export const MINIUPNPD_HTTP_PORT = 5000;

export type RouterProtocols = 'upnp' | 'natpmp-pcp' | 'none';

export interface RouterOptions {
  /** 11.0.0.x: the NAT's only WAN address. */
  readonly wanIPv4: string;
  /** Random ports (MASQUERADE --random-fully) for flows without a mapping: a symmetric NAT. */
  readonly symmetric: boolean;
  /** PCP's granted lifetimes are clamped to this range (NAT-PMP's and UPnP's are what we ask). */
  readonly minLifetime?: number;
}

export interface Miniupnpd {
  readonly process: ChildProcess;
  /** Ends the daemon (SIGTERM), waits for it and empties its chains: a restart starts with no mapping. */
  stop(): Promise<void>;
  /** The UDP mappings it holds: `port -> internal address` (the port is kept). */
  mappings(): Promise<string[]>;
}

/** Moves NAT `natName`'s WAN side to `options.wanIPv4` and gives it miniupnpd's chains. */
export async function makeRouter(lab: Lab, natName: string, options: RouterOptions): Promise<NatNode> {
  const nat = lab.node(natName);
  if (nat.role !== 'nat') throw new Error(`${natName} is not a NAT`);
  const wan = nat.interfaceName;
  await lab.run(natName, 'ip', ['addr', 'flush', 'dev', wan, 'scope', 'global']);
  await lab.run(natName, 'ip', ['addr', 'add', `${options.wanIPv4}/24`, 'dev', wan]);
  await lab.run(natName, 'ip', ['route', 'add', '198.51.100.0/24', 'dev', wan]);
  for (const node of lab.nodes.values()) {
    const onWan = node.role === 'server' || node.role === 'relay' || node.role === 'nat';
    const direct = node.role === 'client' && node.nat === null;
    if (node.name === natName || !(onWan || direct)) continue;
    await lab.run(node.name, 'ip', ['route', 'add', ROUTER_WAN_PREFIX, 'dev', node.interfaceName]);
  }
  // The lab's own masquerading (nf_tables) goes; the legacy table does it after miniupnpd's chain.
  await lab.run(natName, 'iptables', ['-t', 'nat', '-F', 'POSTROUTING']);
  const legacy = (args: string[]): Promise<string> => lab.run(natName, 'iptables-legacy', args);
  await legacy(['-t', 'nat', '-N', 'MINIUPNPD']);
  await legacy(['-t', 'nat', '-A', 'PREROUTING', '-i', wan, '-j', 'MINIUPNPD']);
  await legacy(['-t', 'nat', '-N', 'MINIUPNPD-POSTROUTING']);
  await legacy(['-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MINIUPNPD-POSTROUTING']);
  await legacy([
    '-t',
    'nat',
    '-A',
    'POSTROUTING',
    '-o',
    wan,
    '-j',
    'MASQUERADE',
    ...(options.symmetric ? ['--random-fully'] : []),
  ]);
  await legacy(['-t', 'filter', '-N', 'MINIUPNPD']);
  await legacy(['-t', 'filter', '-A', 'FORWARD', '-i', wan, '!', '-o', wan, '-j', 'MINIUPNPD']);
  await legacy(['-t', 'mangle', '-N', 'MINIUPNPD']);
  return nat;
}

function configText(nat: NatNode, protocols: RouterProtocols, options: RouterOptions): string {
  return [
    `ext_ifname=${nat.interfaceName}`,
    `listening_ip=${nat.lanBridge}`,
    `http_port=${MINIUPNPD_HTTP_PORT}`,
    `enable_upnp=${protocols === 'upnp' ? 'yes' : 'no'}`,
    `enable_natpmp=${protocols === 'natpmp-pcp' ? 'yes' : 'no'}`,
    'secure_mode=yes',
    // The epoch counts from the daemon's start, so a restart shows in it (RFC 6886 section 3.6).
    'system_uptime=no',
    `min_lifetime=${options.minLifetime ?? 120}`,
    'max_lifetime=86400',
    'uuid=3f2504e0-4f89-11d3-9a0c-0305e82c3301',
    `allow 1024-65535 ${nat.lanPrefix} 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}

/** Starts miniupnpd on router `natName` (made by makeRouter) with `protocols`; resolves once it listens. */
export async function startMiniupnpd(
  lab: Lab,
  natName: string,
  protocols: RouterProtocols,
  options: RouterOptions,
): Promise<Miniupnpd> {
  const nat = lab.node(natName) as NatNode;
  const conf = join(lab.directory, `miniupnpd-${natName}.conf`);
  const pidFile = join(lab.directory, `miniupnpd-${natName}.pid`);
  writeFileSync(conf, configText(nat, protocols, options));
  const child = lab.spawn(natName, 'miniupnpd', ['-d', '-f', conf, '-P', pidFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Listening: its port 5351 (NAT-PMP/PCP) or its HTTP port is bound in the namespace.
  const wanted =
    protocols === 'upnp' ? `:${MINIUPNPD_HTTP_PORT} ` : protocols === 'natpmp-pcp' ? ':5351 ' : null;
  for (let tries = 0; wanted !== null; tries += 1) {
    if (child.exitCode !== null) throw new Error(`miniupnpd exited: ${output}`);
    const sockets = await lab.run(natName, 'ss', ['-lnut']);
    if (sockets.includes(wanted)) break;
    if (tries > 100) throw new Error(`miniupnpd does not listen: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (protocols === 'none') await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    process: child,
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      // As Debian's service does on stop (iptables_removeall.sh): the rules go with the daemon.
      for (const [table, chain] of [
        ['nat', 'MINIUPNPD'],
        ['nat', 'MINIUPNPD-POSTROUTING'],
        ['filter', 'MINIUPNPD'],
        ['mangle', 'MINIUPNPD'],
      ] as const) {
        await lab.run(natName, 'iptables-legacy', ['-t', table, '-F', chain]);
      }
    },
    async mappings(): Promise<string[]> {
      // The filter chain's ACCEPT rules (iptables-legacy cannot print the DNAT target's revision).
      const rules = await lab.run(natName, 'iptables-legacy', ['-t', 'filter', '-S', 'MINIUPNPD']);
      return rules
        .split('\n')
        .map((line) => /-d ([0-9.]+)\/32 -p udp -m udp --dport (\d+) -j ACCEPT/.exec(line))
        .filter((match) => match !== null)
        .map((match) => `${match[2]} -> ${match[1]}`);
    },
  };
}
