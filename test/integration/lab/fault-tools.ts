/**
 * Faults a lab test inflicts on a client's network, each on one client or one NAT so that several
 * run side by side in one lab: a per-namespace resolver whose answer can change, random loss and
 * duplicates at the NAT (iptables: this needs no sch_netem, which some kernels lack), reordering
 * (netem, where the kernel has it), a conntrack flush, the client's LAN link down and up.
 */
import type { TestContext } from 'node:test';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { Lab } from '../../../scripts/lab/index.js';

/**
 * Resolver files of one namespace (`ip netns exec` bind-mounts /etc/netns/<namespace>/hosts and
 * resolv.conf over /etc's), removed when the test ends; DNS points at a port nobody listens on.
 */
export async function namespaceResolver(
  t: TestContext,
  namespace: string,
  hosts = '',
): Promise<(hosts: string) => Promise<void>> {
  const directory = `/etc/netns/${namespace}`;
  await mkdir(directory, { recursive: true });
  t.after(() => rm(directory, { recursive: true, force: true }));
  await writeFile(`${directory}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  // Written in place: the bind mount holds this file's inode.
  const write = (text: string): Promise<void> =>
    writeFile(`${directory}/hosts`, `127.0.0.1 localhost\n${text}`);
  await write(hosts);
  return write;
}

function clientAddress(lab: Lab, client: string): { nat: string; ipv4: string } {
  const node = lab.node(client);
  if (node.role !== 'client' || node.nat === null) throw new Error(`${client} is not behind a NAT`);
  return { nat: node.nat, ipv4: node.ipv4 };
}

/** iptables rules at the client's NAT, inserted first (-I) or removed (-D). */
async function natRule(lab: Lab, client: string, insert: boolean, rule: readonly string[]): Promise<void> {
  const { nat } = clientAddress(lab, client);
  const [table, chain, ...rest] = rule;
  if (table === undefined || chain === undefined) throw new Error('a rule needs a table and a chain');
  await lab.run(nat, 'iptables', ['-t', table, insert ? '-I' : '-D', chain, ...rest]);
}

/**
 * Drops each packet to and from `client` with probability `share` (either way, so a round trip
 * is lost with 1 - (1 - share)²). Returns the undo.
 */
export async function randomLoss(lab: Lab, client: string, share: number): Promise<() => Promise<void>> {
  const { ipv4 } = clientAddress(lab, client);
  const random = ['-m', 'statistic', '--mode', 'random', '--probability', String(share), '-j', 'DROP'];
  const rules = [
    ['filter', 'FORWARD', '-s', ipv4, ...random],
    ['filter', 'FORWARD', '-d', ipv4, ...random],
  ];
  for (const rule of rules) await natRule(lab, client, true, rule);
  return async () => {
    for (const rule of rules) await natRule(lab, client, false, rule);
  };
}

/**
 * Sends `client` a second copy of each packet for it with probability `share` (TEE after the NAT
 * has put the client's address back). Only that way: a copy of an outgoing packet would leave
 * without NAT. Returns the undo.
 */
export async function duplicates(lab: Lab, client: string, share: number): Promise<() => Promise<void>> {
  const { ipv4 } = clientAddress(lab, client);
  const rule = [
    ...['mangle', 'POSTROUTING', '-d', ipv4, '-m', 'statistic', '--mode', 'random'],
    ...['--probability', String(share), '-j', 'TEE', '--gateway', ipv4],
  ];
  await natRule(lab, client, true, rule);
  return () => natRule(lab, client, false, rule);
}

/**
 * Reorders a quarter of the packets the NAT forwards to its LAN (netem: they go at once, the
 * others 50 ms late). False when the kernel has no sch_netem.
 */
export async function reorderTowardsLan(lab: Lab, nat: string): Promise<boolean> {
  const node = lab.node(nat);
  if (node.role !== 'nat') throw new Error(`${nat} is not a NAT`);
  const args = [
    'qdisc',
    'add',
    'dev',
    node.lanBridge,
    'root',
    'netem',
    'delay',
    '50ms',
    'reorder',
    '25%',
    '50%',
  ];
  const result = await lab.exec(nat, 'tc', args);
  return result.code === 0;
}

/** Forgets every mapping of the NAT, as a NAT that reboots does. */
export async function flushConntrack(lab: Lab, nat: string): Promise<void> {
  const result = await lab.exec(nat, 'conntrack', ['-F']);
  if (result.code === 255 && /exec of "conntrack" failed/.test(result.stderr)) {
    throw new Error('conntrack is missing: install it (scripts/install-debian-deps.sh)');
  }
  // conntrack -F says how many entries it flushed on stderr, and exits 0.
  if (result.code !== 0) throw new Error(`conntrack -F in ${nat}: ${result.stderr.trim()}`);
}

/**
 * Takes the client's LAN link down; the returned function brings it up and puts the default
 * route back (a link going down loses its IPv4 routes), as ifup or a DHCP client would.
 */
export async function uplinkDown(lab: Lab, client: string): Promise<() => Promise<void>> {
  const node = lab.node(client);
  if (node.role !== 'client' || node.gatewayIPv4 === null) throw new Error(`${client} has no gateway`);
  const ns = lab.namespace(client);
  const gateway = node.gatewayIPv4;
  await ns.ip(['link', 'set', node.interfaceName, 'down']);
  return async () => {
    await ns.ip(['link', 'set', node.interfaceName, 'up']);
    await ns.ip(['route', 'replace', 'default', 'via', gateway]);
  };
}
