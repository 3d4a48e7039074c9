/**
 * miredo-server.conf (reference section 3.3). Unlike Miredo, the server's addresses must be
 * dotted quads: the server binds to its own addresses, and the default secondary address
 * (primary + 1) is only defined for a literal. Whether they are global unicast is checked
 * where the sockets are opened, as in Miredo.
 */
import { z } from 'zod';
import { formatIPv4, parseIPv4 } from '../teredo/ipv4.js';
import type { ConfigResult } from './diagnostic.js';
import { trackOrigins } from './origins.js';
import { SettingReader } from './setting-reader.js';
import { DEFAULT_SYSLOG_FACILITY, SyslogFacilitySchema } from './syslog-facility.js';
import {
  DEFAULT_TEREDO_PREFIX,
  IPV6_MIN_MTU,
  TeredoPrefixSchema,
  ipv4LiteralValue,
  mtuValue,
  syslogFacilityValue,
  teredoPrefixValue,
} from './values.js';

export const SourceRateLimitSchema = z
  .object({
    perSecond: z.number().int().min(0).max(1_000_000),
    burst: z.number().int().min(1).max(1_000_000),
  })
  .readonly();

/** A parsed miredo-server.conf, as it may cross a process boundary. */
export const ServerConfigSchema = z
  .object({
    serverBindAddress: z.ipv4(),
    /** Defaults to serverBindAddress + 1, which Windows clients assume. */
    serverBindAddress2: z.ipv4(),
    prefix: TeredoPrefixSchema,
    /** Advertised in the Router Advertisement's MTU option. */
    interfaceMtu: z.number().int().min(IPV6_MIN_MTU).max(0xffff),
    syslogFacility: SyslogFacilitySchema,
    /** Router Solicitations answered per source IPv4 (our extension; perSecond 0 = no limit). */
    rsRateLimit: SourceRateLimitSchema,
    /** Packets forwarded per source IPv4 (our extension; perSecond 0 = no limit). */
    forwardRateLimit: SourceRateLimitSchema,
  })
  .refine((config) => config.serverBindAddress !== config.serverBindAddress2, {
    message: 'the two server addresses must differ',
    path: ['serverBindAddress2'],
  })
  .readonly();

export type ServerConfig = z.infer<typeof ServerConfigSchema>;
export type SourceRateLimit = z.infer<typeof SourceRateLimitSchema>;

export const SERVER_DEFAULTS = {
  prefix: DEFAULT_TEREDO_PREFIX,
  interfaceMtu: IPV6_MIN_MTU,
  syslogFacility: DEFAULT_SYSLOG_FACILITY,
  rsRateLimit: { perSecond: 50, burst: 100 },
  forwardRateLimit: { perSecond: 1000, burst: 2000 },
} as const;

export interface ServerConfOptions {
  /** The primary address given on the command line: replaces ServerBindAddress(2). */
  readonly bindOverride?: string;
}

const OVERRIDDEN = 'superseded by the address given on the command line; ignored';

export function parseServerConf(
  text: string,
  file: string,
  opts: ServerConfOptions = {},
): ConfigResult<ServerConfig> {
  const reader = new SettingReader(file, text);
  const { origins, valueOf } = trackOrigins<ServerConfig>();
  const notRead = new Map<string, string>();

  let primary: string | undefined;
  let secondary: string | undefined;
  if (opts.bindOverride !== undefined) {
    notRead.set('serverbindaddress', OVERRIDDEN).set('serverbindaddress2', OVERRIDDEN);
    primary = reader.readArgument('address', opts.bindOverride, ipv4LiteralValue);
  } else {
    const primarySetting = reader.read('ServerBindAddress', ipv4LiteralValue);
    if (primarySetting.kind === 'absent') {
      reader.report(0, 'ServerBindAddress', 'error', 'required (or give the address on the command line)');
    }
    primary = valueOf('serverBindAddress', primarySetting);
    const secondarySetting = reader.read('ServerBindAddress2', ipv4LiteralValue);
    secondary = valueOf('serverBindAddress2', secondarySetting);
    if (secondary !== undefined && secondary === primary && secondarySetting.kind === 'set') {
      reader.report(
        secondarySetting.entry.line,
        secondarySetting.entry.name,
        'error',
        'must differ from ServerBindAddress',
      );
    }
  }
  if (primary !== undefined && secondary === undefined) {
    const next = (parseIPv4(primary) ?? 0) + 1;
    if (next > 0xffffffff) {
      reader.report(
        origins.serverBindAddress ?? 0,
        'ServerBindAddress',
        'error',
        `${primary} has no successor for the default ServerBindAddress2; set ServerBindAddress2`,
      );
    } else {
      secondary = formatIPv4(next);
    }
  }

  const prefix = valueOf('prefix', reader.read('Prefix', teredoPrefixValue));
  const interfaceMtu = valueOf('interfaceMtu', reader.read('InterfaceMTU', mtuValue));
  const syslogFacility = valueOf(
    'syslogFacility',
    reader.read('SyslogFacility', syslogFacilityValue, 'warning'),
  );

  return reader.finish(notRead, () => ({
    config: ServerConfigSchema.parse({
      serverBindAddress: primary,
      serverBindAddress2: secondary,
      prefix: prefix ?? SERVER_DEFAULTS.prefix,
      interfaceMtu: interfaceMtu ?? SERVER_DEFAULTS.interfaceMtu,
      syslogFacility: syslogFacility ?? SERVER_DEFAULTS.syslogFacility,
      rsRateLimit: SERVER_DEFAULTS.rsRateLimit,
      forwardRateLimit: SERVER_DEFAULTS.forwardRateLimit,
    }),
    origins,
  }));
}
