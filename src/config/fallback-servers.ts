/**
 * FallbackServerAddress (client mode, ours): further Teredo servers, one IPv4 address or host
 * name a line, repeatable, tried in file order when the server in use leaves its qualification
 * rounds unanswered (src/engine/server-follower.ts). Miredo 1.2.6 calls the directive superfluous;
 * a file without it behaves exactly as before. A name listed twice (or the primary's) is a
 * warning; more than MAX_FALLBACK_SERVERS an error.
 */
import { normalHostName } from './hosts-file.js';
import { MAX_FALLBACK_SERVERS } from './settings-schema.js';
import type { SettingReader } from './setting-reader.js';
import { ipv4OrHostNameValue } from './values.js';

export const FALLBACK_DIRECTIVE = 'FallbackServerAddress';

export interface FallbackServer {
  readonly name: string;
  /** Where the file sets it, for checkconf's messages. */
  readonly line: number;
}

export function readFallbackServers(reader: SettingReader, primary: string | null): FallbackServer[] {
  const seen = new Set(primary === null ? [] : [normalHostName(primary)]);
  const servers: FallbackServer[] = [];
  for (const { value, entry } of reader.readAll(FALLBACK_DIRECTIVE, ipv4OrHostNameValue)) {
    const key = normalHostName(value);
    if (seen.has(key)) {
      reader.report(entry.line, entry.name, 'warning', `"${value}" is already a Teredo server here; ignored`);
    } else if (servers.length === MAX_FALLBACK_SERVERS) {
      reader.report(entry.line, entry.name, 'error', `at most ${MAX_FALLBACK_SERVERS} fallback servers`);
    } else {
      seen.add(key);
      servers.push({ name: value, line: entry.line });
    }
  }
  return servers;
}
