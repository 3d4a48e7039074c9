/**
 * FallbackServerAddress (ours, client mode): repeatable, in file order; Miredo's files without it
 * parse exactly as before; the relay modes and a server on the command line ignore it with a
 * warning; miredo-checkconf resolves its names like ServerAddress.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheckconf } from '../../../src/config/checkconf.js';
import { formatDiagnostic } from '../../../src/config/diagnostic.js';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { MAX_FALLBACK_SERVERS } from '../../../src/config/settings-schema.js';
import { loadSettings } from '../../../src/bootstrap/settings.js';
import type { SettingsSources } from '../../../src/bootstrap/settings.js';
import { parseCommandLine } from '../../../src/bootstrap/command-line.js';

const F = 'miredo.conf';
const parse = (text: string, serverOverride?: string) =>
  parseMiredoConf(text, F, serverOverride === undefined ? {} : { serverOverride });

test('repeatable, kept in file order with their lines; first-occurrence rule untouched for the others', () => {
  const result = parse(
    [
      'ServerAddress teredo.example',
      'FallbackServerAddress 192.0.2.10',
      'fallbackserveraddress Teredo2.Example',
      'FALLBACKSERVERADDRESS 198.51.100.5',
    ].join('\n'),
  );
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.config.fallbackServers, [
    { name: '192.0.2.10', line: 2 },
    { name: 'Teredo2.Example', line: 3 },
    { name: '198.51.100.5', line: 4 },
  ]);
  assert.deepEqual(result.warnings, [], 'repeats of this directive are not duplicates');
});

test("a Miredo file without it: no fallback, no message (Miredo's files stay valid)", () => {
  const result = parse('ServerAddress teredo.example\nServerAddress2 192.0.2.2\n');
  assert.ok(result.ok);
  assert.deepEqual(result.config.fallbackServers, []);
  assert.deepEqual(result.warnings, []);
});

test('a name listed twice, or the primary again, is a warning and listed once', () => {
  const result = parse(
    'ServerAddress teredo.example\nFallbackServerAddress TEREDO.example.\nFallbackServerAddress b.example\nFallbackServerAddress b.example\n',
  );
  assert.ok(result.ok);
  assert.deepEqual(result.config.fallbackServers, [{ name: 'b.example', line: 3 }]);
  assert.deepEqual(result.warnings.map(formatDiagnostic), [
    'miredo.conf:2: FallbackServerAddress: "TEREDO.example." is already a Teredo server here; ignored',
    'miredo.conf:4: FallbackServerAddress: "b.example" is already a Teredo server here; ignored',
  ]);
});

test(`an invalid value is an error; more than ${MAX_FALLBACK_SERVERS} fallbacks are an error`, () => {
  const bad = parse('ServerAddress teredo.example\nFallbackServerAddress -x.example\n');
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors.map(formatDiagnostic), [
    'miredo.conf:2: FallbackServerAddress: "-x.example" is not an IPv4 address or host name',
  ]);
  const lines = ['ServerAddress teredo.example'];
  for (let i = 1; i <= MAX_FALLBACK_SERVERS + 1; i++) lines.push(`FallbackServerAddress f${i}.example`);
  const many = parse(lines.join('\n'));
  assert.ok(!many.ok);
  assert.deepEqual(many.errors.map(formatDiagnostic), [
    `miredo.conf:${MAX_FALLBACK_SERVERS + 2}: FallbackServerAddress: at most ${MAX_FALLBACK_SERVERS} fallback servers`,
  ]);
});

test('relay modes and a server on the command line ignore it, with a warning per line', () => {
  const relay = parse('RelayType cone\nFallbackServerAddress a.example\nFallbackServerAddress b.example\n');
  assert.ok(relay.ok);
  assert.deepEqual(relay.config.fallbackServers, []);
  assert.deepEqual(relay.warnings.map(formatDiagnostic), [
    'miredo.conf:2: FallbackServerAddress: only used in client mode; ignored',
    'miredo.conf:3: FallbackServerAddress: only used in client mode; ignored',
  ]);
  const overridden = parse('ServerAddress a.example\nFallbackServerAddress b.example\n', '192.0.2.9');
  assert.ok(overridden.ok);
  assert.deepEqual(overridden.config.fallbackServers, []);
  assert.match(
    overridden.warnings.map(formatDiagnostic).join('\n'),
    /miredo\.conf:2: FallbackServerAddress: superseded by the server given on the command line; ignored/,
  );
});

test('the settings carry the names, unresolved (the engine resolves them when it needs them)', async () => {
  const asked: string[] = [];
  const sources: SettingsSources = {
    readMiredoConf: (path, opts) =>
      Promise.resolve(
        parseMiredoConf('ServerAddress 192.0.2.1\nFallbackServerAddress b.example\n', path, opts),
      ),
    readServerConf: () => Promise.reject(new Error('not used')),
    resolve: (name) => {
      asked.push(name);
      return Promise.resolve({ ok: true, address: name === '0.0.0.0' ? name : '192.0.2.1' });
    },
  };
  const options = parseCommandLine('miredo', ['-c', '/x/miredo.conf']);
  assert.ok(options.kind === 'run');
  const loaded = await loadSettings(options.options, sources);
  assert.ok(loaded.ok && loaded.settings.role === 'client', JSON.stringify(loaded));
  assert.deepEqual(loaded.settings.fallbackServers, ['b.example']);
  assert.ok(!asked.includes('b.example'));
});

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'checkconf-fallback-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function checkconf(
  name: string,
  text: string,
): Promise<{ status: number; stderr: string; path: string }> {
  const path = join(dir, name);
  await writeFile(path, text);
  let stderr = '';
  const status = await runCheckconf([path], { stdout: () => undefined, stderr: (t) => (stderr += t) });
  return { status, stderr, path };
}

test('checkconf: valid fallbacks pass silently; an unresolvable one is reported at its line', async () => {
  const ok = await checkconf('ok.conf', 'ServerAddress 192.0.2.1\nFallbackServerAddress 198.51.100.5\n');
  assert.deepEqual({ status: ok.status, stderr: ok.stderr }, { status: 0, stderr: '' });
  const bad = await checkconf(
    'bad.conf',
    'ServerAddress 192.0.2.1\nFallbackServerAddress 198.51.100.5\nFallbackServerAddress teredo.invalid\n',
  );
  assert.equal(bad.status, 255);
  assert.match(
    bad.stderr,
    new RegExp(`^${bad.path}:3: FallbackServerAddress: Invalid hostname "teredo\\.invalid": `),
  );
});

test('checkconf: in a relay file it is reported as superfluous, as the other client directives', async () => {
  const relay = await checkconf('relay.conf', 'RelayType cone\nFallbackServerAddress 198.51.100.5\n');
  assert.equal(relay.status, 255);
  assert.equal(
    relay.stderr,
    `${relay.path}:2: FallbackServerAddress: only used in client mode; ignored\nFatal configuration error\n`,
  );
});
