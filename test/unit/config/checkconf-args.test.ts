import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCheckconfArgs } from '../../../src/config/checkconf-args.js';

const P = 'miredo-checkconf';
const args = (...argv: string[]) => parseCheckconfArgs(argv, P);

test('no arguments: check the default file', () => {
  assert.deepEqual(args(), { action: 'check', file: undefined, server: false, complaints: [] });
});

test('the first operand is the file and wins over -c; the last -c wins among -c', () => {
  assert.equal(args('a.conf', 'b.conf').file, 'a.conf');
  assert.equal(args('-c', 'a.conf', 'b.conf').file, 'b.conf');
  assert.equal(args('-c', 'a.conf', '-c', 'b.conf').file, 'b.conf');
  assert.equal(args('-ca.conf').file, 'a.conf');
  assert.equal(args('--config=a.conf').file, 'a.conf');
  assert.equal(args('--conf', 'a.conf').file, 'a.conf');
  assert.equal(args('-', 'x').file, '-');
  assert.equal(args('--', '-h').file, '-h');
});

test("the daemon's options are accepted and ignored, in any order and clustered", () => {
  const parsed = args('-f', '-p', 'pid', '-t', '/var/empty', '-u', 'nobody', 'a.conf', '-fpx', '--user=x');
  assert.deepEqual(parsed, { action: 'check', file: 'a.conf', server: false, complaints: [] });
  assert.equal(
    args('--foreground', '--pidfile', 'x', '--chroot', 'y', '--chrootdir', 'y', '--username', 'u', 'f').file,
    'f',
  );
});

test('--server selects the server syntax', () => {
  assert.equal(args('--server', 'x').server, true);
  assert.equal(args('x', '--ser').server, true);
});

test('-h and -V stop parsing at once', () => {
  assert.equal(args('-h', '-x').action, 'help');
  assert.deepEqual(args('-x', '-h').complaints, [`${P}: invalid option -- 'x'`]);
  assert.equal(args('-fV').action, 'version');
  assert.equal(args('--he').action, 'help');
  assert.equal(args('--ver').action, 'version');
});

test('malformed options are complained about in glibc words, then ignored', () => {
  const cases: ReadonlyArray<readonly [string[], string]> = [
    [['-x', 'a'], "invalid option -- 'x'"],
    [['-p'], "option requires an argument -- 'p'"],
    [['--bogus=1', 'a'], "unrecognized option '--bogus=1'"],
    [['--config'], "option '--config' requires an argument"],
    [['--help=x'], "option '--help' doesn't allow an argument"],
    [['--c'], "option '--c' is ambiguous; possibilities: '--chroot' '--chrootdir' '--conf' '--config'"],
  ];
  for (const [argv, complaint] of cases) {
    const parsed = args(...argv);
    assert.equal(parsed.action, 'check', argv.join(' '));
    assert.deepEqual(parsed.complaints, [`${P}: ${complaint}`], argv.join(' '));
  }
  assert.equal(args('-x', 'a').file, 'a');
});
