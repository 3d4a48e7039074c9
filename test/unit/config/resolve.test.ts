import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveIPv4 } from '../../../src/config/resolve.js';

test('literal addresses and localhost resolve without DNS', async () => {
  assert.deepEqual(await resolveIPv4('192.0.2.1'), { ok: true, address: '192.0.2.1' });
  assert.deepEqual(await resolveIPv4('localhost'), { ok: true, address: '127.0.0.1' });
});

test('numeric forms are read the way getaddrinfo (and so Miredo) reads them', async () => {
  assert.deepEqual(await resolveIPv4('127.1'), { ok: true, address: '127.0.0.1' });
  assert.deepEqual(await resolveIPv4('192.0.2.010'), { ok: true, address: '192.0.2.8' });
});

test('failures are values with a code and a readable reason', async () => {
  // .invalid never resolves (RFC 6761), with or without a network.
  const missing = await resolveIPv4('teredo.invalid');
  assert.equal(missing.ok, false);
  assert.ok(!missing.ok && missing.message.length > 0 && missing.code.length > 0);
  assert.deepEqual(await resolveIPv4(''), { ok: false, code: 'EINVAL', message: 'empty host name' });
  assert.deepEqual(await resolveIPv4('::1'), {
    ok: false,
    code: 'EAI_ADDRFAMILY',
    message: 'not an IPv4 address',
  });
});
