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
  const changed = (state: AnnouncementState, reason: string, facts: AnnouncerFacts): void =>
    send({
      type: 'announcement',
      table,
      announced: state === 'announced',
      reason: reason.slice(0, 64),
      maintenance: facts.maintenance,
      holdDownSeconds: secondsOf(facts.holdDownMs),
    });
  return new Announcer({
    route: {
      ...route,
      metric: settings.announceMetric ?? route.metric,
      ifindex: resources.tunnel.index,
      table: settings.announceTable,
    },
    prefixText: `${formatIPv6(route.dst)}/${route.prefixLen}`,
    os,
    log,
    changed,
    maintenance: maintenance.on,
  });
}
