/**
 * Command lines holding names of Object.prototype's properties, or a huge number of operands
 * (issue 11, finding 9): miredo's and miredo-checkconf's parsers treat them as any other text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCommandLine } from '../../../src/bootstrap/command-line.js';
import type { Program } from '../../../src/bootstrap/command-line.js';
import { parseCheckconfArgs } from '../../../src/config/checkconf-args.js';

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'] as const;
const PROGRAMS: readonly Program[] = ['miredo', 'miredo-server'];
/** More operands than a function call takes as spread arguments. */
const MANY = 200_000;

test('miredo: such names as long options are unrecognized options (exit 2)', () => {
  for (const program of PROGRAMS) {
    for (const name of NAMES) {
      const parsed = parseCommandLine(program, [`--${name}`]);
      assert.equal(parsed.kind, 'usage-error', name);
      if (parsed.kind !== 'usage-error') continue;
      assert.equal(parsed.exitCode, 2);
      assert.match(parsed.stderr, new RegExp(`^${program}: unrecognized option '--${name}'\n`));
    }
  }
});

test('miredo: such names as option values and operands are plain text', () => {
  for (const name of NAMES) {
    const parsed = parseCommandLine('miredo', ['-c', name, '-p', name, '-t', name, '-u', name, name]);
    assert.equal(parsed.kind, 'run', name);
    if (parsed.kind !== 'run') continue;
    const { configFile, pidFile, chrootDir, user, positional } = parsed.options;
    assert.deepEqual([configFile, pidFile, chrootDir, user, positional], [name, name, name, name, name]);
    const inline = parseCommandLine('miredo', [`--config=${name}`, `--user=${name}`]);
    assert.equal(inline.kind, 'run');
  }
});

test('miredo: 200,000 operands after -- are an extra-parameter error, not a crash', () => {
  const parsed = parseCommandLine('miredo', ['--', ...Array.from({ length: MANY }, (_, i) => `server${i}`)]);
  assert.equal(parsed.kind, 'usage-error');
  if (parsed.kind === 'usage-error') assert.match(parsed.stderr, /^server1: unexpected extra parameter\n/);
});

test('miredo-checkconf: such names as options are complaints, as values and operands plain text', () => {
  for (const name of NAMES) {
    const options = parseCheckconfArgs([`--${name}`], 'miredo-checkconf');
    assert.deepEqual(options.complaints, [`miredo-checkconf: unrecognized option '--${name}'`]);
    assert.equal(options.file, undefined);
    assert.equal(parseCheckconfArgs(['-c', name], 'miredo-checkconf').file, name);
    assert.equal(parseCheckconfArgs([name, '-c', 'other'], 'miredo-checkconf').file, name);
    assert.equal(parseCheckconfArgs(['--', name], 'miredo-checkconf').file, name);
  }
});

test('miredo-checkconf: 200,000 operands after --: the first is the file', () => {
  const operands = Array.from({ length: MANY }, (_, i) => `file${i}`);
  const options = parseCheckconfArgs(['--', ...operands], 'miredo-checkconf');
  assert.equal(options.action, 'check');
  assert.equal(options.file, 'file0');
});

test('property: argument lists built from such names never throw', () => {
  const word = fc.oneof(
    fc.constantFrom(...NAMES),
    fc.constantFrom(...NAMES).map((name) => `--${name}`),
    fc.constantFrom(...NAMES).map((name) => `-${name}`),
    fc.constantFrom('-c', '-f', '--', '--server', '-V', '-h', '-u'),
  );
  fc.assert(
    fc.property(fc.array(word, { maxLength: 8 }), (args) => {
      for (const program of PROGRAMS) {
        const parsed = parseCommandLine(program, args);
        assert.ok(['run', 'help', 'version', 'usage-error'].includes(parsed.kind));
      }
      const checkconf = parseCheckconfArgs(args, 'miredo-checkconf');
      assert.ok(['check', 'help', 'version'].includes(checkconf.action));
    }),
    { numRuns: 2000 },
  );
});
