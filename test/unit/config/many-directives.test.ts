/**
 * A file of 200,000 unknown directives (issue 11, finding 9): about 150,000 overflowed the call
 * stack (`push(...warnings)`). Each is now reported at its line, in bounded time and memory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheckconf } from '../../../src/config/checkconf.js';
import { formatDiagnostic } from '../../../src/config/diagnostic.js';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { parseServerConf } from '../../../src/config/server-conf.js';

const COUNT = 200_000;
/** Generous bounds for two shared cores: the parse takes well under a second here. */
const TIME_LIMIT_MS = 10_000;
const HEAP_LIMIT_BYTES = 512 * 1024 * 1024;

function unknownDirectives(first: string): string {
  const lines = [first];
  for (let i = 0; i < COUNT; i++) lines.push(`Unknown${i} value`);
  return `${lines.join('\n')}\n`;
}

function measured<T>(run: () => T): { value: T; ms: number; heapGrowth: number } {
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const value = run();
  return { value, ms: performance.now() - started, heapGrowth: process.memoryUsage().heapUsed - heapBefore };
}

test(`${COUNT} unknown directives in miredo.conf: each reported at its line, no crash`, () => {
  const text = unknownDirectives('RelayType cone');
  const { value: result, ms, heapGrowth } = measured(() => parseMiredoConf(text, 'big.conf'));
  assert.ok(result.ok);
  assert.equal(result.warnings.length, COUNT);
  assert.equal(formatDiagnostic(result.warnings[0]!), 'big.conf:2: Unknown0: unknown directive; ignored');
  assert.equal(
    formatDiagnostic(result.warnings[COUNT - 1]!),
    `big.conf:${COUNT + 1}: Unknown${COUNT - 1}: unknown directive; ignored`,
  );
  assert.ok(ms < TIME_LIMIT_MS, `took ${Math.round(ms)} ms`);
  assert.ok(heapGrowth < HEAP_LIMIT_BYTES, `heap grew by ${heapGrowth} bytes`);
});

test(`${COUNT} unknown directives with an error: the error is still reported at its line`, () => {
  const result = parseMiredoConf(unknownDirectives('BindPort http'), 'big.conf');
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(result.errors.map(formatDiagnostic), [
    'big.conf:0: ServerAddress: required in client mode (or give the server on the command line)',
    'big.conf:1: BindPort: "http" is not a port number',
  ]);
  assert.equal(result.warnings.length, COUNT);
});

test(`${COUNT} unknown directives in miredo-server.conf: reported, no crash`, () => {
  const result = parseServerConf(unknownDirectives('ServerBindAddress 192.0.2.1'), 'big.conf');
  assert.ok(result.ok);
  assert.equal(result.warnings.length, COUNT);
});

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mts-many-directives-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test(`miredo-checkconf on ${COUNT} unknown directives: 255, one FILE:LINE each`, async () => {
  const path = join(dir, 'big.conf');
  await writeFile(path, unknownDirectives('RelayType cone'));
  const lines: string[] = [];
  const started = performance.now();
  const status = await runCheckconf([path], {
    stdout: () => undefined,
    stderr: (text) => lines.push(text),
  });
  const ms = performance.now() - started;
  assert.equal(status, 255);
  assert.equal(lines.length, COUNT + 1);
  assert.equal(lines[0], `${path}:2: Unknown0: unknown directive; ignored\n`);
  assert.equal(lines[COUNT], 'Fatal configuration error\n');
  assert.ok(ms < TIME_LIMIT_MS, `took ${Math.round(ms)} ms`);
});
