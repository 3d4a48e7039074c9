/**
 * What the engine is told of the configuration, in `init`, `reconfigure` and each data-plane
 * worker's task: the settings of its role, with every name already resolved by the bootstrap
 * (the engine cannot use DNS once it is jailed).
 */
import { z } from 'zod';
import { MAX_PEER_CAPACITY } from '../teredo/constants.js';
import { ipv4, mtu, port, uint32 } from './fields.js';

/** Most peers the client's or relay's table holds (PeerTableCapacity; absent: the engine's default). */
const peerTableCapacity = z.number().int().min(1).max(MAX_PEER_CAPACITY);

export const clientEngineConfigSchema = z
  .object({
    role: z.literal('client'),
    /** The server name as configured (for messages). */
    serverName: z.string().min(1).max(255),
    serverAddress: ipv4,
    serverAddress2: ipv4.nullable(),
    bindAddress: ipv4,
    bindPort: port,
    peerTableCapacity: peerTableCapacity.optional(),
  })
  .strict();

export const relayEngineConfigSchema = z
  .object({
    role: z.literal('relay'),
    relayType: z.enum(['cone', 'restricted']),
    prefix: uint32,
    interfaceMtu: mtu,
    bindAddress: ipv4,
    bindPort: port,
    peerTableCapacity: peerTableCapacity.optional(),
  })
  .strict();

/** Per source IPv4: sustained packets per second (0 = no limit) and the burst allowed above it. */
export const sourceRateLimitSchema = z
  .object({
    perSecond: z.number().int().min(0).max(1_000_000),
    burst: z.number().int().min(1).max(1_000_000),
  })
  .strict();

export const serverEngineConfigSchema = z
  .object({
    role: z.literal('server'),
    serverBindAddress: ipv4,
    serverBindAddress2: ipv4,
    prefix: uint32,
    interfaceMtu: mtu,
    /** Router Solicitations answered per source IPv4. */
    rsRateLimit: sourceRateLimitSchema,
    /** Packets forwarded (to clients or natively) per source IPv4. */
    forwardRateLimit: sourceRateLimitSchema,
  })
  .strict();

export const engineConfigSchema = z.discriminatedUnion('role', [
  clientEngineConfigSchema,
  relayEngineConfigSchema,
  serverEngineConfigSchema,
]);

export type EngineConfig = z.infer<typeof engineConfigSchema>;
export type EngineRole = EngineConfig['role'];
export type ServerEngineConfig = z.infer<typeof serverEngineConfigSchema>;
export type SourceRateLimit = z.infer<typeof sourceRateLimitSchema>;
