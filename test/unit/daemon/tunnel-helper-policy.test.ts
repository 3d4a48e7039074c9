/** The helper policy's client rule: Teredo addresses of the client's own server, under any global prefix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideHelperRequest } from '../../../src/daemon/helper-policy.js';
import type { HelperPolicyContext } from '../../../src/daemon/helper-policy.js';
import type { HelperRequest } from '../../../src/daemon/ipc.js';

const CLIENT: HelperPolicyContext = { ifindex: 9, prefix: 0x20010000, serverIPv4: 0xc6336401 };
const RELAY: HelperPolicyContext = { ifindex: 9, prefix: 0x20010000 };

const setAddress = (address: string, prefixLen = 32): HelperRequest => ({
  type: 'set-address',
  id: 1,
  ifindex: 9,
  address,
  prefixLen,
});

function verdict(context: HelperPolicyContext, request: HelperRequest): string {
  const decision = decideHelperRequest(request, context);
  return decision.accept ? 'accept' : decision.reason;
}

test('a client may set addresses of its server under 2001:0::/32 or another global prefix', () => {
  assert.equal(verdict(CLIENT, setAddress('2001:0:c633:6401:8000:f227:3ccc:9bfe')), 'accept');
  assert.equal(verdict(CLIENT, setAddress('3ffe:831f:c633:6401::1')), 'accept');
  assert.equal(verdict(CLIENT, setAddress('2001:db8:c633:6401::1', 64)), 'accept');
  assert.equal(verdict(CLIENT, setAddress('fe80::ffff:ffff:ffff', 64)), 'accept');
  assert.equal(
    verdict(CLIENT, setAddress('2001:0:c000:201::1')),
    'accept',
    'the standard prefix stays allowed',
  );
});

test("a client may not set another server's addresses outside the prefix, nor non-global ones", () => {
  assert.match(
    verdict(CLIENT, setAddress('2001:db8:c000:201::1')),
    /outside the Teredo prefix 2001::\/32, is not a Teredo address of the server 198\.51\.100\.1/,
  );
  for (const address of [
    'fe80:0:c633:6401::1',
    'fec0:0:c633:6401::1',
    '::c633:6401:0:0:0:1',
    'ff0e:0:c633:6401::1',
  ]) {
    assert.notEqual(verdict(CLIENT, setAddress(address, 64)), 'accept', address);
  }
  assert.match(verdict(CLIENT, setAddress('2001:db8:c633:6401::1', 31)), /wider than the Teredo prefix/);
});

test('a relay keeps the plain prefix rule', () => {
  assert.match(
    verdict(RELAY, setAddress('3ffe:831f:c633:6401::1')),
    /outside the Teredo prefix 2001::\/32 and/,
  );
});
