/**
 * What a SIGHUP with a valid new configuration changes. Pure. Settings that live only in the
 * bootstrap or in the kernel routing table are changed in place; anything that needs other
 * kernel resources (interface name, sockets) or another engine mode restarts the engine.
 */
import type { DaemonSettings } from '../config/settings-schema.js';

export type InPlaceChange =
  | { readonly kind: 'mtu'; readonly from: number; readonly to: number }
  | { readonly kind: 'syslog-facility'; readonly from: string; readonly to: string }
  | { readonly kind: 'drain-time'; readonly from: number | null; readonly to: number | null };

export type ReloadPlan =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'in-place'; readonly changes: readonly InPlaceChange[] }
  | { readonly kind: 'restart'; readonly reasons: readonly string[] };

type Field<S> = { [K in keyof S]: K }[keyof S];

function changed<S extends DaemonSettings>(current: S, next: S, fields: readonly Field<S>[]): string[] {
  return fields.filter((field) => current[field] !== next[field]).map(String);
}

/**
 * The peer table is sized once, in the engine, and each data-plane worker needs its own TUN
 * queue and UDP socket: a new size of either means a new engine.
 */
const SIZES = ['peerTableCapacity', 'dataplaneWorkers'] as const;

export function planReload(current: DaemonSettings, next: DaemonSettings): ReloadPlan {
  let restartFields: string[];
  const changes: InPlaceChange[] = [];
  if (current.role === 'relay' && next.role === 'relay') {
    // The engine's tunnel core classifies packets by prefix: a new one needs a new engine.
    restartFields = [
      ...changed(current, next, ['relayType', 'interfaceName', 'bindAddress', 'bindPort', 'prefix']),
      // The announcement route lives in that table, with that metric: a new one, a new start
      // (withdrawn from the old).
      ...changed(current, next, ['announceTable', 'announceMetric']),
      // The tunnel core waits for answers (or not) from its start; the announcement has the address.
      ...changed(current, next, ['sharedRelayAddress']),
      ...changed(current, next, SIZES),
    ];
  } else if (current.role === 'client' && next.role === 'client') {
    restartFields = [
      ...changed(current, next, [
        'interfaceName',
        // The engine follows the name's addresses itself (server-follower.ts).
        'serverName',
        'serverAddress2',
        'bindAddress',
        'bindPort',
        // The discovery socket is opened (or not) with the others.
        'localDiscovery',
        // The mapping is made (and deleted) by the engine around its qualification.
        'portMapping',
        'portMappingLifetime',
      ]),
      ...changed(current, next, SIZES),
    ];
    // A new list of servers starts again from the primary, as a restart does.
    if (current.fallbackServers.join('\n') !== next.fallbackServers.join('\n')) {
      restartFields.push('fallbackServers');
    }
  } else if (current.role === 'server' && next.role === 'server') {
    // The server's rules live in its data-plane worker: any change of them means a new engine
    // (a server keeps no state, so nothing is lost).
    restartFields = changed(current, next, [
      'serverBindAddress',
      'serverBindAddress2',
      'prefix',
      'interfaceMtu',
    ]);
    const limits = ['rsRateLimit', 'forwardRateLimit'] as const;
    for (const limit of limits) {
      if (JSON.stringify(current[limit]) !== JSON.stringify(next[limit])) restartFields.push(limit);
    }
  } else {
    return { kind: 'restart', reasons: [`mode ${current.role} → ${next.role}`] };
  }
  // The metrics listener is a socket the bootstrap opens with the others.
  if (JSON.stringify(current.metricsListen) !== JSON.stringify(next.metricsListen))
    restartFields.push('metricsListen');
  if (restartFields.length > 0) return { kind: 'restart', reasons: restartFields };

  if (current.role === 'relay' && next.role === 'relay') {
    if (current.interfaceMtu !== next.interfaceMtu) {
      changes.push({ kind: 'mtu', from: current.interfaceMtu, to: next.interfaceMtu });
    }
    if (current.drainTime !== next.drainTime) {
      changes.push({ kind: 'drain-time', from: current.drainTime ?? null, to: next.drainTime ?? null });
    }
  }
  if (current.syslogFacility !== next.syslogFacility) {
    changes.push({ kind: 'syslog-facility', from: current.syslogFacility, to: next.syslogFacility });
  }
  return changes.length === 0 ? { kind: 'unchanged' } : { kind: 'in-place', changes };
}
