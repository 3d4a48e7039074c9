/**
 * miredo-checkconf: validates a miredo.conf (or, with --server, a miredo-server.conf) the way
 * Miredo 1.2.6's does. Exit status 0 when the file is valid and nothing needs saying, 255 when
 * anything at all is reported (errors, superfluous directives, ignored lines), each message as
 * `FILE:LINE: Directive: message`, then "Fatal configuration error". Like 1.2.6 it resolves
 * ServerAddress, ServerAddress2 and BindAddress, and our FallbackServerAddress names too.
 */
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { parseCheckconfArgs } from './checkconf-args.js';
import { byLine, formatDiagnostic, isFault } from './diagnostic.js';
import type { ConfigResult, Diagnostic } from './diagnostic.js';
import type { MiredoConfig } from './miredo-conf.js';
import { FALLBACK_DIRECTIVE } from './fallback-servers.js';
import { readMiredoConfFile, readServerConfFile } from './read-conf-file.js';
import { resolveIPv4 } from './resolve.js';

export const DEFAULT_MIREDO_CONF = '/etc/miredo/miredo.conf';
export const DEFAULT_SERVER_CONF = '/etc/miredo/miredo-server.conf';
export const CHECKCONF_FAILURE = 255;

export interface CheckconfIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

function usage(program: string): string {
  return [
    `Usage: ${program} [--server] [CONF_FILE]`,
    `Checks a Miredo configuration file: miredo.conf (default ${DEFAULT_MIREDO_CONF})`,
    `or, with --server, miredo-server.conf (default ${DEFAULT_SERVER_CONF}).`,
    'Exit status: 0 if the file is valid, 255 if anything is reported.',
    '',
    '  -c, --config FILE  the file to check (a CONF_FILE operand takes precedence)',
    '      --server       check a miredo-server.conf',
    '  -h, --help         display this help and exit',
    '  -V, --version      display version information and exit',
    '  -f, -p FILE, -t DIR, -u USER   accepted and ignored, as for miredo',
    '',
  ].join('\n');
}

function version(program: string): string {
  return `${program} (${PACKAGE_NAME}) ${PACKAGE_VERSION}\nChecks configuration files written for Miredo 1.2.6.\n`;
}

const RESOLVED_FIELDS = [
  ['serverAddress', 'ServerAddress'],
  ['serverAddress2', 'ServerAddress2'],
  ['bindAddress', 'BindAddress'],
] as const;

/** Miredo's checkconf looks up the host names it reads: do the same. */
async function resolutionErrors(result: ConfigResult<MiredoConfig>, file: string): Promise<Diagnostic[]> {
  if (!result.ok) return [];
  const { config, origins = {} } = result;
  const names = RESOLVED_FIELDS.map(
    ([field, directive]): { name: string | null; line: number | undefined; directive: string } => ({
      name: config[field],
      line: origins[field],
      directive,
    }),
  ).concat(config.fallbackServers.map(({ name, line }) => ({ name, line, directive: FALLBACK_DIRECTIVE })));
  const lookups = names.map(async ({ name, line, directive }): Promise<Diagnostic | undefined> => {
    if (name === null || line === undefined) return undefined;
    const resolved = await resolveIPv4(name);
    if (resolved.ok) return undefined;
    const message = `Invalid hostname "${name}": ${resolved.message} (${resolved.code})`;
    return { file, line, directive, severity: 'error', message };
  });
  return (await Promise.all(lookups)).filter((d): d is Diagnostic => d !== undefined);
}

export async function runCheckconf(
  argv: readonly string[],
  io: CheckconfIO,
  program = 'miredo-checkconf',
): Promise<number> {
  const args = parseCheckconfArgs(argv, program);
  for (const complaint of args.complaints) io.stderr(`${complaint}\n`);
  if (args.action === 'help') {
    io.stdout(usage(program));
    return 0;
  }
  if (args.action === 'version') {
    io.stdout(version(program));
    return 0;
  }

  const file = args.file ?? (args.server ? DEFAULT_SERVER_CONF : DEFAULT_MIREDO_CONF);
  // concat, not push(...): a file can hold more directives than a call can take arguments.
  let diagnostics: readonly Diagnostic[];
  if (args.server) {
    const result = await readServerConfFile(file);
    diagnostics = (result.ok ? [] : result.errors).concat(result.warnings);
  } else {
    const result = await readMiredoConfFile(file);
    diagnostics = (result.ok ? [] : result.errors).concat(
      result.warnings,
      await resolutionErrors(result, file),
    );
  }

  const faults = byLine(diagnostics.filter(isFault));
  if (faults.length === 0) return 0;
  for (const fault of faults) io.stderr(`${formatDiagnostic(fault)}\n`);
  io.stderr('Fatal configuration error\n');
  return CHECKCONF_FAILURE;
}
