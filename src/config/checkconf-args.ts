/**
 * miredo-checkconf's command line, read the way Miredo's (glibc getopt_long) reads it:
 * options and operands in any order, `--` ends options, clustered short options, unique
 * prefixes of long options. Like Debian's binary, a malformed option is reported and then
 * ignored: it does not change the exit status. `-f`, `-p`, `-t` and `-u` (the daemon's
 * options) are accepted and ignored, so the daemon's command line can be reused.
 * `--server` is an addition: it selects the miredo-server.conf syntax.
 */

export interface CheckconfArgs {
  readonly action: 'check' | 'help' | 'version';
  /** The first operand if any, else the last `-c`; undefined: the default file. */
  readonly file: string | undefined;
  readonly server: boolean;
  /** getopt's complaints, in glibc's words, for stderr. */
  readonly complaints: readonly string[];
}

type OptionId = 'c' | 'f' | 'h' | 'p' | 't' | 'u' | 'V' | 'server';

interface OptionSpec {
  readonly id: OptionId;
  readonly takesArgument: boolean;
}

/** A Map, so that no argument finds a property of Object.prototype. */
const SHORT_OPTIONS: ReadonlyMap<string, OptionSpec> = new Map([
  ['c', { id: 'c', takesArgument: true }],
  ['f', { id: 'f', takesArgument: false }],
  ['h', { id: 'h', takesArgument: false }],
  ['p', { id: 'p', takesArgument: true }],
  ['t', { id: 't', takesArgument: true }],
  ['u', { id: 'u', takesArgument: true }],
  ['V', { id: 'V', takesArgument: false }],
]);

const LONG_OPTIONS: ReadonlyArray<readonly [string, OptionSpec]> = [
  ['chroot', { id: 't', takesArgument: true }],
  ['chrootdir', { id: 't', takesArgument: true }],
  ['conf', { id: 'c', takesArgument: true }],
  ['config', { id: 'c', takesArgument: true }],
  ['foreground', { id: 'f', takesArgument: false }],
  ['help', { id: 'h', takesArgument: false }],
  ['pidfile', { id: 'p', takesArgument: true }],
  ['server', { id: 'server', takesArgument: false }],
  ['user', { id: 'u', takesArgument: true }],
  ['username', { id: 'u', takesArgument: true }],
  ['version', { id: 'V', takesArgument: false }],
];

type LongMatch =
  | { readonly kind: 'found'; readonly name: string; readonly spec: OptionSpec }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'ambiguous'; readonly names: readonly string[] };

function matchLongOption(name: string): LongMatch {
  const exact = LONG_OPTIONS.find(([candidate]) => candidate === name);
  if (exact) return { kind: 'found', name: exact[0], spec: exact[1] };
  const matches = LONG_OPTIONS.filter(([candidate]) => candidate.startsWith(name));
  const [first] = matches;
  if (first === undefined) return { kind: 'unknown' };
  const sameOption = matches.every(
    ([, spec]) => spec.id === first[1].id && spec.takesArgument === first[1].takesArgument,
  );
  if (sameOption) return { kind: 'found', name: first[0], spec: first[1] };
  return { kind: 'ambiguous', names: matches.map(([candidate]) => candidate) };
}

/**
 * One --name[=value] argument: its option and argument, or null after a complaint. `next` gives
 * the following element of argv, taken when the option needs an argument and has none inline.
 */
function longOption(
  arg: string,
  next: () => string | undefined,
  program: string,
  complaints: string[],
): { readonly id: OptionId; readonly argument: string | undefined } | null {
  const equals = arg.indexOf('=');
  const name = arg.slice(2, equals < 0 ? undefined : equals);
  const inline = equals < 0 ? undefined : arg.slice(equals + 1);
  const match = matchLongOption(name);
  if (match.kind === 'unknown') {
    complaints.push(`${program}: unrecognized option '${arg}'`);
    return null;
  }
  if (match.kind === 'ambiguous') {
    const names = match.names.map((n) => `'--${n}'`).join(' ');
    complaints.push(`${program}: option '--${name}' is ambiguous; possibilities: ${names}`);
    return null;
  }
  if (!match.spec.takesArgument) {
    if (inline === undefined) return { id: match.spec.id, argument: undefined };
    complaints.push(`${program}: option '--${match.name}' doesn't allow an argument`);
    return null;
  }
  const argument = inline ?? next();
  if (argument !== undefined) return { id: match.spec.id, argument };
  complaints.push(`${program}: option '--${match.name}' requires an argument`);
  return null;
}

export function parseCheckconfArgs(argv: readonly string[], program: string): CheckconfArgs {
  const complaints: string[] = [];
  const operands: string[] = [];
  let configOption: string | undefined;
  let server = false;

  /** Applies one recognised option; returns the action that ends parsing, if any. */
  const apply = (id: OptionId, argument: string | undefined): 'help' | 'version' | undefined => {
    if (id === 'h') return 'help';
    if (id === 'V') return 'version';
    if (id === 'c') configOption = argument;
    if (id === 'server') server = true;
    return undefined;
  };
  const finish = (action: CheckconfArgs['action']): CheckconfArgs => ({
    action,
    file: operands[0] ?? configOption,
    server,
    complaints,
  });

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      for (const operand of argv.slice(i + 1)) operands.push(operand);
      break;
    }
    if (arg.startsWith('--')) {
      const option = longOption(arg, () => argv[++i], program, complaints);
      const action = option === null ? undefined : apply(option.id, option.argument);
      if (action) return finish(action);
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j] ?? '';
        const spec = SHORT_OPTIONS.get(letter);
        if (spec === undefined) {
          complaints.push(`${program}: invalid option -- '${letter}'`);
          continue;
        }
        let argument: string | undefined;
        if (spec.takesArgument) {
          argument = j + 1 < arg.length ? arg.slice(j + 1) : argv[++i];
          if (argument === undefined) {
            complaints.push(`${program}: option requires an argument -- '${letter}'`);
            break;
          }
          j = arg.length;
        }
        const action = apply(spec.id, argument);
        if (action) return finish(action);
      }
      continue;
    }
    operands.push(arg);
  }
  return finish('check');
}
