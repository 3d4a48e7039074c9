import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_CONFIG_FILE,
  DEFAULT_PID_FILE,
  parseCommandLine,
  usageText,
  versionText,
} from '../../../src/bootstrap/command-line.js';
import type { CommandLineOptions, ParsedCommandLine, Program } from '../../../src/bootstrap/command-line.js';

function run(program: Program, args: readonly string[]): CommandLineOptions {
  const parsed = parseCommandLine(program, args);
  assert.equal(parsed.kind, 'run', `expected run, got ${JSON.stringify(parsed)}`);
  if (parsed.kind !== 'run') throw new Error('unreachable');
  return parsed.options;
}

function usageError(program: Program, args: readonly string[]): string {
  const parsed: ParsedCommandLine = parseCommandLine(program, args);
  assert.equal(parsed.kind, 'usage-error', `expected a usage error, got ${JSON.stringify(parsed)}`);
  if (parsed.kind !== 'usage-error') throw new Error('unreachable');
  assert.equal(parsed.exitCode, 2);
  assert.ok(parsed.stderr.endsWith(`Try "${program} -h | more" for more information.\n`), parsed.stderr);
  return parsed.stderr;
}

test('defaults: miredo', () => {
  assert.deepEqual(run('miredo', []), {
    program: 'miredo',
    configFile: '/etc/miredo/miredo.conf',
    foreground: false,
    pidFile: '/var/run/miredo.pid',
    chrootDir: null,
    user: null,
    positional: null,
  });
});

test('defaults: miredo-server', () => {
  const options = run('miredo-server', []);
  assert.equal(options.configFile, '/etc/miredo/miredo-server.conf');
  assert.equal(options.pidFile, '/var/run/miredo-server.pid');
  assert.equal(DEFAULT_CONFIG_FILE['miredo-server'], options.configFile);
  assert.equal(DEFAULT_PID_FILE['miredo-server'], options.pidFile);
});

test('every option in short, long and alias forms', () => {
  const expected = {
    program: 'miredo',
    configFile: '/c',
    foreground: true,
    pidFile: '/p',
    chrootDir: '/t',
    user: 'u',
    positional: 'teredo.example',
  } as const;
  assert.deepEqual(
    run('miredo', ['-c', '/c', '-f', '-p', '/p', '-t', '/t', '-u', 'u', 'teredo.example']),
    expected,
  );
  assert.deepEqual(
    run('miredo', [
      '--config',
      '/c',
      '--foreground',
      '--pidfile',
      '/p',
      '--chroot',
      '/t',
      '--user',
      'u',
      'teredo.example',
    ]),
    expected,
  );
  assert.deepEqual(
    run('miredo', [
      '--conf=/c',
      '--foreground',
      '--pidfile=/p',
      '--chrootdir=/t',
      '--username=u',
      'teredo.example',
    ]),
    expected,
  );
});

test('bundled short options and attached values', () => {
  const options = run('miredo', ['-fc', '/c', '-p/p', '-fu', 'nobody']);
  assert.equal(options.foreground, true);
  assert.equal(options.configFile, '/c');
  assert.equal(options.pidFile, '/p');
  assert.equal(options.user, 'nobody');
  assert.equal(run('miredo', ['-fc/x']).configFile, '/x');
});

test('an option value may start with a dash', () => {
  assert.equal(run('miredo', ['-c', '-f']).configFile, '-f');
  assert.equal(run('miredo', ['--config', '--foreground']).foreground, false);
});

test('arguments are permuted like GNU getopt: the positional may come first', () => {
  const options = run('miredo', ['server.example', '-f', '-c', '/c']);
  assert.equal(options.positional, 'server.example');
  assert.equal(options.foreground, true);
});

test('-- ends the options', () => {
  assert.equal(run('miredo', ['--', '-f']).positional, '-f');
  assert.equal(run('miredo', ['-f', '--']).positional, null);
  assert.equal(run('miredo', ['-']).positional, '-');
});

test('unambiguous long-option prefixes are accepted', () => {
  assert.equal(run('miredo', ['--fore']).foreground, true);
  assert.equal(run('miredo', ['--pid', '/p']).pidFile, '/p');
  // --con matches --config and --conf, which are the same option.
  assert.equal(run('miredo', ['--con', '/c']).configFile, '/c');
  assert.equal(run('miredo', ['--chr=/t']).chrootDir, '/t');
});

test('ambiguous long-option prefixes are usage errors', () => {
  // --u matches --user and --username (same) but nothing else, so it is fine; --c is not.
  assert.equal(run('miredo', ['--u', 'x']).user, 'x');
  const stderr = usageError('miredo', ['--c', 'x']);
  assert.match(stderr, /option '--c' is ambiguous/);
});

test('-h prints usage on stdout, exit 0; it wins when seen before an error', () => {
  const parsed = parseCommandLine('miredo', ['-h', '-x']);
  assert.deepEqual(parsed, { kind: 'help', exitCode: 0, stdout: usageText('miredo') });
  assert.match(usageText('miredo'), /^Usage: miredo \[OPTIONS\] \[SERVER_NAME\]\n/);
  assert.match(usageText('miredo-server'), /^Usage: miredo-server \[OPTIONS\] \[BIND_ADDRESS\]\n/);
  assert.equal(parseCommandLine('miredo', ['--help']).kind, 'help');
  usageError('miredo', ['-x', '-h']);
});

test('-V prints a version naming miredo-ts, exit 0', () => {
  const parsed = parseCommandLine('miredo-server', ['-V']);
  assert.equal(parsed.kind, 'version');
  if (parsed.kind !== 'version') return;
  assert.equal(parsed.exitCode, 0);
  assert.equal(parsed.stdout, versionText());
  assert.match(parsed.stdout, /^miredo-ts: Teredo IPv6 tunneling software \d+\.\d+\.\d+/);
  assert.equal(parseCommandLine('miredo', ['--version']).kind, 'version');
});

test('duplicates of -c, -p, -u, -t are usage errors naming both values', () => {
  for (const [short, long] of [
    ['c', 'config'],
    ['p', 'pidfile'],
    ['u', 'user'],
    ['t', 'chroot'],
  ] as const) {
    const stderr = usageError('miredo', [`-${short}`, 'first', `--${long}=second`]);
    assert.ok(
      stderr.startsWith(
        `Duplicate parameter "second" for option -${short}\nwould override previous value "first".\n`,
      ),
      stderr,
    );
  }
});

test('-f twice is not a duplicate', () => {
  assert.equal(run('miredo', ['-f', '-f', '--foreground']).foreground, true);
});

test('unknown options are usage errors', () => {
  assert.match(usageError('miredo', ['-x']), /invalid option -- 'x'/);
  assert.match(usageError('miredo', ['-fx']), /invalid option -- 'x'/);
  assert.match(usageError('miredo', ['--bogus']), /unrecognized option '--bogus'/);
});

test('missing or forbidden option arguments are usage errors', () => {
  assert.match(usageError('miredo', ['-c']), /option requires an argument -- 'c'/);
  assert.match(usageError('miredo', ['-fp']), /option requires an argument -- 'p'/);
  assert.match(usageError('miredo', ['--config']), /option '--config' requires an argument/);
  assert.match(usageError('miredo', ['--foreground=yes']), /option '--foreground' doesn't allow an argument/);
});

test('a second positional is an unexpected extra parameter', () => {
  assert.match(usageError('miredo', ['a', 'b']), /^b: unexpected extra parameter\n/);
  assert.match(
    usageError('miredo-server', ['192.0.2.1', '-f', '192.0.2.2']),
    /^192\.0\.2\.2: unexpected extra parameter\n/,
  );
  assert.match(usageError('miredo', ['--', 'a', 'b']), /^b: unexpected extra parameter\n/);
});

test('empty values fail validation as usage errors', () => {
  assert.match(usageError('miredo', ['-c', '']), /configuration file name is empty/);
  assert.match(usageError('miredo', ['--user=']), /user name is empty/);
  assert.match(usageError('miredo', ['']), /positional argument is empty/);
});

test('property: any permutation of valid options parses to the same result', () => {
  const pieces: ReadonlyArray<readonly string[]> = [
    ['-f'],
    ['-c', '/c'],
    ['-p', '/p'],
    ['-u', 'nobody'],
    ['-t', '/jail'],
    ['srv'],
  ];
  const expected = run('miredo', pieces.flat());
  fc.assert(
    fc.property(
      fc.shuffledSubarray([...pieces], { minLength: pieces.length, maxLength: pieces.length }),
      (order) => {
        assert.deepEqual(run('miredo', order.flat()), expected);
      },
    ),
  );
});

test('property: the parser never throws and always returns a known kind', () => {
  const token = fc.oneof(
    fc.constantFrom(
      '-c',
      '-f',
      '-h',
      '-p',
      '-t',
      '-u',
      '-V',
      '--',
      '-',
      '--conf',
      '--config=x',
      '--fo',
      '-fc',
      '-x',
      'pos',
    ),
    fc.string({ maxLength: 8 }),
  );
  fc.assert(
    fc.property(fc.array(token, { maxLength: 8 }), (args) => {
      const parsed = parseCommandLine('miredo', args);
      assert.ok(['run', 'help', 'version', 'usage-error'].includes(parsed.kind));
      if (parsed.kind === 'usage-error') assert.equal(parsed.exitCode, 2);
    }),
  );
});
