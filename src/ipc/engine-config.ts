/**
 * What the engine is told of the configuration, in `init`, `reconfigure` and each data-plane
 * worker's task: the settings of its role (src/config/settings-schema.ts) that the engine uses,
 * picked from the same schema, with every name already resolved by the bootstrap (the engine
 * cannot use DNS once it is jailed). The bootstrap keeps the rest (interface name, syslog
 * facility, pool size).
 */
import { z } from 'zod';
import {
  clientSettingsSchema,
  relaySettingsSchema,
  serverSettingsSchema,
} from '../config/settings-schema.js';

export const clientEngineConfigSchema = clientSettingsSchema
  .pick({
    role: true,
    serverName: true,
    serverAddress: true,
    serverAddress2: true,
    fallbackServers: true,
    bindAddress: true,
    bindPort: true,
    peerTableCapacity: true,
    localDiscovery: true,
    portMapping: true,
    portMappingLifetime: true,
  })
  .strict();

export const relayEngineConfigSchema = relaySettingsSchema
  .pick({
    role: true,
    relayType: true,
    prefix: true,
    interfaceMtu: true,
    bindAddress: true,
    bindPort: true,
    peerTableCapacity: true,
    sharedRelayAddress: true,
  })
  .strict();

export const serverEngineConfigSchema = serverSettingsSchema
  .pick({
    role: true,
    serverBindAddress: true,
    serverBindAddress2: true,
    prefix: true,
    interfaceMtu: true,
    rsRateLimit: true,
    forwardRateLimit: true,
  })
  .strict();

export const engineConfigSchema = z.discriminatedUnion('role', [
  clientEngineConfigSchema,
  relayEngineConfigSchema,
  serverEngineConfigSchema,
]);

export type EngineConfig = z.infer<typeof engineConfigSchema>;
