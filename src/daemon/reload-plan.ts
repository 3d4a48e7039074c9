/**
 * What a SIGHUP with a valid new configuration changes. Pure. Settings that live only in the
 * bootstrap or in the kernel routing table are changed in place; anything that needs other
 * kernel resources (interface name, sockets) or another engine mode restarts the engine.
 */
import type { DaemonSettings } from './settings.js';

export type InPlaceChange =
  | { readonly kind: 'mtu'; readonly from: number; readonly to: number }
  | { readonly kind: 'prefix'; readonly from: number; readonly to: number }
  | { readonly kind: 'syslog-facility'; readonly from: string; readonly to: string };

export type ReloadPlan =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'in-place'; readonly changes: readonly InPlaceChange[] }
  | { readonly kind: 'restart'; readonly reasons: readonly string[] };

type Field<S> = { [K in keyof S]: K }[keyof S];

function changed<S extends DaemonSettings>(current: S, next: S, fields: readonly Field<S>[]): string[] {
  return fields.filter((field) => current[field] !== next[field]).map(String);
}

export function planReload(current: DaemonSettings, next: DaemonSettings): ReloadPlan {
  let restartFields: string[];
  const changes: InPlaceChange[] = [];
  if (current.role === 'relay' && next.role === 'relay') {
    restartFields = changed(current, next, ['relayType', 'interfaceName', 'bindAddress', 'bindPort']);
  } else if (current.role === 'client' && next.role === 'client') {
    restartFields = changed(current, next, [
      'interfaceName',
      'serverName',
      'serverAddress',
      'serverAddress2',
      'bindAddress',
      'bindPort',
    ]);
  } else if (current.role === 'server' && next.role === 'server') {
    restartFields = changed(current, next, ['serverBindAddress', 'serverBindAddress2']);
  } else {
    return { kind: 'restart', reasons: [`mode ${current.role} → ${next.role}`] };
  }
  if (restartFields.length > 0) return { kind: 'restart', reasons: restartFields };

  if (current.role !== 'client' && next.role !== 'client') {
    if (current.interfaceMtu !== next.interfaceMtu) {
      changes.push({ kind: 'mtu', from: current.interfaceMtu, to: next.interfaceMtu });
    }
    if (current.prefix !== next.prefix)
      changes.push({ kind: 'prefix', from: current.prefix, to: next.prefix });
  }
  if (current.syslogFacility !== next.syslogFacility) {
    changes.push({ kind: 'syslog-facility', from: current.syslogFacility, to: next.syslogFacility });
  }
  return changes.length === 0 ? { kind: 'unchanged' } : { kind: 'in-place', changes };
}
