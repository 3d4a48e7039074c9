/**
 * Miredo's command line (getopt_long "c:fhp:t:u:V"), shared by miredo and miredo-server.
 * Pure: argv in, a tagged result out; the caller prints and exits.
 */
import { z } from 'zod';
import { TEREDO_CONSTANTS } from '../teredo/constants.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';

export type Program = 'miredo' | 'miredo-server';

export const DEFAULT_CONFIG_FILE: Readonly<Record<Program, string>> = {
  miredo: '/etc/miredo/miredo.conf',
  'miredo-server': '/etc/miredo/miredo-server.conf',
};

export const DEFAULT_PID_FILE: Readonly<Record<Program, string>> = {
  miredo: '/var/run/miredo.pid',
  'miredo-server': '/var/run/miredo-server.pid',
};

export const commandLineOptionsSchema = z
  .object({
    program: z.enum(['miredo', 'miredo-server']),
    configFile: z.string().min(1, 'the configuration file name is empty'),
    foreground: z.boolean(),
    pidFile: z.string().min(1, 'the PID file name is empty'),
    chrootDir: z.string().min(1, 'the chroot directory name is empty').nullable(),
    user: z.string().min(1, 'the user name is empty').nullable(),
    /** miredo: Teredo server name (overrides ServerAddress); miredo-server: primary bind address. */
    positional: z.string().min(1, 'the positional argument is empty').nullable(),
  })
  .strict()
  .readonly();

export type CommandLineOptions = z.infer<typeof commandLineOptionsSchema>;

export type ParsedCommandLine =
  | { readonly kind: 'run'; readonly options: CommandLineOptions }
  | { readonly kind: 'help'; readonly exitCode: 0; readonly stdout: string }
  | { readonly kind: 'version'; readonly exitCode: 0; readonly stdout: string }
  | { readonly kind: 'usage-error'; readonly exitCode: 2; readonly stderr: string };

type OptionKey = 'c' | 'f' | 'h' | 'p' | 't' | 'u' | 'V';

const TAKES_ARGUMENT: Readonly<Record<OptionKey, boolean>> = {
  c: true,
  f: false,
  h: false,
  p: true,
  t: true,
  u: true,
  V: false,
};

const LONG_OPTIONS: ReadonlyArray<readonly [string, OptionKey]> = [
  ['config', 'c'],
  ['conf', 'c'],
  ['foreground', 'f'],
  ['help', 'h'],
  ['pidfile', 'p'],
  ['chroot', 't'],
  ['chrootdir', 't'],
  ['user', 'u'],
  ['username', 'u'],
  ['version', 'V'],
];

function isOptionKey(c: string): c is OptionKey {
  return Object.hasOwn(TAKES_ARGUMENT, c);
}

export function usageText(program: Program): string {
  const positional = program === 'miredo' ? '[SERVER_NAME]' : '[BIND_ADDRESS]';
  const what =
    program === 'miredo'
      ? 'Creates a Teredo tunneling interface for encapsulation of IPv6 over UDP.'
      : `Runs a Teredo server (RFC 4380) on UDP port ${TEREDO_CONSTANTS.port}.`;
  const chroot = program === 'miredo' ? '  -t, --chroot     chroot to the specified directory\n' : '';
  return (
    `Usage: ${program} [OPTIONS] ${positional}\n` +
    `${what}\n\n` +
    '  -c, --config     specify a configuration file\n' +
    '  -f, --foreground run in the foreground\n' +
    '  -h, --help       display this help and exit\n' +
    '  -p, --pidfile    override the location of the PID file\n' +
    chroot +
    '  -u, --user       override the user to set UID to\n' +
    '  -V, --version    display program version and exit\n'
  );
}

export function versionText(): string {
  return (
    `${PACKAGE_NAME}: Teredo IPv6 tunneling software ${PACKAGE_VERSION} (compatible with Miredo 1.2.6)\n` +
    'A TypeScript re-implementation of Miredo by Remi Denis-Courmont and contributors.\n' +
    'This is free software; see the source for copying conditions.\n' +
    'There is NO warranty; not even for MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.\n'
  );
}

function usageError(program: Program, message: string | null): ParsedCommandLine {
  const detail = message === null ? '' : `${message}\n`;
  return {
    kind: 'usage-error',
    exitCode: 2,
    stderr: `${detail}Try "${program} -h | more" for more information.\n`,
  };
}

type LongMatch =
  | { readonly ok: true; readonly key: OptionKey; readonly name: string }
  | { readonly ok: false; readonly message: string };

/** getopt_long matching: exact name, else an unambiguous prefix (several names for one option are fine). */
function matchLongOption(program: Program, name: string): LongMatch {
  const exact = LONG_OPTIONS.find(([long]) => long === name);
  if (exact !== undefined) return { ok: true, key: exact[1], name: exact[0] };
  const candidates = LONG_OPTIONS.filter(([long]) => long.startsWith(name));
  const first = candidates[0];
  if (first === undefined) return { ok: false, message: `${program}: unrecognized option '--${name}'` };
  if (candidates.some(([, key]) => key !== first[1])) {
    const list = candidates.map(([long]) => `'--${long}'`).join(' ');
    return { ok: false, message: `${program}: option '--${name}' is ambiguous; possibilities: ${list}` };
  }
  return { ok: true, key: first[1], name: first[0] };
}

interface Collected {
  c: string | null;
  p: string | null;
  t: string | null;
  u: string | null;
  foreground: boolean;
}

function duplicateMessage(key: OptionKey, previous: string, additional: string): string {
  return `Duplicate parameter "${additional}" for option -${key}\nwould override previous value "${previous}".`;
}

/** Applies one recognised option; returns a final result when parsing must stop there. */
function applyOption(
  program: Program,
  collected: Collected,
  key: OptionKey,
  value: string | null,
): ParsedCommandLine | null {
  switch (key) {
    case 'h':
      return { kind: 'help', exitCode: 0, stdout: usageText(program) };
    case 'V':
      return { kind: 'version', exitCode: 0, stdout: versionText() };
    case 'f':
      collected.foreground = true;
      return null;
    case 'c':
    case 'p':
    case 't':
    case 'u': {
      const previous = collected[key];
      const next = value ?? '';
      if (previous !== null) return usageError(program, duplicateMessage(key, previous, next));
      collected[key] = next;
      return null;
    }
  }
}

/** The options once every argument is read: at most one positional, then the schema's checks. */
function validated(
  program: Program,
  collected: Collected,
  positionals: readonly string[],
): ParsedCommandLine {
  const extra = positionals[1];
  if (extra !== undefined) return usageError(program, `${extra}: unexpected extra parameter`);

  const parsed = commandLineOptionsSchema.safeParse({
    program,
    configFile: collected.c ?? DEFAULT_CONFIG_FILE[program],
    foreground: collected.foreground,
    pidFile: collected.p ?? DEFAULT_PID_FILE[program],
    chrootDir: collected.t,
    user: collected.u,
    positional: positionals[0] ?? null,
  });
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => `${program}: ${issue.message}`).join('\n');
    return usageError(program, messages);
  }
  return { kind: 'run', options: parsed.data };
}

/**
 * Parses `args` (argv without node and the script) like Miredo does: getopt_long with argument
 * permutation, `--` ending options; -h and -V act as soon as they are seen.
 */
export function parseCommandLine(program: Program, args: readonly string[]): ParsedCommandLine {
  const collected: Collected = { c: null, p: null, t: null, u: null, foreground: false };
  const positionals: string[] = [];

  const apply = (key: OptionKey, value: string | null): ParsedCommandLine | null =>
    applyOption(program, collected, key, value);

  let index = 0;
  while (index < args.length) {
    const arg = args[index] ?? '';
    index += 1;
    if (arg === '--') {
      for (const positional of args.slice(index)) positionals.push(positional);
      break;
    }
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
      const inline = equals === -1 ? null : arg.slice(equals + 1);
      const match = matchLongOption(program, name);
      if (!match.ok) return usageError(program, match.message);
      let value: string | null = null;
      if (TAKES_ARGUMENT[match.key]) {
        if (inline !== null) value = inline;
        else if (index < args.length) {
          value = args[index] ?? '';
          index += 1;
        } else return usageError(program, `${program}: option '--${match.name}' requires an argument`);
      } else if (inline !== null) {
        return usageError(program, `${program}: option '--${match.name}' doesn't allow an argument`);
      }
      const result = apply(match.key, value);
      if (result !== null) return result;
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let at = 1; at < arg.length; at += 1) {
        const letter = arg[at] ?? '';
        if (!isOptionKey(letter)) return usageError(program, `${program}: invalid option -- '${letter}'`);
        let value: string | null = null;
        if (TAKES_ARGUMENT[letter]) {
          if (at + 1 < arg.length) value = arg.slice(at + 1);
          else if (index < args.length) {
            value = args[index] ?? '';
            index += 1;
          } else return usageError(program, `${program}: option requires an argument -- '${letter}'`);
          at = arg.length;
        }
        const result = apply(letter, value);
        if (result !== null) return result;
      }
      continue;
    }
    positionals.push(arg);
  }

  return validated(program, collected, positionals);
}
