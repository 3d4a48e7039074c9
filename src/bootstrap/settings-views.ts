/**
 * The settings as the engine and the helper see them: the engine's configuration (the fields
 * of its role that src/ipc/engine-config.ts picks), and the prefix and server the helper checks
 * the engine's requests against.
 */
import type { DaemonSettings } from '../config/settings-schema.js';
import {
  clientEngineConfigSchema,
  relayEngineConfigSchema,
  serverEngineConfigSchema,
} from '../ipc/engine-config.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import { TEREDO_CONSTANTS } from '../teredo/constants.js';
import { parseIPv4 } from '../teredo/ipv4.js';
import type { KernelResources } from './resources.js';

/**
 * The engine's part of `settings`, with the port the kernel bound (BindPort 0 lets it choose).
 * Parsed, not copied: a field the engine schema lacks is left out, and valid settings always parse.
 */
export function engineConfigFor(settings: DaemonSettings, resources: KernelResources): EngineConfig {
  switch (settings.role) {
    case 'client':
      return clientEngineConfigSchema
        .strip()
        .parse({ ...settings, bindPort: resources.boundPort ?? settings.bindPort });
    case 'relay':
      return relayEngineConfigSchema
        .strip()
        .parse({ ...settings, bindPort: resources.boundPort ?? settings.bindPort });
    case 'server':
      return serverEngineConfigSchema.strip().parse(settings);
  }
}

/** A client's prefix is its server's choice; 2001:0::/32 is the standard one. */
export function prefixOf(settings: DaemonSettings): number {
  return settings.role === 'client' ? TEREDO_CONSTANTS.prefix : settings.prefix;
}

/**
 * A client's server as resolved at load, for the helper (which lets only a client report its
 * state); 0 while the name has not resolved, null for the other roles.
 */
export function serverOf(settings: DaemonSettings): number | null {
  if (settings.role !== 'client') return null;
  return settings.serverAddress === null ? 0 : (parseIPv4(settings.serverAddress) ?? 0);
}
