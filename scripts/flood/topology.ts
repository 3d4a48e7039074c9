/**
 * The flood lab: three network namespaces joined by two veth pairs at the server.
 *
 *   flooder 198.51.100.9 ── veth ── server 198.51.100.1, .2 ── veth ── client 198.51.100.50
 *
 * The server routes the spoofed sources (203.0.113.0/24, 192.0.2.0/24) back to the flooder,
 * whose raw-table PREROUTING rule drops every UDP datagram from port 3544 before routing (the
 * spoofed addresses are not its own) and counts it: that count is the RAs the flood earned.
 * No rule in the server's namespace, so no connection tracking there: a flood of fresh
 * sources would otherwise fill the conntrack table and measure that instead of the server.
 * The client reaches the server over its own link (a /32 route on the server's side).
 */
import { createNetns } from '../../test/support/netns.js';
import type { Netns } from '../../test/support/netns.js';
import { SPOOFED_SOURCE_NETWORKS } from './spoofed-rs.js';

export const FLOOD_ADDRESSES = Object.freeze({
  serverPrimary: '198.51.100.1',
  serverSecondary: '198.51.100.2',
  flooder: '198.51.100.9',
  client: '198.51.100.50',
});

export interface FloodTopology {
  readonly server: Netns;
  readonly flooder: Netns;
  readonly client: Netns;
  /** UDP datagrams from port 3544 (the server's answers to spoofed sources) dropped at the flooder. */
  answersAtFlooder(): Promise<number>;
  /** The server namespace's Udp counters from /proc/net/snmp (InDatagrams, RcvbufErrors, ...). */
  serverUdpCounters(): Promise<Readonly<Record<string, number>>>;
  /** Deletes the namespaces and everything in them; safe to call twice. */
  destroy(): Promise<void>;
}

const COUNT_RULE = ['PREROUTING', '-p', 'udp', '--sport', '3544', '-j', 'DROP'];

export async function createFloodTopology(): Promise<FloodTopology> {
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
    for (const network of SPOOFED_SOURCE_NETWORKS) {
      await server.run('ip', ['route', 'add', `${network}/24`, 'via', a.flooder]);
    }

    await flooder.run('ip', ['addr', 'add', `${a.flooder}/24`, 'dev', 'fl-sv']);
    await flooder.run('ip', ['link', 'set', 'fl-sv', 'up']);
    await flooder.run('iptables', ['-t', 'raw', '-A', ...COUNT_RULE]);

    await client.run('ip', ['addr', 'add', `${a.client}/24`, 'dev', 'cl-sv']);
    await client.run('ip', ['link', 'set', 'cl-sv', 'up']);

    return {
      server,
      flooder,
      client,
      async answersAtFlooder(): Promise<number> {
        const listing = await flooder.run('iptables', ['-t', 'raw', '-n', '-v', '-x', '-L', 'PREROUTING']);
        const row = listing
          .split('\n')
          .map((line) => line.trim().split(/\s+/))
          .find((fields) => fields[2] === 'DROP');
        if (row === undefined) throw new Error(`no DROP rule in the flooder's raw table:\n${listing}`);
        return Number(row[0]);
      },
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
