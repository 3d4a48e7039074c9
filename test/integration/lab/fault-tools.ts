/**
 * Faults a lab test inflicts on a client's network, each on one client or one NAT so that several
 * run side by side in one lab: a per-namespace resolver whose answer can change, random loss and
 * duplicates and reordering at the NAT (iptables and htb: this needs no sch_netem, which some
 * kernels lack), a conntrack flush, the client's LAN link down and up.
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

/** Packets of one client, each way, that went through its slow lane at the NAT. */
export interface SlowLanes {
  readonly towardsLan: number;
  readonly towardsWan: number;
}

/** The slow lane's rate: a Teredo packet of 150 bytes waits about 0.3 s for its tokens. */
const SLOW_LANE_RATE = '2kbit';

/**
 * Reorders the packets to and from each of `clients` (all behind one NAT), both ways, without
 * sch_netem: at the NAT, packets 0 and 1 of every `every` a client sends or receives go into a
 * slow htb class of their own (iptables' statistic nth and CLASSIFY). Packet 0 finds the class's
 * bucket full and goes at once, packet 1 waits for the tokens packet 0 spent, and the packets
 * after it overtake it. Returns the count of packets through each client's slow lanes (half of
 * them held back).
 */
export async function reorder(
  lab: Lab,
  clients: readonly string[],
  every: number,
): Promise<() => Promise<Map<string, SlowLanes>>> {
  const nats = new Set(clients.map((client) => clientAddress(lab, client).nat));
  const [nat] = nats;
  const node = nat === undefined ? undefined : lab.node(nat);
  if (nats.size !== 1 || node?.role !== 'nat') throw new Error('reorder: the clients need one NAT');
  const tc = (args: string): Promise<string> => lab.run(node.name, 'tc', args.split(' '));
  const devices = { towardsLan: node.lanBridge, towardsWan: node.interfaceName } as const;
  for (const device of Object.values(devices)) {
    await tc(`qdisc replace dev ${device} root handle 1: htb default 10`);
    await tc(`class add dev ${device} parent 1: classid 1:10 htb rate 10gbit`);
  }
  const lanes = clients.map((client, index) => ({ client, classId: `1:${20 + index}` }));
  for (const { client, classId } of lanes) {
    const { ipv4 } = clientAddress(lab, client);
    for (const [device, match] of [
      [devices.towardsLan, `-d ${ipv4}`],
      [devices.towardsWan, `-s ${ipv4}`],
    ] as const) {
      const rate = `rate ${SLOW_LANE_RATE} ceil ${SLOW_LANE_RATE} burst 1 cburst 1`;
      await tc(`class add dev ${device} parent 1: classid ${classId} htb ${rate}`);
      for (const packet of [0, 1]) {
        const nth = `-m statistic --mode nth --every ${every} --packet ${packet}`;
        const rule = `mangle POSTROUTING -o ${device} ${match} ${nth} -j CLASSIFY --set-class ${classId}`;
        await natRule(lab, client, true, rule.split(' '));
      }
    }
  }
  const sent = async (device: string, classId: string): Promise<number> => {
    const stats = await tc(`-s class show dev ${device} classid ${classId}`);
    return Number(/Sent \d+ bytes (\d+) pkt/.exec(stats)?.[1] ?? 0);
  };
  return async () => {
    const counts = new Map<string, SlowLanes>();
    for (const { client, classId } of lanes) {
      counts.set(client, {
        towardsLan: await sent(devices.towardsLan, classId),
        towardsWan: await sent(devices.towardsWan, classId),
      });
    }
    return counts;
  };
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
