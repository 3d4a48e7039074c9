/**
 * miredo-server.conf (reference section 3.3) plus two directives of ours, RSRateLimit and
 * ForwardRateLimit. Unlike Miredo, the server's addresses must be dotted quads: the server binds
 * to its own addresses, and the default secondary address (primary + 1) is only defined for a
 * literal. Both must be global unicast; Miredo finds that out only when it opens its sockets,
 * we refuse the file (with its line), so that a reload with such an address keeps the running
 * server instead of stopping it.
 */
import { z } from 'zod';
import { TEREDO_CONSTANTS } from '../teredo/constants.js';
import { formatIPv4, isGlobalUnicastIPv4, parseIPv4 } from '../teredo/ipv4.js';
import type { ConfigResult } from './diagnostic.js';
import { trackOrigins } from './origins.js';
import { SettingReader } from './setting-reader.js';
import { strtoulWhole } from './strtoul.js';
import { DEFAULT_SYSLOG_FACILITY } from '../log/syslog-facility.js';
import { MAX_PACKETS_PER_SECOND, NOT_GLOBAL_TEXT, serverSettingsSchema } from './settings-schema.js';
import type { SourceRateLimit } from './settings-schema.js';
import { metricsListenValue, mtuValue, syslogFacilityValue, teredoPrefixValue } from './values.js';

/** A parsed miredo-server.conf, as it may cross a process boundary: the server's settings (settings-schema.ts). */
export const ServerConfigSchema = serverSettingsSchema
  .omit({ role: true })
  .refine((config) => config.serverBindAddress !== config.serverBindAddress2, {
    message: 'the two server addresses must differ',
    path: ['serverBindAddress2'],
  })
  .readonly();

export type ServerConfig = z.infer<typeof ServerConfigSchema>;

/** A packet rate N per second (0 = no limit) with a burst of 2N, at least 1. */
export function sourceRateLimit(perSecond: number): SourceRateLimit {
  return { perSecond, burst: Math.max(1, 2 * perSecond) };
}

/** A dotted-quad IPv4 address that is global unicast (Miredo's is_ipv4_global_unicast). */
export const serverAddressValue = z.string().transform((text, ctx): string => {
  const value = parseIPv4(text);
  if (value === null) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a dotted-quad IPv4 address` });
    return z.NEVER;
  }
  if (!isGlobalUnicastIPv4(value)) {
    ctx.addIssue({ code: 'custom', message: `${text} is not a global unicast address: ${NOT_GLOBAL_TEXT}` });
    return z.NEVER;
  }
  return text;
});

/** RSRateLimit, ForwardRateLimit: Miredo's integer syntax (strtoul base 0), 0 to 500000. */
export const rateLimitValue = z.string().transform((text, ctx): SourceRateLimit => {
  const parsed = strtoulWhole(text);
  if (!parsed.ok) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a packet rate (expected packets per second from 0 to ${MAX_PACKETS_PER_SECOND}; 0 = no limit)`,
    });
    return z.NEVER;
  }
  if (parsed.value > BigInt(MAX_PACKETS_PER_SECOND)) {
    ctx.addIssue({
      code: 'custom',
      message: `${text} is above the maximum of ${MAX_PACKETS_PER_SECOND} packets per second (0 = no limit)`,
    });
    return z.NEVER;
  }
  return sourceRateLimit(Number(parsed.value));
});

export const SERVER_DEFAULTS = {
  prefix: TEREDO_CONSTANTS.prefix,
  interfaceMtu: TEREDO_CONSTANTS.minMtu,
  syslogFacility: DEFAULT_SYSLOG_FACILITY,
  rsRateLimit: sourceRateLimit(50),
  forwardRateLimit: sourceRateLimit(1000),
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
    primary = reader.readArgument('address', opts.bindOverride, serverAddressValue);
  } else {
    const primarySetting = reader.read('ServerBindAddress', serverAddressValue);
    if (primarySetting.kind === 'absent') {
      reader.report(0, 'ServerBindAddress', 'error', 'required (or give the address on the command line)');
    }
    primary = valueOf('serverBindAddress', primarySetting);
    const secondarySetting = reader.read('ServerBindAddress2', serverAddressValue);
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
    // A global unicast primary is never 255.255.255.255, so it has a successor.
    const next = formatIPv4((parseIPv4(primary) ?? 0) + 1);
    if (serverAddressValue.safeParse(next).success) secondary = next;
    else {
      reader.report(
        origins.serverBindAddress ?? 0,
        'ServerBindAddress',
        'error',
        `the default ServerBindAddress2 (the next address) would be ${next}: ${NOT_GLOBAL_TEXT}; set ServerBindAddress2`,
      );
    }
  }

  const prefix = valueOf('prefix', reader.read('Prefix', teredoPrefixValue));
  const interfaceMtu = valueOf('interfaceMtu', reader.read('InterfaceMTU', mtuValue));
  const syslogFacility = valueOf(
    'syslogFacility',
    reader.read('SyslogFacility', syslogFacilityValue, 'warning'),
  );
  const rsRateLimit = valueOf('rsRateLimit', reader.read('RSRateLimit', rateLimitValue));
  const forwardRateLimit = valueOf('forwardRateLimit', reader.read('ForwardRateLimit', rateLimitValue));
  const metricsListen = valueOf('metricsListen', reader.read('MetricsListen', metricsListenValue));

  return reader.finish(notRead, () => ({
    config: ServerConfigSchema.parse({
      serverBindAddress: primary,
      serverBindAddress2: secondary,
      prefix: prefix ?? SERVER_DEFAULTS.prefix,
      interfaceMtu: interfaceMtu ?? SERVER_DEFAULTS.interfaceMtu,
      syslogFacility: syslogFacility ?? SERVER_DEFAULTS.syslogFacility,
      rsRateLimit: rsRateLimit ?? SERVER_DEFAULTS.rsRateLimit,
      forwardRateLimit: forwardRateLimit ?? SERVER_DEFAULTS.forwardRateLimit,
      ...(metricsListen === undefined ? {} : { metricsListen }),
    }),
    origins,
  }));
}
