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
import type { ServerConfig, ServerConfOptions } from '../config/server-conf.js';
import { daemonSettingsSchema } from '../config/settings-schema.js';
import { isGlobalUnicastIPv4, parseIPv4 } from '../teredo/ipv4.js';
import type { DaemonSettings } from '../config/settings-schema.js';

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

/** A resolved address, or the error line naming the file and line of the setting. */
type Resolved =
  { readonly ok: true; readonly address: string } | { readonly ok: false; readonly error: string };

async function resolveSetting(
  sources: SettingsSources,
  name: string,
  where: string,
  describe: (message: string) => string,
): Promise<Resolved> {
  const resolved = await sources.resolve(name);
  return resolved.ok ? resolved : { ok: false, error: `${where}${describe(resolved.message)}` };
}

/** A relay's directives of ours (announcement, drain, shared address), each only when set. */
function relayExtensions(config: MiredoConfig) {
  const { announceTable, announceMetric, drainTime, sharedRelayAddress } = config;
  return {
    ...(announceTable === undefined ? {} : { announceTable }),
    ...(announceMetric === undefined ? {} : { announceMetric }),
    ...(drainTime === undefined ? {} : { drainTime }),
    ...(sharedRelayAddress === undefined ? {} : { sharedRelayAddress }),
  };
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
  const failed = (error: string): SettingsResult => ({ ok: false, errors: [error], warnings });
  const common = {
    interfaceName: config.interfaceName,
    syslogFacility: config.syslogFacility,
    bindPort: config.bindPort,
    peerTableCapacity: config.peerTableCapacity,
    dataplaneWorkers: config.dataplaneWorkers,
    ...(config.metricsListen === undefined ? {} : { metricsListen: config.metricsListen }),
  };

  const bind = await resolveSetting(
    sources,
    config.bindAddress,
    where('bindAddress'),
    (message) => `BindAddress: cannot resolve "${config.bindAddress}": ${message}`,
  );
  if (!bind.ok) return failed(bind.error);
  if (config.relayType !== 'client') {
    const { relayType, prefix, interfaceMtu } = config;
    const settings = {
      role: 'relay',
      relayType,
      prefix,
      interfaceMtu,
      ...relayExtensions(config),
      bindAddress: bind.address,
      ...common,
    } as const;
    return { ok: true, warnings, settings };
  }
  // Never fatal (Miredo keeps running too): the engine asks again until the name resolves
  // (src/engine/server-follower.ts); until then ServerAddress2 falls back to the primary + 1.
  const serverName = config.serverAddress ?? '';
  const cannot = (name: string) => (message: string) =>
    `Cannot resolve Teredo server address "${name}": ${message}`;
  const server = await resolveSetting(sources, serverName, where('serverAddress'), cannot(serverName));
  if (!server.ok) warnings.push(`${server.error}; retrying in the background`);
  let serverAddress2: string | null = null;
  if (config.serverAddress2 !== null) {
    const second = await resolveSetting(
      sources,
      config.serverAddress2,
      where('serverAddress2'),
      cannot(config.serverAddress2),
    );
    if (second.ok) serverAddress2 = second.address;
    else warnings.push(second.error);
  }
  return {
    ok: true,
    warnings,
    settings: {
      role: 'client',
      serverName,
      serverAddress: server.ok && isGlobalUnicastIPv4(parseIPv4(server.address) ?? 0) ? server.address : null,
      serverAddress2,
      fallbackServers: config.fallbackServers.map((fallback) => fallback.name),
      bindAddress: bind.address,
      localDiscovery: config.localDiscovery,
      portMapping: config.portMapping,
      portMappingLifetime: config.portMappingLifetime,
      ...common,
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
      ...(config.metricsListen === undefined ? {} : { metricsListen: config.metricsListen }),
    },
  };
}

/**
 * Data-plane workers for `settings`, each with its own TUN queue and UDP socket: the server has
 * one (it serves both its sockets), a client or relay DataplaneWorkers; for 0, a client one (a
 * host's own traffic; each thread costs start-up time and some 10 MB) and a relay `perCpu`.
 */
export function poolSizeFor(settings: DaemonSettings, perCpu: number): number {
  if (settings.role === 'server') return 1;
  if (settings.dataplaneWorkers > 0) return settings.dataplaneWorkers;
  return settings.role === 'client' ? 1 : perCpu;
}

/**
 * Reads, validates and resolves; never throws for a bad file or name. The result is checked
 * against the settings schema, from which the engine's configuration is derived.
 */
export async function loadSettings(
  options: CommandLineOptions,
  sources: SettingsSources = SYSTEM_SOURCES,
): Promise<SettingsResult> {
  const loaded =
    options.program === 'miredo-server'
      ? await server(options, sources)
      : await clientOrRelay(options, sources);
  if (!loaded.ok) return loaded;
  const checked = daemonSettingsSchema.safeParse(loaded.settings);
  if (checked.success) return { ok: true, settings: checked.data, warnings: loaded.warnings };
  const errors = checked.error.issues.map(
    (issue) => `${options.configFile}: ${issue.path.join('.')}: ${issue.message}`,
  );
  return { ok: false, errors, warnings: loaded.warnings };
}
