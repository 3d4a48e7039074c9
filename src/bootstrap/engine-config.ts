/** What the engine is told of the configuration, and what the helper checks its requests against. */
import { TEREDO_CONSTANTS } from '../teredo/constants.js';
import { parseIPv4 } from '../teredo/ipv4.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import type { KernelResources } from './resources.js';
import type { DaemonSettings } from './settings.js';

function peerTableCapacityOf(settings: DaemonSettings): { peerTableCapacity?: number } {
  return settings.role === 'server' || settings.peerTableCapacity === undefined
    ? {}
    : { peerTableCapacity: settings.peerTableCapacity };
}

export function engineConfigFor(settings: DaemonSettings, resources: KernelResources): EngineConfig {
  switch (settings.role) {
    case 'client':
      return {
        role: 'client',
        serverName: settings.serverName,
        serverAddress: settings.serverAddress,
        serverAddress2: settings.serverAddress2,
        bindAddress: settings.bindAddress,
        bindPort: resources.boundPort ?? settings.bindPort,
        ...peerTableCapacityOf(settings),
      };
    case 'relay':
      return {
        role: 'relay',
        relayType: settings.relayType,
        prefix: settings.prefix,
        interfaceMtu: settings.interfaceMtu,
        bindAddress: settings.bindAddress,
        bindPort: resources.boundPort ?? settings.bindPort,
        ...peerTableCapacityOf(settings),
      };
    case 'server':
      return {
        role: 'server',
        serverBindAddress: settings.serverBindAddress,
        serverBindAddress2: settings.serverBindAddress2,
        prefix: settings.prefix,
        interfaceMtu: settings.interfaceMtu,
        rsRateLimit: { ...settings.rsRateLimit },
        forwardRateLimit: { ...settings.forwardRateLimit },
      };
  }
}

/** A client's prefix is its server's choice; 2001:0::/32 is the standard one. */
export function prefixOf(settings: DaemonSettings): number {
  return settings.role === 'client' ? TEREDO_CONSTANTS.prefix : settings.prefix;
}

/** A client's server, whose Teredo addresses the helper lets the client's engine set. */
export function serverOf(settings: DaemonSettings): number | null {
  return settings.role === 'client' ? parseIPv4(settings.serverAddress) : null;
}
