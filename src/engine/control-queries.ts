/**
 * The answers of the control socket and the metrics listener, from the engine's summary (the one
 * SIGUSR1 logs) and its control plane's read-only views. Every reply is checked against its
 * schema before it leaves, like every other message that crosses a process boundary.
 */
import {
  DEFAULT_PEER_LIMIT,
  MAX_STATUS_NATIVE_PEERS,
  controlReplySchema,
  parsePeerFilter,
} from '../ipc/control-protocol.js';
import type { ControlReply, ControlRequest, ControlStatus } from '../ipc/control-protocol.js';
import type { AnnouncementMessage, EngineSummary } from '../ipc/bootstrap-engine-messages.js';
import type { MetricFamily } from '../ipc/prometheus.js';
import { renderPrometheus } from '../ipc/prometheus.js';
import type { ControlPlane } from './control-plane.js';
import { counterFamilies, engineFamilies } from './control-metrics.js';
import type { ControlAnswer } from './control-server.js';

export interface ControlSources {
  readonly summary: () => EngineSummary;
  readonly control: ControlPlane;
  readonly interfaceName: string | null;
  /** A relay's announcement (AnnounceTable) as the bootstrap last told it. */
  readonly announcement?: () => AnnouncementMessage | null;
}

/** `miredo_announced{table}`: 1 while a relay's AnnounceTable holds its route. */
function announcementFamilies(sources: ControlSources): MetricFamily[] {
  const announcement = sources.announcement?.() ?? null;
  if (announcement === null) return [];
  return [
    {
      name: 'miredo_announced',
      help: 'Whether the relay keeps its prefix route in its AnnounceTable (1) or withdrew it (0).',
      type: 'gauge',
      samples: [{ labels: { table: String(announcement.table) }, value: announcement.announced ? 1 : 0 }],
    },
    {
      name: 'miredo_announce_hold_down_seconds',
      help: 'The hold-down in force before a re-announcement after a withdrawal for ill-health (0: none yet).',
      type: 'gauge',
      samples: [{ labels: { table: String(announcement.table) }, value: announcement.holdDownSeconds ?? 0 }],
    },
    {
      name: 'miredo_announce_maintenance',
      help: 'Whether the relay is withdrawn for maintenance (miredo-ctl withdraw) (1) or not (0).',
      type: 'gauge',
      samples: [
        { labels: { table: String(announcement.table) }, value: announcement.maintenance === true ? 1 : 0 },
      ],
    },
  ];
}

export function renderMetrics(sources: ControlSources): string {
  const summary = sources.summary();
  return renderPrometheus([
    ...engineFamilies(summary),
    ...counterFamilies(summary.counters),
    ...sources.control.metricFamilies(),
    ...announcementFamilies(sources),
  ]);
}

function announcementStatus(sources: ControlSources): Pick<ControlStatus, 'announcement'> {
  const announcement = sources.announcement?.() ?? null;
  if (announcement === null) return {};
  const { table, announced, reason, maintenance, holdDownSeconds } = announcement;
  return {
    announcement: {
      table,
      announced,
      reason,
      ...(maintenance === undefined ? {} : { maintenance }),
      ...(holdDownSeconds === undefined ? {} : { holdDownSeconds }),
    },
  };
}

async function reply(sources: ControlSources, request: ControlRequest): Promise<ControlReply> {
  switch (request.command) {
    case 'status': {
      const summary = sources.summary();
      const nativePeers = await sources.control.nativePeers(MAX_STATUS_NATIVE_PEERS);
      return {
        kind: 'status',
        status: {
          role: summary.role,
          enginePid: summary.pid,
          uptimeSeconds: summary.uptimeSeconds,
          workers: summary.workers,
          interface: sources.interfaceName,
          ...sources.control.status(),
          nativePeers,
          ...announcementStatus(sources),
        },
      };
    }
    case 'peers': {
      const filter = request.filter === undefined ? null : parsePeerFilter(request.filter);
      const listing = sources.control.peers(filter, request.limit ?? DEFAULT_PEER_LIMIT);
      if (listing === null) return { kind: 'peers', peers: { total: 0, matched: 0, peers: [] } };
      return { kind: 'peers', peers: await listing };
    }
    case 'counters':
      return { kind: 'counters', counters: sources.summary().counters };
    case 'metrics':
      return { kind: 'metrics', text: renderMetrics(sources) };
  }
}

export function createControlAnswer(sources: ControlSources): ControlAnswer {
  return async (request) => controlReplySchema.parse(await reply(sources, request));
}
