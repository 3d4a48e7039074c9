/**
 * The client's and relay's answers to the control socket (status, metrics gauges), built from
 * the tunnel core, the peer table and the client's qualification. Read-only.
 */
import { readU32 } from '../teredo/bytes.js';
import { formatIPv4 } from '../teredo/ipv4.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import { NAT_TYPES } from '../teredo/nat-type.js';
import type { TunnelCoreStats } from '../teredo/relay.js';
import type { PeerTable } from '../teredo/peers.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import { prefixToBytes } from '../ipc/ipv6-value.js';
import type { MetricFamily } from '../ipc/prometheus.js';
import type { NativePeers } from '../ipc/control-protocol.js';
import { listNativePeers } from './peer-listing.js';
import type { ClientQualification } from './client-qualification.js';
import type { RoleStatus } from './control-plane.js';
import { ANSWER_TIME_BOUNDS } from './qualification-record.js';
import type { PortMapper } from './port-mapper.js';

export interface TunnelView {
  readonly config: Exclude<EngineConfig, { role: 'server' }>;
  readonly client: ClientQualification | null;
  readonly portMapper: PortMapper | null;
  readonly table: PeerTable;
  readonly stats: TunnelCoreStats;
  readonly nowMs: number;
}

/** The Teredo prefix is the address's first 32 bits (RFC 4380 4). */
const TEREDO_PREFIX_BITS = 32;
const prefixText = (prefix: number): string => `${formatIPv6(prefixToBytes(prefix))}/32`;
const secondsSince = (nowMs: number, thenMs: number | null): number | null =>
  thenMs === null ? null : Math.max(0, (nowMs - thenMs) / 1000);

export function tunnelStatus(view: TunnelView): RoleStatus {
  const { config, client, table, stats, nowMs } = view;
  const peerTable = {
    peers: stats.peers,
    capacity: table.capacity,
    queuedPackets: stats.queuedPackets,
    queuedBytes: stats.queuedBytes,
  };
  if (config.role === 'relay' || client === null) {
    return {
      address: null,
      qualified: null,
      natType: null,
      mapping: null,
      qualificationSeconds: null,
      qualifiedForSeconds: null,
      mtu: config.role === 'relay' ? config.interfaceMtu : null,
      prefix: config.role === 'relay' ? prefixText(config.prefix) : null,
      servers: [],
      peerTable,
    };
  }
  const { state, record } = client;
  const address = state.address;
  return {
    address: address === null ? null : formatIPv6(address),
    qualified: state.up,
    natType: client.natType,
    mapping: state.up ? `${formatIPv4(state.mappedIPv4)}:${state.mappedPort}` : null,
    qualificationSeconds: record.firstQualificationMs === null ? null : record.firstQualificationMs / 1000,
    qualifiedForSeconds: state.up ? secondsSince(nowMs, record.upSinceMs) : null,
    mtu: state.up ? state.mtu : null,
    prefix: address === null ? null : prefixText(readU32(address, 0)),
    servers: [
      {
        address: state.serverIPv4 === 0 ? config.serverName : formatIPv4(state.serverIPv4),
        name: client.server?.name ?? config.serverName,
        fallback: (client.server?.rank ?? 0) > 0,
        lastAnswerSecondsAgo: secondsSince(nowMs, record.lastAnswerMs),
      },
    ],
    peerTable,
    portMapping: portMappingStatus(view),
  };
}

/**
 * A client's native peers (outside the Teredo prefix of its address) with their relays; none
 * before it qualifies (the table is emptied when it does); null for a relay, which is the relay.
 */
export function tunnelNativePeers(view: TunnelView, limit: number): Promise<NativePeers> | null {
  if (view.config.role === 'relay' || view.client === null) return null;
  const address = view.client.state.address;
  if (address === null) return Promise.resolve({ matched: 0, peers: [] });
  // A copy: the client may change its address while the table is read.
  return listNativePeers(view.table, { prefix: address.slice(), length: TEREDO_PREFIX_BITS }, limit);
}

/** The mapping, and whether our Teredo address carries it (then the NAT is cone towards every peer). */
function portMappingStatus({ portMapper, client }: TunnelView): RoleStatus['portMapping'] {
  const status = portMapper?.status() ?? null;
  if (status === null || client === null) return null;
  const { state } = client;
  const external = portMapper?.mapping?.externalIPv4 ?? 0;
  const cone =
    state.up && state.mappedPort === status.externalPort && (external === 0 || external === state.mappedIPv4);
  return { ...status, cone };
}

export function tunnelMetricFamilies(view: TunnelView): MetricFamily[] {
  const { client, table, stats } = view;
  const gauge = (name: string, help: string, value: number): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    samples: [{ value }],
  });
  const families: MetricFamily[] = [
    gauge('miredo_peers', 'Peers in the peer table.', stats.peers),
    gauge('miredo_peers_unproven', 'Peers that have not proven two-way traffic.', table.unproven()),
    gauge('miredo_peer_table_capacity', 'Most peers the table holds (PeerTableCapacity).', table.capacity),
    gauge('miredo_queued_packets', 'Packets waiting in the per-peer queues.', stats.queuedPackets),
    gauge('miredo_queued_bytes', 'Bytes of the packets waiting in the per-peer queues.', stats.queuedBytes),
  ];
  if (client !== null) {
    families.push(
      gauge('miredo_qualified', '1 while the client holds a Teredo address.', client.state.up ? 1 : 0),
    );
    families.push({
      name: 'miredo_nat_type',
      help: 'The NAT type the client probe found: 1 for that type, 0 for the others.',
      type: 'gauge',
      samples: NAT_TYPES.map((type) => ({ labels: { type }, value: type === client.natType ? 1 : 0 })),
    });
    families.push({
      name: 'miredo_server_answer_seconds',
      help: 'Time from a Router Solicitation to the Teredo server advertisement accepted for it.',
      type: 'histogram',
      bounds: ANSWER_TIME_BOUNDS,
      samples: [client.record.answerTimes()],
    });
  }
  return families;
}
