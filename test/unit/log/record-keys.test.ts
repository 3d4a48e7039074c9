/**
 * A log line from the engine with keys named like Object.prototype's properties (issue 11,
 * finding 9's sweep): `__proto__` is kept as a field, never made the prototype of the record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLogLine } from '../../../src/log/record.js';

test('a "__proto__" key is an ordinary field of the parsed record', () => {
  const record = parseLogLine('{"level":30,"msg":"m","__proto__":{"polluted":true},"constructor":"c"}');
  assert.ok(record !== null);
  assert.equal(Object.hasOwn(record.fields, '__proto__'), true);
  assert.deepEqual(record.fields['__proto__'], { polluted: true });
  assert.equal(record.fields['constructor'], 'c');
  assert.equal('polluted' in record.fields, false);
  assert.deepEqual(Object.keys(record.fields), ['__proto__', 'constructor']);
});
