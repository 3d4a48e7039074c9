/**
 * Configuration files and command lines for the lab's Teredo daemons, ours (bin/ in this
 * repository) or Debian's Miredo 1.2.6. Both read the same miredo.conf / miredo-server.conf
 * syntax; ours accept extra directives (e.g. RSRateLimit) that callers pass as `extra` lines.
 * Debian's Miredo wants absolute paths and one pid file per instance.
 */

export type Implementation = 'ours' | 'debian';
export type DaemonRole = 'server' | 'relay' | 'client';
/** Every process the lab keeps as a LabDaemon: the Teredo daemons, and the fleet's BIRDs and BGP delayers. */
export type LabProcessRole = DaemonRole | 'bird' | 'bgp-delay' | 'frr';
export type RelayType = 'cone' | 'restricted';

export interface ServerConfigInput {
  readonly primaryIPv4: string;
  /** Absent: the daemon's default, primary + 1. */
  readonly secondaryIPv4?: string;
  readonly extra?: readonly string[];
}

export interface RelayConfigInput {
  readonly relayType: RelayType;
  readonly interfaceName: string;
  readonly bindAddress: string;
  readonly bindPort?: number;
  readonly extra?: readonly string[];
}

export interface ClientConfigInput {
  readonly serverAddress: string;
  readonly interfaceName: string;
  readonly bindPort?: number;
  readonly extra?: readonly string[];
}

function lines(directives: readonly (string | null)[], extra: readonly string[] = []): string {
  // Every line ends with a newline: Miredo 1.2.6 skips a last line without one.
  return [...directives.filter((line): line is string => line !== null), ...extra]
    .map((l) => `${l}\n`)
    .join('');
}

export function serverConfig(input: ServerConfigInput): string {
  return lines(
    [
      `ServerBindAddress ${input.primaryIPv4}`,
      input.secondaryIPv4 === undefined ? null : `ServerBindAddress2 ${input.secondaryIPv4}`,
    ],
    input.extra,
  );
}

export function relayConfig(input: RelayConfigInput): string {
  return lines(
    [
      `RelayType ${input.relayType}`,
      `InterfaceName ${input.interfaceName}`,
      `BindAddress ${input.bindAddress}`,
      input.bindPort === undefined ? null : `BindPort ${input.bindPort}`,
    ],
    input.extra,
  );
}

export function clientConfig(input: ClientConfigInput): string {
  return lines(
    [
      'RelayType client',
      `ServerAddress ${input.serverAddress}`,
      `InterfaceName ${input.interfaceName}`,
      input.bindPort === undefined ? null : `BindPort ${input.bindPort}`,
    ],
    input.extra,
  );
}

export interface DaemonPaths {
  /** Absolute paths: Miredo refuses relative ones after its chdir('/'). */
  readonly config: string;
  readonly pidFile: string;
  /** An empty directory (root-owned, mode 0755) for our daemons' chroot. */
  readonly jail: string;
}

export interface DaemonCommandContext {
  readonly repoRoot: string;
  /** The node binary that runs our daemons (process.execPath). */
  readonly nodeBinary: string;
  readonly debianServer: string;
  readonly debianMiredo: string;
  /** Ours: started by setpriv as this user with the role's ambient capabilities (no -u). */
  readonly serviceUser?: { readonly name: string; readonly gid: number };
}

export interface DaemonCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/** Foreground (-f), own config and pid file; ours also drop to nobody and chroot into the jail. */
export function daemonCommand(
  impl: Implementation,
  role: DaemonRole,
  paths: DaemonPaths,
  context: DaemonCommandContext,
): DaemonCommand {
  const common = ['-f', '-c', paths.config, '-p', paths.pidFile];
  if (impl === 'ours') {
    const bin = `${context.repoRoot}bin/${role === 'server' ? 'miredo-server' : 'miredo'}`;
    const user = context.serviceUser;
    if (user === undefined)
      return { command: context.nodeBinary, args: [bin, ...common, '-u', 'nobody', '-t', paths.jail] };
    const caps = role === 'server' ? '-all,+net_raw,+sys_chroot' : '-all,+net_admin,+sys_chroot';
    const ids = ['--reuid', user.name, '--regid', String(user.gid), '--init-groups'];
    const capabilities = [`--inh-caps=${caps}`, `--ambient-caps=${caps}`];
    return {
      command: 'setpriv',
      args: [...ids, ...capabilities, context.nodeBinary, bin, ...common, '-t', paths.jail],
    };
  }
  if (role === 'server') return { command: context.debianServer, args: [...common, '-u', 'miredo-server'] };
  return { command: context.debianMiredo, args: [...common, '-u', 'miredo'] };
}

export function describeDaemon(impl: Implementation, role: LabProcessRole): string {
  if (role === 'bird') return 'BIRD';
  if (role === 'bgp-delay') return 'the BGP delaying proxy';
  if (role === 'frr') return 'FRR';
  const who = impl === 'ours' ? 'our' : "Debian's";
  const binary = role === 'server' ? 'miredo-server' : 'miredo';
  return `${who} ${binary} (${role})`;
}
