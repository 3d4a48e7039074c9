/**
 * The command lines of miredo, miredo-server and miredo-checkconf on mutated argument vectors.
 * Invariants: nothing throws; the result is one of the declared kinds with its exit status.
 */
import { parseCommandLine } from '../../../src/bootstrap/command-line.js';
import type { Program } from '../../../src/bootstrap/command-line.js';
import { parseCheckconfArgs } from '../../../src/config/checkconf-args.js';
import { mutateArgv } from '../mutate-text.js';
import { ARGV_CODEC, invariant } from '../target.js';
import type { FuzzTarget } from '../target.js';

const WORDS = [
  '-c',
  '-f',
  '-h',
  '-p',
  '-t',
  '-u',
  '-V',
  '-cfoo',
  '-fp',
  '--config',
  '--conf',
  '--foreground',
  '--help',
  '--pidfile',
  '--chroot',
  '--chrootdir',
  '--user',
  '--username',
  '--version',
  '--server',
  '--co',
  '--',
  '-',
  '/etc/miredo/miredo.conf',
  'teredo.example',
  '192.0.2.1',
  'nobody',
  '/run/x.pid',
];

function daemonTarget(program: Program): FuzzTarget<string[]> {
  return {
    name: `cli-${program}`,
    codec: ARGV_CODEC,
    seeds: () => [
      ['-f', '-c', '/etc/miredo/miredo.conf', 'teredo.example'],
      ['--pidfile=/run/x.pid', '-u', 'nobody'],
      ['-V'],
      [],
    ],
    mutate: (seed, random) => mutateArgv(seed, random, WORDS),
    run(argv): string {
      const parsed = parseCommandLine(program, argv);
      switch (parsed.kind) {
        case 'run':
          invariant(parsed.options.program === program, 'the program is kept');
          return `run:${parsed.options.foreground}:${parsed.options.positional === null}`;
        case 'help':
        case 'version':
          invariant(parsed.exitCode === 0 && parsed.stdout.length > 0, `${parsed.kind} prints and exits 0`);
          return parsed.kind;
        case 'usage-error':
          invariant(parsed.exitCode === 2 && parsed.stderr.length > 0, 'a usage error says why and exits 2');
          return `usage:${parsed.stderr.replace(/'[^']*'|"[^"]*"/g, '#').slice(0, 80)}`;
      }
    },
  };
}

export const CLI_TARGETS: readonly FuzzTarget<string[]>[] = [
  daemonTarget('miredo'),
  daemonTarget('miredo-server'),
  {
    name: 'cli-miredo-checkconf',
    codec: ARGV_CODEC,
    seeds: () => [['-c', 'x.conf'], ['--server', 'y.conf'], ['-h'], ['--', '-c']],
    mutate: (seed, random) => mutateArgv(seed, random, WORDS),
    run(argv): string {
      const parsed = parseCheckconfArgs(argv, 'miredo-checkconf');
      invariant(['check', 'help', 'version'].includes(parsed.action), `action ${parsed.action}`);
      invariant(parsed.file === undefined || typeof parsed.file === 'string', 'file is a string');
      return `${parsed.action}:${parsed.server}:${parsed.complaints.length > 0}`;
    },
  },
];
