/**
 * Names of Object.prototype's properties as directives and as values (issue 11, finding 9):
 * `RelayType constructor` found Object's constructor in the relay-type table and crashed with a
 * ZodError instead of a FILE:LINE message. Every directive of both files, in every mode, and every
 * enum value is tried with such names; nothing throws, and every message names its file and line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { runCheckconf } from '../../../src/config/checkconf.js';
import { formatDiagnostic } from '../../../src/config/diagnostic.js';
import type { ConfigResult } from '../../../src/config/diagnostic.js';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { parseServerConf } from '../../../src/config/server-conf.js';

const PROTOTYPE_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
] as const;

const MIREDO_DIRECTIVES = [
  'RelayType',
  'ServerAddress',
  'ServerAddress2',
  'InterfaceName',
  'BindAddress',
  'BindPort',
  'Prefix',
  'InterfaceMTU',
  'SyslogFacility',
  'PeerTableCapacity',
  'DataplaneWorkers',
] as const;

const SERVER_DIRECTIVES = [
  'ServerBindAddress',
  'ServerBindAddress2',
  'Prefix',
  'InterfaceMTU',
  'SyslogFacility',
  'RSRateLimit',
  'ForwardRateLimit',
] as const;

/** The lines each mode needs, so that the directive under test is the only thing in question. */
const MIREDO_MODES = ['ServerAddress 192.0.2.1\n', 'RelayType cone\n', 'RelayType restricted\n'];
const SERVER_BASE = 'ServerBindAddress 192.0.2.1\n';

const F = 'test.conf';

/** Whatever the result, every message is about a line of the file (0: the file as a whole). */
function assertWellFormed(result: ConfigResult<unknown>, lines: number): void {
  const all = [...(result.ok ? [] : result.errors), ...result.warnings];
  for (const diagnostic of all) {
    assert.equal(diagnostic.file, F);
    assert.ok(diagnostic.line >= 0 && diagnostic.line <= lines, formatDiagnostic(diagnostic));
    assert.match(formatDiagnostic(diagnostic), /^test\.conf:\d+: /);
  }
}

const lineCount = (text: string): number => text.split('\n').length - 1;

test('RelayType constructor, __proto__ and the like are "not a relay type", at their line', () => {
  for (const name of PROTOTYPE_NAMES) {
    const text = `# comment\nRelayType ${name}\n`;
    const result = parseMiredoConf(text, F);
    assert.equal(result.ok, false, name);
    if (result.ok) continue;
    assert.deepEqual(result.errors.map(formatDiagnostic), [
      `test.conf:2: RelayType: "${name}" is not a relay type (expected client, autoclient, relay, cone or restricted)`,
    ]);
  }
});

test('SyslogFacility with such a name is a warning at its line, and the default stays', () => {
  for (const name of PROTOTYPE_NAMES) {
    const result = parseMiredoConf(`ServerAddress 192.0.2.1\nSyslogFacility ${name}\n`, F);
    assert.ok(result.ok, name);
    assert.equal(result.config.syslogFacility, 'daemon');
    assert.deepEqual(
      result.warnings.map((w) => `${w.line}:${w.directive}`),
      ['2:SyslogFacility'],
    );
  }
});

test('every miredo.conf directive, in every mode, with every such value: no throw, FILE:LINE', () => {
  for (const base of MIREDO_MODES) {
    for (const directive of MIREDO_DIRECTIVES) {
      for (const name of PROTOTYPE_NAMES) {
        const text = `${base}${directive} ${name}\n`;
        assertWellFormed(parseMiredoConf(text, F), lineCount(text));
      }
    }
  }
});

test('every miredo-server.conf directive with every such value: no throw, FILE:LINE', () => {
  for (const directive of SERVER_DIRECTIVES) {
    for (const name of PROTOTYPE_NAMES) {
      const text = `${SERVER_BASE}${directive} ${name}\n`;
      assertWellFormed(parseServerConf(text, F), lineCount(text));
    }
  }
});

test('such names as directives are unknown directives, reported at their line', () => {
  for (const name of PROTOTYPE_NAMES) {
    const miredo = parseMiredoConf(`ServerAddress 192.0.2.1\n${name} cone\n`, F);
    assert.ok(miredo.ok, name);
    assert.deepEqual(miredo.warnings.map(formatDiagnostic), [
      `test.conf:2: ${name}: unknown directive; ignored`,
    ]);
    const server = parseServerConf(`${SERVER_BASE}${name} 1\n`, F);
    assert.ok(server.ok, name);
    assert.deepEqual(server.warnings.map(formatDiagnostic), [
      `test.conf:2: ${name}: unknown directive; ignored`,
    ]);
  }
});

test('property: files mixing directives, such names and case variants never throw', () => {
  const word = fc.oneof(
    fc.constantFrom(...PROTOTYPE_NAMES),
    fc.constantFrom(...MIREDO_DIRECTIVES, ...SERVER_DIRECTIVES),
    fc.constantFrom('client', 'cone', 'relay', 'daemon', '192.0.2.1', '1280', '0x10'),
  );
  const cased = fc
    .tuple(word, fc.boolean(), fc.boolean())
    .map(([text, upper, lower]) => (upper ? text.toUpperCase() : lower ? text.toLowerCase() : text));
  const line = fc.tuple(cased, cased).map(([name, value]) => `${name} ${value}`);
  fc.assert(
    fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
      const text = lines.map((l) => `${l}\n`).join('');
      assertWellFormed(parseMiredoConf(text, F), lines.length);
      assertWellFormed(parseServerConf(text, F), lines.length);
    }),
    { numRuns: 2000 },
  );
});

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mts-prototype-names-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('miredo-checkconf: RelayType constructor or __proto__ exits 255 with FILE:LINE', async () => {
  for (const name of ['constructor', '__proto__']) {
    const path = join(dir, `${name}.conf`);
    await writeFile(path, `RelayType ${name}\n`);
    for (const argv of [[path], ['--server', path]]) {
      let stderr = '';
      const status = await runCheckconf(argv, {
        stdout: () => undefined,
        stderr: (text) => (stderr += text),
      });
      assert.equal(status, 255, `${argv.join(' ')}: ${stderr}`);
      assert.match(stderr, new RegExp(`^${path}:1: RelayType: `, 'm'));
      assert.match(stderr, /Fatal configuration error\n$/);
    }
  }
});
