/**
 * Command-line handling compared with Debian's miredo-checkconf: which file is checked, the
 * daemon options that are ignored, help and version, and getopt complaints that do not change
 * the exit status.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { miredoSkip, runMiredo, runOurs } from './checkconf-tools.js';

const VALID = 'client-minimal.conf';
const INVALID = 'empty.conf';

const CASES: ReadonlyArray<readonly [string, readonly string[], number]> = [
  ['-h prints usage', ['-h'], 0],
  ['--help prints usage', ['--help'], 0],
  ['-V prints the version', ['-V'], 0],
  ['--version prints the version', ['--version'], 0],
  ['-h wins over the file', ['-h', INVALID], 0],
  ['an operand', [VALID], 0],
  ['-c FILE', ['-c', VALID], 0],
  ['--config=FILE', [`--config=${VALID}`], 0],
  ['--conf FILE', ['--conf', INVALID], 255],
  ['the operand wins over -c', ['-c', INVALID, VALID], 0],
  ['the first operand wins', [VALID, INVALID], 0],
  ['the first operand wins (invalid)', [INVALID, VALID], 255],
  ['the last -c wins', ['-c', VALID, '-c', INVALID], 255],
  ["the daemon's options are ignored", ['-f', '-p', 'x.pid', '-t', '/', '-u', 'nobody', VALID], 0],
  [
    "the daemon's long options are ignored",
    ['--foreground', '--pidfile=x', '--user', 'u', '--chroot', '/', VALID],
    0,
  ],
  ['clustered short options', ['-fpx', VALID], 0],
  ['options after the operand', [VALID, '-f'], 0],
  ['-- ends the options', ['--', VALID], 0],
  ['an unknown option is only a complaint', ['-x', VALID], 0],
  ['an unknown long option is only a complaint', ['--bogus', VALID], 0],
  ['a missing file', ['missing.conf'], 255],
  ['"-" is a file name', ['-'], 255],
];

for (const [title, args, status] of CASES) {
  test(`like Miredo: ${title} (${args.join(' ')})`, { skip: miredoSkip() }, async () => {
    const [miredo, ours] = await Promise.all([runMiredo(args), runOurs(args)]);
    assert.equal(miredo.status, status, `Miredo: ${miredo.stderr}`);
    assert.equal(ours.status, status, `ours: ${ours.stderr}`);
    assert.equal(ours.stdout === '', miredo.stdout === '', 'both or neither print to stdout');
  });
}

test('getopt complaints go to stderr in the same words', { skip: miredoSkip() }, async () => {
  for (const [args, pattern] of [
    [['-x', VALID], /invalid option -- 'x'/],
    [['--bogus', VALID], /unrecognized option '--bogus'/],
    [['--help=1', VALID], /option '--help' doesn't allow an argument/],
  ] as const) {
    const [miredo, ours] = await Promise.all([runMiredo(args), runOurs(args)]);
    assert.match(miredo.stderr, pattern);
    assert.match(ours.stderr, pattern);
  }
});
