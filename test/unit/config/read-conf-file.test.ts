import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic } from '../../../src/config/diagnostic.js';
import { readMiredoConfFile, readServerConfFile } from '../../../src/config/read-conf-file.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'miredo-conf-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a readable file is parsed with its path in every diagnostic', async () => {
  const path = join(dir, 'miredo.conf');
  await writeFile(path, 'ServerAddress 192.0.2.1\nBindPort 1\nBindPort 2\n');
  const result = await readMiredoConfFile(path);
  assert.ok(result.ok);
  assert.equal(result.config.bindPort, 1);
  assert.deepEqual(result.warnings.map(formatDiagnostic), [
    `${path}:3: BindPort: duplicate directive (already set at line 2); ignored`,
  ]);
});

test('an unreadable file is a line-0 error naming the system error', async () => {
  const path = join(dir, 'missing.conf');
  const result = await readMiredoConfFile(path);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map(formatDiagnostic), [
    `${path}:0: cannot read the configuration file: no such file or directory (ENOENT)`,
  ]);
  const directory = await readServerConfFile(dir);
  assert.ok(!directory.ok);
  assert.match(directory.errors[0]?.message ?? '', /EISDIR/);
});

test('with the essential setting on the command line, an unreadable file is only a warning', async () => {
  const path = join(dir, 'missing.conf');
  const client = await readMiredoConfFile(path, { serverOverride: '192.0.2.1' });
  assert.ok(client.ok);
  assert.equal(client.config.serverAddress, '192.0.2.1');
  assert.equal(client.warnings[0]?.severity, 'warning');
  assert.equal(client.warnings[0]?.line, 0);

  const server = await readServerConfFile(path, { bindOverride: '192.0.2.221' });
  assert.ok(server.ok);
  assert.equal(server.config.serverBindAddress2, '192.0.2.222');
  assert.equal(server.warnings.length, 1);
});
