/**
 * Where the relay benchmark counts delivered packets: netfilter rules in the receiving
 * namespaces that match the measured packets and DROP them. A rule's packet counter costs no
 * process time and sees every packet the relay delivered, before any socket could overflow.
 *
 *   ipv6host  ip6tables INPUT: UDP to the discard port              → client → host packets
 *   fakes     iptables  INPUT: UDP from relay:3544 of exactly the Teredo datagram's length
 *                                                                   → host → client packets
 *             iptables  INPUT: any other UDP (the server's indirect bubbles, say), dropped unread
 */
import type { Lab } from './lab/index.js';
import { HOST_DISCARD_PORT, teredoDatagramBytes } from './bench-relay-packets.js';
import type { FakeClientPlan } from './bench-relay-packets.js';

export const CLIENT_TO_HOST_RULE = 'mts-bench-relay-c2h';
export const HOST_TO_CLIENT_RULE = 'mts-bench-relay-h2c';
const OTHER_UDP_RULE = 'mts-bench-relay-other';
const TEREDO_PORT = '3544';

export type Direction = 'client-to-host' | 'host-to-client';

export interface CounterPlace {
  readonly node: string;
  readonly command: 'iptables' | 'ip6tables';
  readonly rule: string;
}

export interface CounterNodes {
  readonly hostNode: string;
  readonly clientNode: string;
}

export function counterPlace(direction: Direction, nodes: CounterNodes): CounterPlace {
  return direction === 'client-to-host'
    ? { node: nodes.hostNode, command: 'ip6tables', rule: CLIENT_TO_HOST_RULE }
    : { node: nodes.clientNode, command: 'iptables', rule: HOST_TO_CLIENT_RULE };
}

export async function installCounters(
  lab: Lab,
  nodes: CounterNodes,
  plan: FakeClientPlan,
  relayIPv4: string,
): Promise<void> {
  const comment = (name: string): string[] => ['-m', 'comment', '--comment', name];
  await lab.run(nodes.hostNode, 'ip6tables', [
    '-A',
    'INPUT',
    '-p',
    'udp',
    '--dport',
    String(HOST_DISCARD_PORT),
    ...comment(CLIENT_TO_HOST_RULE),
    '-j',
    'DROP',
  ]);
  await lab.run(nodes.clientNode, 'iptables', [
    '-A',
    'INPUT',
    '-p',
    'udp',
    '-s',
    relayIPv4,
    '--sport',
    TEREDO_PORT,
    '-m',
    'length',
    '--length',
    String(teredoDatagramBytes(plan)),
    ...comment(HOST_TO_CLIENT_RULE),
    '-j',
    'DROP',
  ]);
  await lab.run(nodes.clientNode, 'iptables', [
    '-A',
    'INPUT',
    '-p',
    'udp',
    ...comment(OTHER_UDP_RULE),
    '-j',
    'DROP',
  ]);
}

/** The packet counter of the rule tagged `comment` in `iptables -nvxL` output, or null. */
export function parseRulePackets(listing: string, comment: string): number | null {
  const tag = `/* ${comment} */`;
  for (const line of listing.split('\n')) {
    if (!line.includes(tag)) continue;
    const packets = Number(line.trim().split(/\s+/)[0]);
    return Number.isSafeInteger(packets) ? packets : null;
  }
  return null;
}

export async function readCounter(lab: Lab, place: CounterPlace): Promise<number> {
  const listing = await lab.run(place.node, place.command, ['-nvxL', 'INPUT']);
  const packets = parseRulePackets(listing, place.rule);
  if (packets === null)
    throw new Error(`no ${place.rule} rule in ${place.node}'s ${place.command} INPUT chain`);
  return packets;
}

/** Reads the counter until two readings `intervalMs` apart agree: the packets in flight have landed. */
export async function settledCounter(
  lab: Lab,
  place: CounterPlace,
  intervalMs = 60,
  timeoutMs = 5000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let previous = await readCounter(lab, place);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const current = await readCounter(lab, place);
    if (current === previous || Date.now() >= deadline) return current;
    previous = current;
  }
}
