/**
 * What the bootstrap runs with: the configuration file plus the command line, validated, with
 * every host name resolved here (the engine cannot use DNS once it is jailed).
 */
import type { CommandLineOptions } from './command-line.js';
import { formatDiagnostic } from '../config/diagnostic.js';
import type { ConfigResult } from '../config/diagnostic.js';
import type { MiredoConfig, MiredoConfOptions } from '../config/miredo-conf.js';
import { readMiredoConfFile, readServerConfFile } from '../config/read-conf-file.js';
import { resolveIPv4 } from '../config/resolve.js';
import type { ResolveResult } from '../config/resolve.js';
import type { ServerConfig, ServerConfOptions, SourceRateLimit } from '../config/server-conf.js';
import type { SyslogFacility } from '../log/syslog-facility.js';

export type DaemonSettings =
  | {
      readonly role: 'client';
      readonly interfaceName: string | null;
      readonly syslogFacility: SyslogFacility;
      readonly serverName: string;
      readonly serverAddress: string;
      readonly serverAddress2: string | null;
      readonly bindAddress: string;
      readonly bindPort: number;
      /** PeerTableCapacity; absent: the engine's default. */
      readonly peerTableCapacity?: number;
      /** DataplaneWorkers; 0 or absent: one per CPU (poolSizeFor). */
      readonly dataplaneWorkers?: number;
    }
  | {
      readonly role: 'relay';
      readonly relayType: 'cone' | 'restricted';
      readonly interfaceName: string | null;
      readonly syslogFacility: SyslogFacility;
      readonly prefix: number;
      readonly interfaceMtu: number;
      readonly bindAddress: string;
      readonly bindPort: number;
      /** PeerTableCapacity; absent: the engine's default. */
      readonly peerTableCapacity?: number;
      /** DataplaneWorkers; 0 or absent: one per CPU (poolSizeFor). */
      readonly dataplaneWorkers?: number;
    }
  | {
      readonly role: 'server';
      readonly syslogFacility: SyslogFacility;
      readonly serverBindAddress: string;
      readonly serverBindAddress2: string;
      readonly prefix: number;
      readonly interfaceMtu: number;
      readonly rsRateLimit: SourceRateLimit;
      readonly forwardRateLimit: SourceRateLimit;
    };

export type SettingsResult =
  | { readonly ok: true; readonly settings: DaemonSettings; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[]; readonly warnings: readonly string[] };

export interface SettingsSources {
  readMiredoConf(path: string, opts: MiredoConfOptions): Promise<ConfigResult<MiredoConfig>>;
  readServerConf(path: string, opts: ServerConfOptions): Promise<ConfigResult<ServerConfig>>;
  resolve(name: string): Promise<ResolveResult>;
}

export const SYSTEM_SOURCES: SettingsSources = {
  readMiredoConf: readMiredoConfFile,
  readServerConf: readServerConfFile,
  resolve: resolveIPv4,
};

function warningsOf<T>(result: ConfigResult<T>): string[] {
  return result.warnings.map(formatDiagnostic);
}

async function clientOrRelay(options: CommandLineOptions, sources: SettingsSources): Promise<SettingsResult> {
  const file = options.configFile;
  const opts: MiredoConfOptions = options.positional === null ? {} : { serverOverride: options.positional };
  const result = await sources.readMiredoConf(file, opts);
  const warnings = warningsOf(result);
  if (!result.ok) return { ok: false, errors: result.errors.map(formatDiagnostic), warnings };
  const { config } = result;
  const origins = result.origins ?? {};
  const where = (field: keyof MiredoConfig): string => {
    const line = origins[field];
    return line === undefined ? '' : `${file}:${line}: `;
  };

  const bind = await sources.resolve(config.bindAddress);
  if (!bind.ok) {
    return {
      ok: false,
      errors: [`${where('bindAddress')}BindAddress: cannot resolve "${config.bindAddress}": ${bind.message}`],
      warnings,
    };
  }
  if (config.relayType !== 'client') {
    return {
      ok: true,
      warnings,
      settings: {
        role: 'relay',
        relayType: config.relayType,
        interfaceName: config.interfaceName,
        syslogFacility: config.syslogFacility,
        prefix: config.prefix,
        interfaceMtu: config.interfaceMtu,
        bindAddress: bind.address,
        bindPort: config.bindPort,
        peerTableCapacity: config.peerTableCapacity,
        dataplaneWorkers: config.dataplaneWorkers,
      },
    };
  }
  const serverName = config.serverAddress ?? '';
  const server = await sources.resolve(serverName);
  if (!server.ok) {
    return {
      ok: false,
      errors: [
        `${where('serverAddress')}Cannot resolve Teredo server address "${serverName}": ${server.message}`,
      ],
      warnings,
    };
  }
  let serverAddress2: string | null = null;
  if (config.serverAddress2 !== null) {
    const second = await sources.resolve(config.serverAddress2);
    if (!second.ok) {
      return {
        ok: false,
        errors: [
          `${where('serverAddress2')}Cannot resolve Teredo server address "${config.serverAddress2}": ${second.message}`,
        ],
        warnings,
      };
    }
    serverAddress2 = second.address;
  }
  return {
    ok: true,
    warnings,
    settings: {
      role: 'client',
      interfaceName: config.interfaceName,
      syslogFacility: config.syslogFacility,
      serverName,
      serverAddress: server.address,
      serverAddress2,
      bindAddress: bind.address,
      bindPort: config.bindPort,
      peerTableCapacity: config.peerTableCapacity,
      dataplaneWorkers: config.dataplaneWorkers,
    },
  };
}

async function server(options: CommandLineOptions, sources: SettingsSources): Promise<SettingsResult> {
  const opts: ServerConfOptions = options.positional === null ? {} : { bindOverride: options.positional };
  const result = await sources.readServerConf(options.configFile, opts);
  const warnings = warningsOf(result);
  if (!result.ok) return { ok: false, errors: result.errors.map(formatDiagnostic), warnings };
  const { config } = result;
  return {
    ok: true,
    warnings,
    settings: {
      role: 'server',
      syslogFacility: config.syslogFacility,
      serverBindAddress: config.serverBindAddress,
      serverBindAddress2: config.serverBindAddress2,
      prefix: config.prefix,
      interfaceMtu: config.interfaceMtu,
      rsRateLimit: config.rsRateLimit,
      forwardRateLimit: config.forwardRateLimit,
    },
  };
}

/**
 * Data-plane workers for `settings`, each with its own TUN queue and UDP socket: the server has
 * one (it serves both its sockets), a client or relay DataplaneWorkers, or `perCpu` for 0.
 */
export function poolSizeFor(settings: DaemonSettings, perCpu: number): number {
  if (settings.role === 'server') return 1;
  const configured = settings.dataplaneWorkers ?? 0;
  return configured > 0 ? configured : perCpu;
}

/** Reads, validates and resolves; never throws for a bad file or name. */
export function loadSettings(
  options: CommandLineOptions,
  sources: SettingsSources = SYSTEM_SOURCES,
): Promise<SettingsResult> {
  return options.program === 'miredo-server' ? server(options, sources) : clientOrRelay(options, sources);
}
