/**
 * The flood lab: three network namespaces joined by two veth pairs at the server.
 *
 *   flooder 198.51.100.9 ── veth ── server 198.51.100.1, .2 ── veth ── client 198.51.100.50
 *
 * The client reaches the server over its own link (a /32 route on the server's side). Where the
 * RAs to the spoofed sources (203.0.113.0/24, 192.0.2.0/24) go, and where they are counted, is
 * the `raSink`:
 *
 * - 'ifb': the server namespace routes the spoofed sources into an ifb device ("ra-sink"). The
 *   kernel has no `dummy` driver here; an ifb is as cheap: a packet routed to it (rather than
 *   redirected by tc) is counted as received and freed in its transmit function, with no queue
 *   (the lab gives it `noqueue`). So each RA costs the server's CPU only its own sendmmsg and
 *   routing, the same for any server. Counted as the ifb's RX packets (`ip -s -j link show`).
 * - 'flooder': routed back over the veth to the flooder, whose raw-table PREROUTING rule drops
 *   every UDP datagram from port 3544 before routing (the spoofed addresses are not its own) and
 *   counts it. The veth hands each RA to the flooder namespace's receive path (netif_rx, the
 *   backlog softirq, the iptables rule) on the sending CPU, so that delivery cost is charged to
 *   the server's CPU too.
 *
 * No rule in the server's namespace, so no connection tracking there: a flood of fresh sources
 * would otherwise fill the conntrack table and measure that instead of the server.
 */
import { z } from 'zod';
import { createNetns } from '../../test/support/netns.js';
import type { Netns } from '../../test/support/netns.js';
import { SPOOFED_SOURCE_NETWORKS } from './spoofed-rs.js';

export const FLOOD_ADDRESSES = Object.freeze({
  serverPrimary: '198.51.100.1',
  serverSecondary: '198.51.100.2',
  flooder: '198.51.100.9',
  client: '198.51.100.50',
});

/** Where the RAs to the spoofed sources go and are counted (see above). */
export type RaSink = 'ifb' | 'flooder';
export const RA_SINKS: readonly RaSink[] = Object.freeze(['ifb', 'flooder']);

export interface FloodTopologyOptions {
  /** 'flooder' unless given. */
  readonly raSink?: RaSink;
}

export interface FloodTopology {
  readonly raSink: RaSink;
  readonly server: Netns;
  readonly flooder: Netns;
  readonly client: Netns;
  /** The server's answers to the spoofed sources so far, counted at the `raSink`. */
  answers(): Promise<number>;
  /** UDP datagrams from port 3544 dropped at the flooder (0 with the 'ifb' sink: none get there). */
  answersAtFlooder(): Promise<number>;
  /** The server namespace's Udp counters from /proc/net/snmp (InDatagrams, RcvbufErrors, ...). */
  serverUdpCounters(): Promise<Readonly<Record<string, number>>>;
  /** Deletes the namespaces and everything in them; safe to call twice. */
  destroy(): Promise<void>;
}

const COUNT_RULE = ['PREROUTING', '-p', 'udp', '--sport', '3544', '-j', 'DROP'];
const SINK_DEVICE = 'ra-sink';

export async function createFloodTopology(options: FloodTopologyOptions = {}): Promise<FloodTopology> {
  const raSink = options.raSink ?? 'flooder';
  const created: Array<Netns & { delete(): Promise<void> }> = [];
  let destroyed: Promise<void> | null = null;
  const destroy = (): Promise<void> => {
    destroyed ??= Promise.allSettled(created.map((ns) => ns.delete())).then(() => undefined);
    return destroyed;
  };
  try {
    const server = await createNetns();
    created.push(server);
    const flooder = await createNetns();
    created.push(flooder);
    const client = await createNetns();
    created.push(client);
    const a = FLOOD_ADDRESSES;

    await server.run('ip', [
      'link',
      'add',
      'sv-fl',
      'type',
      'veth',
      'peer',
      'name',
      'fl-sv',
      'netns',
      flooder.name,
    ]);
    await server.run('ip', [
      'link',
      'add',
      'sv-cl',
      'type',
      'veth',
      'peer',
      'name',
      'cl-sv',
      'netns',
      client.name,
    ]);
    await server.run('ip', ['addr', 'add', `${a.serverPrimary}/24`, 'dev', 'sv-fl']);
    await server.run('ip', ['addr', 'add', `${a.serverSecondary}/24`, 'dev', 'sv-fl']);
    await server.run('ip', ['link', 'set', 'sv-fl', 'up']);
    await server.run('ip', ['link', 'set', 'sv-cl', 'up']);
    await server.run('ip', ['route', 'add', `${a.client}/32`, 'dev', 'sv-cl']);
    if (raSink === 'ifb') await addSinkDevice(server);
    for (const network of SPOOFED_SOURCE_NETWORKS) {
      const route = raSink === 'ifb' ? ['dev', SINK_DEVICE] : ['via', a.flooder];
      await server.run('ip', ['route', 'add', `${network}/24`, ...route]);
    }

    await flooder.run('ip', ['addr', 'add', `${a.flooder}/24`, 'dev', 'fl-sv']);
    await flooder.run('ip', ['link', 'set', 'fl-sv', 'up']);
    await flooder.run('iptables', ['-t', 'raw', '-A', ...COUNT_RULE]);

    await client.run('ip', ['addr', 'add', `${a.client}/24`, 'dev', 'cl-sv']);
    await client.run('ip', ['link', 'set', 'cl-sv', 'up']);

    const answersAtFlooder = async (): Promise<number> => {
      const listing = await flooder.run('iptables', ['-t', 'raw', '-n', '-v', '-x', '-L', 'PREROUTING']);
      const row = listing
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .find((fields) => fields[2] === 'DROP');
      if (row === undefined) throw new Error(`no DROP rule in the flooder's raw table:\n${listing}`);
      return Number(row[0]);
    };
    return {
      raSink,
      server,
      flooder,
      client,
      answers: raSink === 'ifb' ? () => sinkPackets(server) : answersAtFlooder,
      answersAtFlooder,
      async serverUdpCounters(): Promise<Readonly<Record<string, number>>> {
        return udpCounters(await server.run('cat', ['/proc/net/snmp']));
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/**
 * The ifb the spoofed sources are routed to: no queueing discipline, no IPv6 (so nothing of its
 * own, like a router solicitation, is counted), and reverse-path filtering off, since the RS
 * arrive on sv-fl while the route back to their sources is this device.
 */
async function addSinkDevice(server: Netns): Promise<void> {
  await server.run('ip', ['link', 'add', SINK_DEVICE, 'type', 'ifb']);
  await server.run('sysctl', ['-q', '-w', `net.ipv6.conf.${SINK_DEVICE}.disable_ipv6=1`]);
  await server.run('tc', ['qdisc', 'replace', 'dev', SINK_DEVICE, 'root', 'noqueue']);
  await server.run('ip', ['link', 'set', SINK_DEVICE, 'up']);
  for (const scope of ['all', 'sv-fl']) {
    await server.run('sysctl', ['-q', '-w', `net.ipv4.conf.${scope}.rp_filter=0`]);
  }
}

async function sinkPackets(server: Netns): Promise<number> {
  return ifbPackets(await server.run('ip', ['-s', '-j', 'link', 'show', 'dev', SINK_DEVICE]));
}

/**
 * The packets an ifb was handed by routing, from `ip -s -j link show`: the driver counts them
 * as received (and as dropped), since a packet that tc did not redirect is freed at once.
 */
export function ifbPackets(linkJson: string): number {
  const parsed = ifbLinkSchema.safeParse(JSON.parse(linkJson));
  if (!parsed.success) throw new Error(`no stats64.rx.packets in ${linkJson.slice(0, 200)}`);
  return parsed.data[0].stats64.rx.packets;
}

const ifbLinkSchema = z.tuple([z.object({ stats64: z.object({ rx: z.object({ packets: z.number() }) }) })]);

/** The two `Udp:` lines of /proc/net/snmp (names, then values) as a record. */
export function udpCounters(snmp: string): Readonly<Record<string, number>> {
  const [names, values] = snmp
    .split('\n')
    .filter((line) => line.startsWith('Udp:'))
    .map((line) => line.split(/\s+/).slice(1));
  const counters: Record<string, number> = {};
  names?.forEach((name, i) => {
    counters[name] = Number(values?.[i]);
  });
  return counters;
}
