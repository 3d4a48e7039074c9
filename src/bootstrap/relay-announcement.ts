/**
 * What a relay's settings make of announcement: the Announcer (announcer.ts) when an
 * AnnounceTable is set.
 */
import type { DaemonSettings } from '../config/settings-schema.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import type { Logger } from '../log/logger.js';
import { Announcer } from './announcer.js';
import type { AnnouncementState } from './announcer.js';
import type { OsApi } from './os-api.js';
import { prefixRoute } from './resources.js';
import type { KernelResources } from './resources.js';

export function createAnnouncer(
  settings: DaemonSettings,
  resources: KernelResources,
  os: OsApi,
  log: Logger,
  changed?: (state: AnnouncementState, reason: string) => void,
): Announcer | null {
  if (settings.role !== 'relay' || settings.announceTable === undefined || resources.tunnel === null)
    return null;
  const route = prefixRoute(settings.prefix);
  return new Announcer({
    route: { ...route, ifindex: resources.tunnel.index, table: settings.announceTable },
    prefixText: `${formatIPv6(route.dst)}/${route.prefixLen}`,
    os,
    log,
    ...(changed === undefined ? {} : { changed }),
  });
}
