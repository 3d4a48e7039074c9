/**
 * Local discovery's kernel side (RFC 4380 section 5.2.8; the procedure is src/teredo/
 * local-discovery.ts): the link it runs on, a socket bound to 224.0.0.253:3544 that joined the
 * group there, and the service sockets' multicast options (announcements leave by that link,
 * TTL 1, from the address and port peers should use). Binding port 3544 needs no privilege, but
 * joining is done here with the other sockets so that the engine's inputs stay the bootstrap's
 * choice. Failing to find the link or to open the socket only turns discovery off (logged): the
 * tunnel works without it.
 */
import { errnoText } from './errno-text.js';
import type { OsApi } from './os-api.js';
import type { DaemonSettings } from '../config/settings-schema.js';
import { TEREDO_CONSTANTS } from '../teredo/constants.js';
import { formatIPv4 } from '../teredo/ipv4.js';
import { DISCOVERY_GROUP_IPV4 } from '../teredo/local-discovery-rules.js';

export const DISCOVERY_GROUP = formatIPv4(DISCOVERY_GROUP_IPV4);

export interface DiscoveryResource {
  readonly fd: number;
  /** The interface discovery runs on: name, IPv4 address, prefix length. */
  readonly link: { readonly name: string; readonly address: string; readonly prefixLength: number };
}

export interface OpenedDiscovery {
  readonly discovery: DiscoveryResource | null;
  /** Why there is none, when LocalDiscovery asked for it. */
  readonly problem: string | null;
}

export async function openDiscovery(
  settings: Extract<DaemonSettings, { role: 'client' }>,
  udpFds: readonly number[],
  os: OsApi,
): Promise<OpenedDiscovery> {
  const port = TEREDO_CONSTANTS.port;
  if (settings.serverAddress === null) {
    return { discovery: null, problem: `the server name "${settings.serverName}" did not resolve` };
  }
  const link = await os.localLinkTowards(settings.serverAddress, port, settings.bindAddress);
  if (link === null) {
    const towards =
      settings.bindAddress === '0.0.0.0' ? `a route to ${settings.serverAddress}` : settings.bindAddress;
    return { discovery: null, problem: `no IPv4 interface for ${towards}` };
  }
  let fd: number | null = null;
  try {
    fd = os.openMulticast4(DISCOVERY_GROUP, port, link.address);
    for (const udp of udpFds) os.setMulticastSend(udp, link.address);
    return { discovery: { fd, link }, problem: null };
  } catch (error) {
    if (fd !== null) os.closeFd(fd);
    return { discovery: null, problem: `${DISCOVERY_GROUP}:${port} on ${link.name}: ${errnoText(error)}` };
  }
}
