/**
 * A Teredo server name to all its IPv4 addresses and how long they hold, for the engine's
 * server follower (src/engine/server-follower.ts). A name in /etc/hosts, or one only the system
 * resolver knows (numeric forms such as `127.1`, other NSS sources), is looked up with
 * getaddrinfo like Miredo and held HOSTS_TTL_SECONDS; any other name is asked of DNS with
 * dns.resolve4, whose answer carries its TTL. TTLs are kept within MIN..MAX_TTL_SECONDS.
 * Failures are values, with Miredo's reasons.
 */
import { lookup, resolve4 } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { hostsFileNames, normalHostName } from '../config/hosts-file.js';
import { resolveFailure } from '../config/resolve.js';
import { parseIPv4 } from '../teredo/ipv4.js';

/** How long an answer without a TTL (literal, /etc/hosts, getaddrinfo) holds. */
export const HOSTS_TTL_SECONDS = 300;
/** A TTL of 0 (or a few seconds) must not make the client ask without pause. */
export const MIN_TTL_SECONDS = 10;
export const MAX_TTL_SECONDS = 86_400;

export type ServerNameAnswer =
  | { readonly ok: true; readonly addresses: readonly string[]; readonly ttlSeconds: number }
  | { readonly ok: false; readonly code: string; readonly message: string };

export interface ResolverSystem {
  readHosts(): Promise<string>;
  resolve4(name: string): Promise<readonly { readonly address: string; readonly ttl: number }[]>;
  lookupAll(name: string): Promise<readonly string[]>;
}

export const SYSTEM_RESOLVER: ResolverSystem = {
  readHosts: () => readFile('/etc/hosts', 'utf8').catch(() => ''),
  resolve4: (name) => resolve4(name, { ttl: true }),
  lookupAll: async (name) =>
    (await lookup(name, { family: 4, all: true })).filter((a) => a.family === 4).map((a) => a.address),
};

const unique = (addresses: readonly string[]): string[] => [...new Set(addresses)];
const clampTtl = (seconds: number): number =>
  Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, Math.floor(seconds)));

async function fromSystemResolver(name: string, system: ResolverSystem): Promise<ServerNameAnswer> {
  try {
    const addresses = unique(await system.lookupAll(name));
    if (addresses.length === 0) return { ok: false, code: 'ENODATA', message: 'host has no IPv4 address' };
    return { ok: true, addresses, ttlSeconds: HOSTS_TTL_SECONDS };
  } catch (error) {
    return resolveFailure(error);
  }
}

export async function resolveServerName(
  name: string,
  system: ResolverSystem = SYSTEM_RESOLVER,
): Promise<ServerNameAnswer> {
  if (parseIPv4(name) !== null) return { ok: true, addresses: [name], ttlSeconds: MAX_TTL_SECONDS };
  if (hostsFileNames(await system.readHosts()).has(normalHostName(name))) {
    return fromSystemResolver(name, system);
  }
  try {
    const records = await system.resolve4(name);
    if (records.length > 0) {
      return {
        ok: true,
        addresses: unique(records.map((record) => record.address)),
        ttlSeconds: clampTtl(Math.min(...records.map((record) => record.ttl))),
      };
    }
  } catch {
    // Not in DNS (or no DNS): getaddrinfo may still know it, and gives Miredo's reasons if not.
  }
  return fromSystemResolver(name, system);
}
