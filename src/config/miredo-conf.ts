/**
 * miredo.conf (reference section 3.2): the client's and relay's settings. Which directives
 * are read depends on RelayType, exactly as in Miredo 1.2.6 (checked against Debian's
 * miredo-checkconf): the client reads ServerAddress and ServerAddress2, the relays read
 * Prefix and InterfaceMTU, every mode reads RelayType, InterfaceName, BindAddress, BindPort
 * and SyslogFacility. Anything else is reported as superfluous (a warning).
 *
 * Our extensions, read in every mode (Miredo 1.2.6 would call them superfluous): PeerTableCapacity
 * (most peers held at once; Miredo's fixed MAX_PEERS), DataplaneWorkers (data-plane worker
 * threads, 0 = a client one, a relay one per CPU) and MetricsListen (the Prometheus metrics over HTTP; off by default).
 * LocalDiscovery (RFC 4380 section 5.2.8, a boolean in Miredo's syntax, on by default; Miredo's
 * later releases have it, off by default) is read in client mode only, and so are PortMapping
 * (`auto`, `off` or one of `pcp`, `natpmp`, `upnp`; Miredo's booleans mean `auto` and `off`) and
 * PortMappingLifetime (seconds asked for the mapping), and FallbackServerAddress (repeatable:
 * fallback-servers.ts). AnnounceTable (the routing table where a
 * healthy relay keeps its prefix route for a BGP daemon) and DrainTime (seconds of forwarding
 * between the withdrawal and the stop) are read in relay modes only, and so is SharedRelayAddress
 * (a boolean: every relay of the fleet binds the same BindAddress and BindPort, anycast).
 */
import { z } from 'zod';
import {
  CLIENT_DEFAULT_PEER_CAPACITY,
  DEFAULT_PEER_CAPACITY,
  MAX_DATAPLANE_WORKERS,
  MAX_PEER_CAPACITY,
  TEREDO_CONSTANTS,
} from '../teredo/constants.js';
import { DEFAULT_SYSLOG_FACILITY } from '../log/syslog-facility.js';
import type { ConfigResult } from './diagnostic.js';
import { readFallbackServers } from './fallback-servers.js';
import { isIPv4OrHostName } from './host-name.js';
import { trackOrigins } from './origins.js';
import type { OriginTracker } from './origins.js';
import { SettingReader } from './setting-reader.js';
import { checkSharedAddress } from './shared-relay-address.js';
import { strtoulWhole } from './strtoul.js';
import {
  MAX_DRAIN_TIME_SECONDS,
  MAX_FALLBACK_SERVERS,
  MAX_PORT_MAPPING_LIFETIME,
  MIN_PEER_TABLE_CAPACITY,
  ANNOUNCE_MAIN_TABLE,
  announceMetricSchema,
  MAX_ANNOUNCE_METRIC,
  announceTableSchema,
  MIN_PORT_MAPPING_LIFETIME,
  PORT_MAPPING_MODES,
  PortMappingModeSchema,
  portMappingLifetimeSchema,
  relaySettingsSchema,
} from './settings-schema.js';
import {
  booleanValue,
  RelayTypeSchema,
  interfaceNameValue,
  ipv4OrHostNameValue,
  mtuValue,
  portValue,
  relayTypeValue,
  syslogFacilityValue,
  teredoPrefixValue,
  metricsListenValue,
} from './values.js';

/** A whole number from `min` to `max` in Miredo's integer syntax (strtoul base 0, like BindPort). */
function countValue(min: number, max: number, what: string) {
  return z.string().transform((text, ctx): number => {
    const parsed = strtoulWhole(text);
    if (!parsed.ok) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not ${what} (expected an integer from ${min} to ${max})`,
      });
      return z.NEVER;
    }
    if (parsed.value < BigInt(min) || parsed.value > BigInt(max)) {
      ctx.addIssue({ code: 'custom', message: `${text} is outside ${min} to ${max}` });
      return z.NEVER;
    }
    return Number(parsed.value);
  });
}

const peerTableCapacityValue = countValue(MIN_PEER_TABLE_CAPACITY, MAX_PEER_CAPACITY, 'a number of peers');
const dataplaneWorkersValue = countValue(0, MAX_DATAPLANE_WORKERS, 'a number of workers (0 = automatic)');
const drainTimeValue = countValue(0, MAX_DRAIN_TIME_SECONDS, 'a number of seconds');
const announceTableValue = countValue(1, 0xfffffffe, 'a routing table number').pipe(announceTableSchema);
const announceMetricValue = countValue(1, MAX_ANNOUNCE_METRIC, 'a route metric').pipe(announceMetricSchema);
const portMappingLifetimeValue = countValue(
  MIN_PORT_MAPPING_LIFETIME,
  MAX_PORT_MAPPING_LIFETIME,
  'a number of seconds',
);

/** PortMapping: a mode, or one of Miredo's booleans (true: auto, false: off). */
const portMappingValue = z.string().transform((text, ctx): MiredoConfig['portMapping'] => {
  const mode = PortMappingModeSchema.safeParse(text.toLowerCase());
  if (mode.success) return mode.data;
  const flag = booleanValue.safeParse(text);
  if (flag.success) return flag.data ? 'auto' : 'off';
  ctx.addIssue({
    code: 'custom',
    message: `"${text}" is not a port mapping mode (expected ${PORT_MAPPING_MODES.join(', ')} or a boolean)`,
  });
  return z.NEVER;
});

const hostSchema = z.string().refine(isIPv4OrHostName, { message: 'not an IPv4 address or host name' });

/**
 * A parsed miredo.conf, as it may cross a process boundary: the relay's settings
 * (settings-schema.ts) before its names are resolved, with the client's fields beside them.
 */
export const MiredoConfigSchema = relaySettingsSchema
  .omit({ role: true, relayType: true, bindAddress: true })
  .extend({
    relayType: RelayTypeSchema,
    /** Set exactly in client mode (from the file or the command line); null in relay modes. */
    serverAddress: hostSchema.nullable(),
    serverAddress2: hostSchema.nullable(),
    /** Client mode, from the file: FallbackServerAddress in order, with their lines. */
    fallbackServers: z
      .array(z.object({ name: hostSchema, line: z.number().int().nonnegative() }).strict().readonly())
      .max(MAX_FALLBACK_SERVERS)
      .readonly(),
    bindAddress: hostSchema,
    /** Client mode: local client discovery (relay modes do not read it and keep the default). */
    localDiscovery: z.boolean(),
    portMapping: PortMappingModeSchema,
    portMappingLifetime: portMappingLifetimeSchema,
  })
  .refine((config) => (config.relayType === 'client') === (config.serverAddress !== null), {
    message: 'serverAddress must be set in client mode and only there',
    path: ['serverAddress'],
  })
  .readonly();

export type MiredoConfig = z.infer<typeof MiredoConfigSchema>;

export const MIREDO_DEFAULTS = {
  relayType: 'client',
  bindAddress: '0.0.0.0',
  bindPort: 0,
  prefix: TEREDO_CONSTANTS.prefix,
  interfaceMtu: TEREDO_CONSTANTS.minMtu,
  syslogFacility: DEFAULT_SYSLOG_FACILITY,
  peerTableCapacity: DEFAULT_PEER_CAPACITY,
  dataplaneWorkers: 0,
  localDiscovery: true,
  portMapping: 'auto',
  portMappingLifetime: 3600,
} as const;

/** PeerTableCapacity when the file has none: small for a client, Miredo's maximum for a relay. */
export function defaultPeerTableCapacity(relayType: MiredoConfig['relayType']): number {
  return relayType === 'client' ? CLIENT_DEFAULT_PEER_CAPACITY : MIREDO_DEFAULTS.peerTableCapacity;
}

export interface MiredoConfOptions {
  /** The Teredo server given on the command line: replaces ServerAddress(2) in client mode. */
  readonly serverOverride?: string;
}

const RELAY_ONLY = 'only used in relay modes (RelayType cone or restricted); ignored';
const CLIENT_ONLY = 'only used in client mode; ignored';
const OVERRIDDEN = 'superseded by the server given on the command line; ignored';
const CLIENT_DIRECTIVES = [
  'serveraddress',
  'serveraddress2',
  'fallbackserveraddress',
  'localdiscovery',
  'portmapping',
  'portmappinglifetime',
] as const;

/** A client reads none of the relays' directives of ours. */
const NO_RELAY_DIRECTIVES = {
  announceTable: undefined,
  announceMetric: undefined,
  drainTime: undefined,
  sharedRelayAddress: undefined,
} as const;

interface ModeDirectives {
  readonly serverAddress: string | null;
  readonly serverAddress2: string | null;
  readonly fallbackServers: MiredoConfig['fallbackServers'];
  readonly prefix: number;
  readonly interfaceMtu: number;
  readonly localDiscovery: boolean;
  readonly portMapping: MiredoConfig['portMapping'];
  readonly portMappingLifetime: number;
  readonly announceTable: number | undefined;
  readonly announceMetric: number | undefined;
  readonly drainTime: number | undefined;
  /** SharedRelayAddress, with its line (it needs BindAddress and BindPort); relay modes only. */
  readonly sharedRelayAddress: { readonly value: boolean; readonly line: number } | undefined;
  /** The other mode's directives, with why they are not read. */
  readonly notRead: Map<string, string>;
}

/**
 * AnnounceTable and AnnounceMetric: the main table only with a metric (the announcement route
 * must not be the forwarding route itself), a metric only with a table.
 */
function readAnnouncement(
  reader: SettingReader,
  valueOf: OriginTracker<MiredoConfig>['valueOf'],
): { announceTable: number | undefined; announceMetric: number | undefined } {
  const table = reader.read('AnnounceTable', announceTableValue);
  const metric = reader.read('AnnounceMetric', announceMetricValue);
  if (table.kind === 'set' && table.value === ANNOUNCE_MAIN_TABLE && metric.kind === 'absent') {
    const message = 'table 254 (main) routes traffic: only with an AnnounceMetric below 1024';
    reader.report(table.entry.line, table.entry.name, 'error', message);
  }
  if (metric.kind === 'set' && table.kind === 'absent')
    reader.report(
      metric.entry.line,
      metric.entry.name,
      'warning',
      'only used with an AnnounceTable; ignored',
    );
  const announceTable = valueOf('announceTable', table);
  return {
    announceTable,
    announceMetric: announceTable === undefined ? undefined : valueOf('announceMetric', metric),
  };
}

function readSharedAddress(
  reader: SettingReader,
  valueOf: OriginTracker<MiredoConfig>['valueOf'],
): ModeDirectives['sharedRelayAddress'] {
  const shared = reader.read('SharedRelayAddress', booleanValue);
  if (shared.kind !== 'set') return undefined;
  return { value: valueOf('sharedRelayAddress', shared) ?? false, line: shared.entry.line };
}

/** The directives of one mode: the client's server (or the command line's), a relay's prefix and MTU. */
function readModeDirectives(
  reader: SettingReader,
  valueOf: OriginTracker<MiredoConfig>['valueOf'],
  relayType: MiredoConfig['relayType'],
  opts: MiredoConfOptions,
): ModeDirectives {
  const notRead = new Map<string, string>();
  if (relayType !== 'client') {
    for (const name of CLIENT_DIRECTIVES) notRead.set(name, CLIENT_ONLY);
    return {
      sharedRelayAddress: readSharedAddress(reader, valueOf),
      ...readAnnouncement(reader, valueOf),
      drainTime: valueOf('drainTime', reader.read('DrainTime', drainTimeValue)),
      serverAddress: null,
      serverAddress2: null,
      fallbackServers: [],
      localDiscovery: MIREDO_DEFAULTS.localDiscovery,
      portMapping: MIREDO_DEFAULTS.portMapping,
      portMappingLifetime: MIREDO_DEFAULTS.portMappingLifetime,
      prefix: valueOf('prefix', reader.read('Prefix', teredoPrefixValue)) ?? MIREDO_DEFAULTS.prefix,
      interfaceMtu:
        valueOf('interfaceMtu', reader.read('InterfaceMTU', mtuValue)) ?? MIREDO_DEFAULTS.interfaceMtu,
      notRead,
    };
  }
  const defaults = {
    prefix: MIREDO_DEFAULTS.prefix,
    interfaceMtu: MIREDO_DEFAULTS.interfaceMtu,
    localDiscovery:
      valueOf('localDiscovery', reader.read('LocalDiscovery', booleanValue)) ??
      MIREDO_DEFAULTS.localDiscovery,
    portMapping:
      valueOf('portMapping', reader.read('PortMapping', portMappingValue)) ?? MIREDO_DEFAULTS.portMapping,
    portMappingLifetime:
      valueOf('portMappingLifetime', reader.read('PortMappingLifetime', portMappingLifetimeValue)) ??
      MIREDO_DEFAULTS.portMappingLifetime,
  };
  notRead
    .set('prefix', RELAY_ONLY)
    .set('interfacemtu', RELAY_ONLY)
    .set('announcetable', RELAY_ONLY)
    .set('announcemetric', RELAY_ONLY)
    .set('draintime', RELAY_ONLY)
    .set('sharedrelayaddress', RELAY_ONLY);
  if (opts.serverOverride !== undefined) {
    notRead
      .set('serveraddress', OVERRIDDEN)
      .set('serveraddress2', OVERRIDDEN)
      .set('fallbackserveraddress', OVERRIDDEN);
    const serverAddress = reader.readArgument('server', opts.serverOverride, ipv4OrHostNameValue) ?? null;
    return {
      serverAddress,
      serverAddress2: null,
      fallbackServers: [],
      ...defaults,
      ...NO_RELAY_DIRECTIVES,
      notRead,
    };
  }
  const primary = reader.read('ServerAddress', ipv4OrHostNameValue);
  if (primary.kind === 'absent') {
    reader.report(
      0,
      'ServerAddress',
      'error',
      'required in client mode (or give the server on the command line)',
    );
  }
  const serverAddress = valueOf('serverAddress', primary) ?? null;
  return {
    serverAddress,
    serverAddress2: valueOf('serverAddress2', reader.read('ServerAddress2', ipv4OrHostNameValue)) ?? null,
    fallbackServers: readFallbackServers(reader, serverAddress),
    ...defaults,
    ...NO_RELAY_DIRECTIVES,
    notRead,
  };
}

export function parseMiredoConf(
  text: string,
  file: string,
  opts: MiredoConfOptions = {},
): ConfigResult<MiredoConfig> {
  const reader = new SettingReader(file, text);
  const { origins, valueOf } = trackOrigins<MiredoConfig>();

  const relaySetting = reader.read('RelayType', relayTypeValue);
  // Like Miredo: without a valid mode, which directives apply is unknown, so stop here.
  if (relaySetting.kind === 'invalid') return reader.fail();
  const relayType = valueOf('relayType', relaySetting) ?? MIREDO_DEFAULTS.relayType;
  if (relaySetting.kind === 'set' && relayType === 'restricted') {
    reader.advise(
      relaySetting.entry,
      'the "restricted" relay type is deprecated and STRONGLY DISCOURAGED; use "cone" (or "relay")',
    );
  }

  const {
    serverAddress,
    serverAddress2,
    fallbackServers,
    prefix,
    interfaceMtu,
    notRead,
    announceTable,
    announceMetric,
    drainTime,
    sharedRelayAddress,
    ...clientOnly
  } = readModeDirectives(reader, valueOf, relayType, opts);

  const bindAddress = valueOf('bindAddress', reader.read('BindAddress', ipv4OrHostNameValue));
  const bindPort = valueOf('bindPort', reader.read('BindPort', portValue));
  if (sharedRelayAddress?.value === true)
    checkSharedAddress(reader, sharedRelayAddress.line, bindAddress, bindPort);
  const interfaceName = valueOf('interfaceName', reader.read('InterfaceName', interfaceNameValue));
  // Miredo logs a bad facility and keeps the default: a warning, not an error.
  const syslogFacility = valueOf(
    'syslogFacility',
    reader.read('SyslogFacility', syslogFacilityValue, 'warning'),
  );
  const peerTableCapacity = valueOf(
    'peerTableCapacity',
    reader.read('PeerTableCapacity', peerTableCapacityValue),
  );
  const dataplaneWorkers = valueOf(
    'dataplaneWorkers',
    reader.read('DataplaneWorkers', dataplaneWorkersValue),
  );
  const metricsListen = valueOf('metricsListen', reader.read('MetricsListen', metricsListenValue));

  return reader.finish(notRead, () => ({
    config: MiredoConfigSchema.parse({
      relayType,
      serverAddress,
      serverAddress2,
      fallbackServers,
      interfaceName: interfaceName ?? null,
      bindAddress: bindAddress ?? MIREDO_DEFAULTS.bindAddress,
      bindPort: bindPort ?? MIREDO_DEFAULTS.bindPort,
      prefix,
      interfaceMtu,
      ...clientOnly,
      syslogFacility: syslogFacility ?? MIREDO_DEFAULTS.syslogFacility,
      peerTableCapacity: peerTableCapacity ?? defaultPeerTableCapacity(relayType),
      dataplaneWorkers: dataplaneWorkers ?? MIREDO_DEFAULTS.dataplaneWorkers,
      ...(metricsListen === undefined ? {} : { metricsListen }),
      ...(announceTable === undefined ? {} : { announceTable }),
      ...(announceMetric === undefined ? {} : { announceMetric }),
      ...(drainTime === undefined ? {} : { drainTime }),
      ...(sharedRelayAddress === undefined ? {} : { sharedRelayAddress: sharedRelayAddress.value }),
    }),
    origins,
  }));
}
