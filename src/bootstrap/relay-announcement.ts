/**
 * What a relay's settings make of announcement and drain: the Announcer (announcer.ts) when an
 * AnnounceTable is set, and how long SIGTERM keeps forwarding after the withdrawal (DrainTime).
 */
import { DEFAULT_DRAIN_TIME_SECONDS } from '../config/settings-schema.js';
import type { DaemonSettings } from '../config/settings-schema.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import type { Logger } from '../log/logger.js';
import { Announcer, secondsOf } from './announcer.js';
import type { AnnouncementState, AnnouncerFacts } from './announcer.js';
import type { OsApi } from './os-api.js';
import type { MaintenanceSwitch } from './maintenance.js';
import type { AnnouncementMessage } from '../ipc/bootstrap-engine-messages.js';
import { prefixRoute } from './resources.js';
import { parseIPv4 } from '../teredo/ipv4.js';
import type { TableRoute } from '../os/route-table.js';
import { TEREDO_ROUTE_METRIC } from '../teredo/constants.js';
import type { KernelResources } from './resources.js';

/** A relay's drain: withdraw, keep forwarding for a while, then stop; a second signal stops at once. */
export class Drainer {
  private timer: NodeJS.Timeout | null = null;
  private finish: (() => void) | null = null;

  constructor(private readonly log: Logger) {}

  start(announcer: Announcer, seconds: number, finish: () => void): void {
    this.finish = finish;
    void announcer.drain().then(() => {
      if (this.timer !== null)
        this.log.notice('Draining: withdrawn, forwarding for %d s before stopping', seconds);
    });
    this.timer = setTimeout(() => {
      this.timer = null;
      this.log.notice('Drain time over: stopping');
      finish();
    }, seconds * 1000);
  }

  /** While draining: stops now and says true; otherwise false. */
  cutShort(signal: NodeJS.Signals): boolean {
    if (this.timer === null || this.finish === null) return false;
    clearTimeout(this.timer);
    this.timer = null;
    this.log.notice('Drain cut short by %s: stopping now', signal);
    this.finish();
    return true;
  }
}

/**
 * Seconds of forwarding between the withdrawal and the stop: DrainTime, by default 10 s with an
 * AnnounceTable and 0 without (nothing is withdrawn, so waiting would only delay the stop).
 */
export function drainSecondsOf(settings: DaemonSettings): number {
  if (settings.role !== 'relay' || settings.announceTable === undefined) return 0;
  return settings.drainTime ?? DEFAULT_DRAIN_TIME_SECONDS;
}

export function createAnnouncer(
  settings: DaemonSettings,
  resources: KernelResources,
  os: OsApi,
  log: Logger,
  /** Whether it starts withdrawn for maintenance. */
  maintenance: Pick<MaintenanceSwitch, 'on'>,
  /** Tells the engine (miredo-ctl status, metrics). */
  send: (message: AnnouncementMessage) => void,
): Announcer | null {
  if (settings.role !== 'relay' || settings.announceTable === undefined || resources.tunnel === null)
    return null;
  const route = prefixRoute(settings.prefix);
  const table = settings.announceTable;
  const ifindex = resources.tunnel.index;
  const changed = (state: AnnouncementState, reason: string, facts: AnnouncerFacts): void =>
    send({
      type: 'announcement',
      table,
      announced: state === 'announced',
      reason: reason.slice(0, 64),
      maintenance: facts.maintenance,
      holdDownSeconds: secondsOf(facts.holdDownMs),
    });
  const shared = sharedAddressRoute(settings, ifindex);
  return new Announcer({
    route: {
      ...route,
      metric: settings.announceMetric ?? route.metric,
      ifindex,
      table,
    },
    prefixText: `${formatIPv6(route.dst)}/${route.prefixLen}${shared === null ? '' : ` and ${settings.bindAddress}/32`}`,
    os: shared === null ? os : withSharedAddress(os, shared),
    log,
    changed,
    maintenance: maintenance.on,
  });
}

/**
 * SharedRelayAddress: the relay's IPv4 address (BindAddress, which every relay of the fleet
 * has) as a /32 in the AnnounceTable, through the tunnel like the prefix route (so it goes with
 * the tunnel if the bootstrap dies), for the BGP daemon to announce beside 2001::/32. Null
 * without the directive or without an address.
 */
export function sharedAddressRoute(settings: DaemonSettings, ifindex: number): TableRoute | null {
  if (
    settings.role !== 'relay' ||
    settings.sharedRelayAddress !== true ||
    settings.announceTable === undefined
  )
    return null;
  const address = parseIPv4(settings.bindAddress);
  if (address === null || address === 0) return null;
  const dst = Uint8Array.from([
    address >>> 24,
    (address >>> 16) & 0xff,
    (address >>> 8) & 0xff,
    address & 0xff,
  ]);
  return {
    ifindex,
    dst,
    prefixLen: 32,
    metric: settings.announceMetric ?? TEREDO_ROUTE_METRIC.prefixRoute,
    table: settings.announceTable,
  };
}

/** The announcer's kernel calls, each also made for `address`: both routes come and go together. */
function withSharedAddress(
  os: Pick<OsApi, 'setTableRoute6'>,
  address: TableRoute,
): Pick<OsApi, 'setTableRoute6'> {
  return {
    async setTableRoute6(route, present): Promise<void> {
      // Withdrawn first, announced last: no client is sent to an address whose prefix is gone.
      if (!present) await os.setTableRoute6(address, false);
      await os.setTableRoute6(route, present);
      if (present) await os.setTableRoute6(address, true);
    },
  };
}
