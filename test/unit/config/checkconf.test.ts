import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheckconf } from '../../../src/config/checkconf.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'checkconf-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runCheckconf(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { status, stdout, stderr };
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

test('a valid file: status 0 and no output at all', async () => {
  const path = await file('ok.conf', 'ServerAddress 192.0.2.1\nBindAddress localhost\n');
  assert.deepEqual(await run(path), { status: 0, stdout: '', stderr: '' });
  assert.deepEqual(await run('-c', path), { status: 0, stdout: '', stderr: '' });
});

test('any warning fails with 255: every message as FILE:LINE, then Fatal configuration error', async () => {
  const path = await file('warn.conf', 'ServerAddress 192.0.2.1\nfoo\nRefreshInterval 30\n');
  assert.deepEqual(await run(path), {
    status: 255,
    stdout: '',
    stderr: [
      `${path}:2: foo: directive without a value; line ignored`,
      `${path}:3: RefreshInterval: unknown directive; ignored`,
      'Fatal configuration error',
      '',
    ].join('\n'),
  });
});

test('host names are resolved like Miredo 1.2.6 does, with the line of the directive', async () => {
  const path = await file('dns.conf', 'BindAddress teredo.invalid\nServerAddress localhost\n');
  const { status, stderr } = await run(path);
  assert.equal(status, 255);
  assert.match(stderr, new RegExp(`^${path}:1: BindAddress: Invalid hostname "teredo\\.invalid": `));
});

test('the deprecated restricted relay type passes silently, as with Miredo', async () => {
  const path = await file('restricted.conf', 'RelayType restricted\n');
  assert.deepEqual(await run(path), { status: 0, stdout: '', stderr: '' });
});

test('an unreadable file fails with its path and line 0', async () => {
  const path = join(dir, 'missing.conf');
  const { status, stderr } = await run(path);
  assert.equal(status, 255);
  assert.equal(
    stderr,
    `${path}:0: cannot read the configuration file: no such file or directory (ENOENT)\nFatal configuration error\n`,
  );
});

test('--server checks miredo-server.conf syntax', async () => {
  const good = await file('server.conf', 'ServerBindAddress 192.0.2.221\n');
  assert.deepEqual(await run('--server', good), { status: 0, stdout: '', stderr: '' });
  const client = await file('client.conf', 'ServerAddress 192.0.2.1\n');
  const { status, stderr } = await run('--server', client);
  assert.equal(status, 255);
  assert.match(stderr, /client\.conf:0: ServerBindAddress: required/);
  assert.match(stderr, /client\.conf:1: ServerAddress: unknown directive; ignored/);
});

test('-h and -V print to stdout and exit 0; getopt complaints do not change the status', async () => {
  const help = await run('-h');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: miredo-checkconf \[--server\] \[CONF_FILE\]/);
  const version = await run('--version');
  assert.equal(version.status, 0);
  assert.match(version.stdout, /miredo-ts/);
  const path = await file('ok2.conf', 'ServerAddress 192.0.2.1\n');
  assert.deepEqual(await run('-x', path), {
    status: 0,
    stdout: '',
    stderr: "miredo-checkconf: invalid option -- 'x'\n",
  });
});
