/**
 * The bootstrap's answers to the engine's `resolve` requests (the jailed engine has no DNS):
 * only for the configured server names (ServerAddress and each FallbackServerAddress: a
 * compromised engine learns nothing else through us and cannot make us query names of its
 * choice), at most RESOLVE_RATE for all of them, and only global unicast addresses, as Miredo
 * requires of a server. Failures are logged with Miredo's messages, once per outage of each
 * name, and answered as values: the engine retries with back-off.
 */
import type { Logger } from '../log/logger.js';
import { normalHostName } from '../config/hosts-file.js';
import { MAX_RESOLVED_ADDRESSES } from '../ipc/bootstrap-engine-messages.js';
import type { ResolvedResult, ResolveRequest } from '../ipc/bootstrap-engine-messages.js';
import { isGlobalUnicastIPv4, parseIPv4 } from '../teredo/ipv4.js';
import { createSourceRateLimiter } from '../teredo/rate-limiter.js';
import { resolveServerName } from './server-name-resolver.js';
import type { ServerNameAnswer } from './server-name-resolver.js';
import type { DaemonSettings } from '../config/settings-schema.js';

/** Far above what the follower asks (TTL expiry, failed rounds, back-off from 1 s). */
export const RESOLVE_RATE = Object.freeze({ perSecond: 1, burst: 4 });
export const NON_GLOBAL_SERVER_TEXT = 'Teredo server has a non global IPv4 address.';

export interface NameServiceOptions {
  /** The names the engine may ask for (a client's ServerAddress and FallbackServerAddress). */
  readonly names: () => readonly string[];
  readonly resolve: (name: string) => Promise<ServerNameAnswer>;
  readonly log: Logger;
  /** Monotonic milliseconds; default performance.now. */
  readonly now?: () => number;
}

export interface NameService {
  answer(request: ResolveRequest): Promise<ResolvedResult>;
}

/** The name service of the running daemon: a client's server names, through the system's resolver. */
export function createClientNameService(settings: () => DaemonSettings, log: Logger): NameService {
  const names = (): string[] => {
    const current = settings();
    return current.role === 'client' ? [current.serverName, ...current.fallbackServers] : [];
  };
  return createNameService({ names, resolve: resolveServerName, log });
}

export function createNameService(options: NameServiceOptions): NameService {
  const { log } = options;
  const now = options.now ?? (() => performance.now());
  const limiter = createSourceRateLimiter({ ...RESOLVE_RATE, buckets: 1 });
  /** The last failure of each name (a handful of configured names at most). */
  const lastFailure = new Map<string, string>();

  const failed = (name: string, text: string, fields: Record<string, unknown>): ResolvedResult => {
    // Keyed by the configured spelling: the engine's case variants must not grow the map.
    const key = normalHostName(name);
    if (text !== lastFailure.get(key)) log.error(fields, '%s', text);
    lastFailure.set(key, text);
    return { ok: false, reason: text };
  };

  return {
    async answer(request: ResolveRequest): Promise<ResolvedResult> {
      const { name } = request;
      // Before anything else, so that a flood costs a clock read each and logs nothing.
      if (!limiter.allow(0, now())) return { ok: false, reason: 'too many resolve requests' };
      if (!options.names().some((allowed) => normalHostName(allowed) === normalHostName(name))) {
        log.warning({ name }, 'Refused resolve request: not a configured server name');
        return { ok: false, reason: 'not a configured server name' };
      }
      const answer = await options.resolve(name);
      if (!answer.ok) {
        return failed(name, `Cannot resolve Teredo server address "${name}": ${answer.message}`, {
          code: answer.code,
        });
      }
      const global = answer.addresses.filter((address) => isGlobalUnicastIPv4(parseIPv4(address) ?? 0));
      if (global.length === 0) {
        return failed(name, NON_GLOBAL_SERVER_TEXT, { name, addresses: answer.addresses });
      }
      lastFailure.delete(normalHostName(name));
      return { ok: true, addresses: global.slice(0, MAX_RESOLVED_ADDRESSES), ttlSeconds: answer.ttlSeconds };
    },
  };
}
