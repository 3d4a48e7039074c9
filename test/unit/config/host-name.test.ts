import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHostName, isIPv4OrHostName } from '../../../src/config/host-name.js';

test('host names: labels of letters, digits, - and _, 253 bytes at most', () => {
  for (const name of [
    'localhost',
    'teredo.example.com',
    'teredo.example.com.',
    'a',
    '127.1',
    'x_y.z',
    'a-b',
  ]) {
    assert.ok(isHostName(name), name);
  }
  const label = 'a'.repeat(63);
  assert.ok(isHostName(`${label}.${label}.${label}.${'a'.repeat(61)}`));
  for (const name of [
    '',
    '.',
    'a..b',
    '-a',
    'a-',
    '::1',
    'a b',
    'a/b',
    'a'.repeat(64),
    `${label}.${label}.${label}.${'a'.repeat(62)}`,
  ]) {
    assert.ok(!isHostName(name), name);
  }
});

test('IPv4 or host name: dotted quads and names, nothing else', () => {
  for (const text of ['192.0.2.1', '0.0.0.0', '192.0.2.010', '127.1', 'teredo.example.com']) {
    assert.ok(isIPv4OrHostName(text), text);
  }
  for (const text of ['', '::1', '2001:db8::1', 'a b', '-a', '192.0.2.1/24']) {
    assert.ok(!isIPv4OrHostName(text), text);
  }
});
