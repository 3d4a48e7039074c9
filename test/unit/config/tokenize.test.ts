import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_LINE_BYTES, asciiLowerCase, tokenizeConf } from '../../../src/config/tokenize.js';

const F = 'miredo.conf';

function pairs(text: string): [number, string, string][] {
  return tokenizeConf(text, F).entries.map((e) => [e.line, e.name, e.value]);
}

test('a directive is two whitespace-separated tokens; extra tokens are ignored', () => {
  assert.deepEqual(pairs('ServerAddress 192.0.2.1\n  BindPort\t\t3545   # fixed port\n'), [
    [1, 'ServerAddress', '192.0.2.1'],
    [2, 'BindPort', '3545'],
  ]);
});

test('every entry keeps its file and line, and a lower-case key', () => {
  const [entry] = tokenizeConf('\n\nInterfaceName Teredo\n', 'x/miredo.conf').entries;
  assert.deepEqual(entry, {
    file: 'x/miredo.conf',
    line: 3,
    name: 'InterfaceName',
    key: 'interfacename',
    value: 'Teredo',
  });
});

test('comments and blank lines are skipped silently; a # in value position is a value', () => {
  const result = tokenizeConf('# comment\n   #indented comment\n#\n\n \t \nBindPort #\n#BindPort 1\n', F);
  assert.deepEqual(result.diagnostics, []);
  assert.deepEqual(pairs('# c\nBindPort #\n'), [[2, 'BindPort', '#']]);
});

test('the C-locale whitespace characters separate tokens, CRLF included', () => {
  assert.deepEqual(pairs('BindPort\v5\f\r\nA\rb\n'), [
    [1, 'BindPort', '5'],
    [2, 'A', 'b'],
  ]);
});

test('non-ASCII spaces do not separate tokens, so such a line has a single token', () => {
  const result = tokenizeConf('BindPort\u00a05\n', F);
  assert.equal(result.entries.length, 0);
  assert.equal(result.diagnostics[0]?.message, 'directive without a value; line ignored');
});

test('a single-token line is ignored with a warning that names it', () => {
  const result = tokenizeConf('ServerAddress 192.0.2.1\nfoo\n', F);
  assert.deepEqual(result.diagnostics, [
    {
      file: F,
      line: 2,
      directive: 'foo',
      severity: 'warning',
      message: 'directive without a value; line ignored',
    },
  ]);
  assert.equal(result.entries.length, 1);
});

test('the last line is parsed even without a trailing newline (Miredo skips it)', () => {
  assert.deepEqual(pairs('A 1\nB 2'), [
    [1, 'A', '1'],
    [2, 'B', '2'],
  ]);
  assert.deepEqual(tokenizeConf('A 1\nB 2', F).diagnostics, []);
});

test('lines up to 1054 bytes are read; longer ones are skipped with a warning', () => {
  const fits = `BindPort 5${' '.repeat(MAX_LINE_BYTES - 10)}`;
  assert.equal(fits.length, 1054);
  assert.deepEqual(pairs(`${fits}\n`), [[1, 'BindPort', '5']]);

  const result = tokenizeConf(`A 1\n${fits} \nB 2\n`, F);
  assert.deepEqual(
    result.entries.map((e) => e.line),
    [1, 3],
  );
  assert.equal(result.diagnostics.length, 1);
  assert.equal(result.diagnostics[0]?.line, 2);
  assert.equal(result.diagnostics[0]?.severity, 'warning');
  assert.match(result.diagnostics[0]?.message ?? '', /longer than 1054 bytes/);
});

test('line length counts UTF-8 bytes, like Miredo', () => {
  const text = `# ${'é'.repeat(527)}\n`; // 2 + 1054 bytes
  assert.equal(tokenizeConf(text, F).diagnostics.length, 1);
  assert.equal(tokenizeConf(`# ${'é'.repeat(526)}\n`, F).diagnostics.length, 0);
});

test('an over-long comment line is still reported, as by Miredo', () => {
  assert.equal(tokenizeConf(`#${'x'.repeat(2000)}\n`, F).diagnostics.length, 1);
});

test('a line holding a NUL byte is skipped with a warning, and only that line', () => {
  const result = tokenizeConf('BindPort 5\0junk\nBindAddress 192.0.2.1\n', F);
  assert.deepEqual(pairs('BindPort 5\0junk\nBindAddress 192.0.2.1\n'), [[2, 'BindAddress', '192.0.2.1']]);
  assert.equal(result.diagnostics[0]?.line, 1);
  assert.match(result.diagnostics[0]?.message ?? '', /NUL/);
});

test('names longer than 31 characters are ignored with a warning', () => {
  const long = 'A'.repeat(32);
  assert.deepEqual(pairs(`${'A'.repeat(31)} x\n`), [[1, 'A'.repeat(31), 'x']]);
  for (const line of [`${long} x\n`, `${long}\n`]) {
    const result = tokenizeConf(line, F);
    assert.equal(result.entries.length, 0);
    assert.equal(result.diagnostics[0]?.severity, 'warning');
    assert.equal(result.diagnostics[0]?.directive, long);
    assert.match(result.diagnostics[0]?.message ?? '', /longer than 31/);
  }
});

test('values longer than 1023 characters are an error (Miredo truncated them silently)', () => {
  assert.deepEqual(pairs(`BindPort ${'0'.repeat(1023)}\n`), [[1, 'BindPort', '0'.repeat(1023)]]);
  const result = tokenizeConf(`BindPort ${'0'.repeat(1024)}\n`, F);
  assert.equal(result.entries.length, 0);
  assert.deepEqual(result.diagnostics, [
    {
      file: F,
      line: 1,
      directive: 'BindPort',
      severity: 'error',
      message: 'value is longer than 1023 characters',
    },
  ]);
});

test('asciiLowerCase folds only A-Z, like strcasecmp in the C locale', () => {
  assert.equal(asciiLowerCase('BindPORT'), 'bindport');
  assert.equal(asciiLowerCase('ÉTÉ'), 'ÉtÉ');
});

test('property: any well-formed directive line round-trips with its line number', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/).filter((t) => !t.startsWith('#'));
  const space = fc.stringMatching(/^[ \t]{1,3}$/);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(token, token, space, space), { minLength: 1, maxLength: 10 }),
      fc.boolean(),
      (lines, trailingNewline) => {
        const text =
          lines.map(([n, v, s1, s2]) => `${s1}${n}${s2}${v}`).join('\n') + (trailingNewline ? '\n' : '');
        const result = tokenizeConf(text, F);
        assert.deepEqual(result.diagnostics, []);
        assert.deepEqual(
          result.entries.map((e) => [e.line, e.name, e.value]),
          lines.map(([n, v], i) => [i + 1, n, v]),
        );
      },
    ),
  );
});

test('property: hostile text never throws and every diagnostic has a valid line', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (text) => {
      const lineCount = text.split('\n').length;
      const result = tokenizeConf(text, F);
      for (const d of result.diagnostics) assert.ok(d.line >= 1 && d.line <= lineCount);
      for (const e of result.entries) assert.ok(e.name !== '' && e.value !== '' && !e.name.startsWith('#'));
    }),
  );
});
