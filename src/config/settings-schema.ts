/**
 * The daemon's settings, validated: what a configuration file and the command line become once
 * every host name is resolved (src/bootstrap/settings.ts). This is the one schema the rest
 * derives from: the bootstrap's DaemonSettings is its type, the configuration files' schemas
 * (miredo-conf.ts, server-conf.ts) are built from its fields, and the engine's configuration
 * (src/ipc/engine-config.ts) picks from it, so a bound changes in one place for all of them.
 *
 * It imports only zod, the syslog facilities, the constants and the address parsers: the data-plane
 * threads load it.
 */
import { z } from 'zod';
import { SyslogFacilitySchema } from '../log/syslog-facility.js';
import {
  MAX_DATAPLANE_WORKERS,
  MAX_PEER_CAPACITY,
  TEREDO_CONSTANTS,
  TEREDO_ROUTE_METRIC,
} from '../teredo/constants.js';
import { isGlobalUnicastIPv4, parseIPv4 } from '../teredo/ipv4.js';
import { parseIPv6 } from '../teredo/ipv6-text.js';

/** Linux IFNAMSIZ: names are at most 15 bytes plus the terminating NUL. */
export const IFNAMSIZ = 16;
/** The smallest PeerTableCapacity: below it, a handful of spoofed peers would fill the table. */
export const MIN_PEER_TABLE_CAPACITY = 1024;
/** The burst is twice the rate, so a rate above this would exceed the burst's bound. */
export const MAX_PACKETS_PER_SECOND = 500_000;
/** Miredo's own sentence (miredo-server 1.2.6, "Teredo server UDP socket error: ..."). */
export const NOT_GLOBAL_TEXT = 'Server IPv4 addresses must be global unicast';

/** A dotted-quad IPv4 address (four decimal octets without leading zeros). */
export const ipv4Schema = z
  .string()
  .max(15)
  .refine((text) => parseIPv4(text) !== null, 'not an IPv4 address');
export const portSchema = z.number().int().min(0).max(0xffff);
export const mtuSchema = z.number().int().min(TEREDO_CONSTANTS.minMtu).max(TEREDO_CONSTANTS.maxMtu);
/** null: let the kernel choose (`tun%d`). */
export const interfaceNameSchema = z
  .string()
  .min(1)
  .max(IFNAMSIZ - 1)
  .nullable();
/** The first 32 bits of a Teredo prefix, as a uint32 outside ff00::/8. */
export const TeredoPrefixSchema = z
  .number()
  .int()
  .min(0)
  .max(0xffffffff)
  .refine((prefix) => prefix >>> 24 !== 0xff, { message: 'multicast prefix' });
/** Most peers the client's or relay's table holds (PeerTableCapacity, our extension). */
export const peerTableCapacitySchema = z.number().int().min(MIN_PEER_TABLE_CAPACITY).max(MAX_PEER_CAPACITY);
/** Data-plane worker threads; 0 = automatic: a client one, a relay one per CPU (DataplaneWorkers, our extension). */
export const dataplaneWorkersSchema = z.number().int().min(0).max(MAX_DATAPLANE_WORKERS);
/** A server's own address: a dotted quad that is global unicast (Miredo's is_ipv4_global_unicast). */
export const serverAddressSchema = ipv4Schema.refine(
  (text) => isGlobalUnicastIPv4(parseIPv4(text) ?? 0),
  NOT_GLOBAL_TEXT,
);
/** Per source IPv4: sustained packets per second (0 = no limit) and the burst allowed above it. */
export const SourceRateLimitSchema = z
  .object({
    perSecond: z.number().int().min(0).max(MAX_PACKETS_PER_SECOND),
    burst: z
      .number()
      .int()
      .min(1)
      .max(2 * MAX_PACKETS_PER_SECOND),
  })
  .strict()
  .readonly();

/** The port miredo-ctl(8) suggests for MetricsListen (no registered Prometheus exporter port). */
export const DEFAULT_METRICS_PORT = 9473;

/**
 * MetricsListen (our extension): where the engine serves the Prometheus metrics over HTTP, an IP
 * literal and a port. Absent: no listener (the default).
 */
export const metricsListenSchema = z
  .object({
    address: z
      .string()
      .max(45)
      .refine((text) => parseIPv4(text) !== null || parseIPv6(text) !== null, 'not an IP address'),
    port: z.number().int().min(1).max(0xffff),
  })
  .strict()
  .readonly();

export const PORT_MAPPING_MODES = ['auto', 'off', 'pcp', 'natpmp', 'upnp'] as const;
export const PortMappingModeSchema = z.enum(PORT_MAPPING_MODES);
export const MIN_PORT_MAPPING_LIFETIME = 2;
export const MAX_PORT_MAPPING_LIFETIME = 86400;
export const portMappingLifetimeSchema = z
  .number()
  .int()
  .min(MIN_PORT_MAPPING_LIFETIME)
  .max(MAX_PORT_MAPPING_LIFETIME);

/** FallbackServerAddress directives a client takes (each costs a round before the next is tried). */
export const MAX_FALLBACK_SERVERS = 8;
/** A Teredo server's name as configured: at most a host name's 253 bytes and a dot. */
export const serverNameSchema = z.string().min(1).max(255);

export const clientSettingsSchema = z
  .object({
    role: z.literal('client'),
    interfaceName: interfaceNameSchema,
    syslogFacility: SyslogFacilitySchema,
    /** The server name as configured (ServerAddress). */
    serverName: serverNameSchema,
    /** What the name resolved to when the settings were loaded; null: it did not (yet). */
    serverAddress: ipv4Schema.nullable(),
    /** Read and kept, but Miredo 1.2.6 never uses it (reference section 3.2). */
    serverAddress2: ipv4Schema.nullable(),
    /**
     * FallbackServerAddress (ours): further servers, in order, tried when the one in use leaves
     * its rounds unanswered; resolved by the engine's follower as it needs them, never at load.
     */
    fallbackServers: z.array(serverNameSchema).max(MAX_FALLBACK_SERVERS),
    bindAddress: ipv4Schema,
    bindPort: portSchema,
    peerTableCapacity: peerTableCapacitySchema,
    dataplaneWorkers: dataplaneWorkersSchema,
    metricsListen: metricsListenSchema.optional(),
    /** RFC 4380 section 5.2.8 local client discovery (LocalDiscovery, on by default). */
    localDiscovery: z.boolean(),
    /** Port mapping on the NAT (PortMapping: UPnP IGD, NAT-PMP, PCP; 'auto' tries all three). */
    portMapping: PortMappingModeSchema,
    /** The lifetime asked for the mapping, in seconds (PortMappingLifetime). */
    portMappingLifetime: portMappingLifetimeSchema,
  })
  .strict();

/**
 * AnnounceTable (relay, our extension): the kernel routing table where the relay keeps its prefix
 * route only while it is healthy and not draining, for a BGP daemon to learn and announce
 * (README "Deployment: a relay fleet"). Not 0 (unspecified) nor 253 or 255 (default, local); 254
 * (main) only with an AnnounceMetric (miredo-conf.ts checks), for FRR's zebra, which learns
 * IPv6 routes from the main table only.
 */
export const ANNOUNCE_MAIN_TABLE = 254;
export const announceTableSchema = z
  .number()
  .int()
  .min(1)
  .max(0xfffffffe)
  .refine((table) => table !== 253 && table !== 255, 'tables 253 (default) and 255 (local) route traffic');
/**
 * AnnounceMetric (relay, our extension): the announcement route's metric, below the forwarding
 * route's (1024), so that in the main table it is the one a routing daemon selects and can
 * tell apart (FRR: `redistribute kernel` with `match metric`). Both go through the tunnel.
 * Absent: 1024, which only another table can hold.
 */
export const MAX_ANNOUNCE_METRIC = TEREDO_ROUTE_METRIC.prefixRoute - 1;
export const announceMetricSchema = z.number().int().min(1).max(MAX_ANNOUNCE_METRIC);
export const MAX_DRAIN_TIME_SECONDS = 3600;
/** DrainTime (relay, our extension): seconds of forwarding after the withdrawal, before the stop. */
export const drainTimeSchema = z.number().int().min(0).max(MAX_DRAIN_TIME_SECONDS);
/** DrainTime's default when AnnounceTable is set (a withdrawal takes a few seconds to converge). */
export const DEFAULT_DRAIN_TIME_SECONDS = 10;

export const relaySettingsSchema = z
  .object({
    role: z.literal('relay'),
    relayType: z.enum(['cone', 'restricted']),
    interfaceName: interfaceNameSchema,
    syslogFacility: SyslogFacilitySchema,
    prefix: TeredoPrefixSchema,
    interfaceMtu: mtuSchema,
    bindAddress: ipv4Schema,
    bindPort: portSchema,
    peerTableCapacity: peerTableCapacitySchema,
    dataplaneWorkers: dataplaneWorkersSchema,
    metricsListen: metricsListenSchema.optional(),
    /** Absent: no announcement route (and nothing to drain). */
    announceTable: announceTableSchema.optional(),
    /** Absent: the forwarding route's metric (never with AnnounceTable 254). */
    announceMetric: announceMetricSchema.optional(),
    /** Absent: DEFAULT_DRAIN_TIME_SECONDS with an AnnounceTable, 0 without. */
    drainTime: drainTimeSchema.optional(),
    /**
     * SharedRelayAddress (relay, our extension): every relay of the fleet has BindAddress and
     * BindPort, anycast (README "Deployment: a relay fleet"). Absent: no.
     */
    sharedRelayAddress: z.boolean().optional(),
  })
  .strict();

export const serverSettingsSchema = z
  .object({
    role: z.literal('server'),
    syslogFacility: SyslogFacilitySchema,
    serverBindAddress: serverAddressSchema,
    /** Defaults to serverBindAddress + 1, which Windows clients assume. */
    serverBindAddress2: serverAddressSchema,
    prefix: TeredoPrefixSchema,
    /** Advertised in the Router Advertisement's MTU option. */
    interfaceMtu: mtuSchema,
    /** Router Solicitations answered per source IPv4 (our extension; perSecond 0 = no limit). */
    rsRateLimit: SourceRateLimitSchema,
    /** Packets forwarded per source IPv4 (our extension; perSecond 0 = no limit). */
    forwardRateLimit: SourceRateLimitSchema,
    metricsListen: metricsListenSchema.optional(),
  })
  .strict();

export const daemonSettingsSchema = z.discriminatedUnion('role', [
  clientSettingsSchema,
  relaySettingsSchema,
  serverSettingsSchema,
]);

export type DaemonSettings = Readonly<z.infer<typeof daemonSettingsSchema>>;
export type DaemonRole = DaemonSettings['role'];
export type SourceRateLimit = z.infer<typeof SourceRateLimitSchema>;
export type MetricsListen = z.infer<typeof metricsListenSchema>;
