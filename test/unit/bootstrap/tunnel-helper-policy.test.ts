/**
 * The helper policy's client rule: a client's addresses are under 2001:0::/32 only, whatever its
 * server advertises, so that no address can make the kernel route another global /32 into the
 * tunnel (issue 11, finding 3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideHelperRequest } from '../../../src/bootstrap/helper-policy.js';
import type { HelperPolicyContext } from '../../../src/bootstrap/helper-policy.js';
import type { HelperRequest } from '../../../src/ipc/bootstrap-engine-messages.js';

/** A client of the server 192.0.2.1 (c000:0201) and one of 198.51.100.1 (c633:6401). */
const CLIENT: HelperPolicyContext = { ifindex: 9, prefix: 0x20010000, serverIPv4: 0xc0000201 };
const OTHER_CLIENT: HelperPolicyContext = { ifindex: 9, prefix: 0x20010000, serverIPv4: 0xc6336401 };
const RELAY: HelperPolicyContext = { ifindex: 9, prefix: 0x20010000 };

const setAddress = (address: string, prefixLen = 32): HelperRequest => ({
  type: 'set-address',
  id: 1,
  ifindex: 9,
  address,
  prefixLen,
});

const clientUp = (address: string): HelperRequest => ({
  type: 'client-state',
  id: 2,
  ifindex: 9,
  state: 'up',
  address,
  mtu: 1280,
});

function verdict(context: HelperPolicyContext, request: HelperRequest): string {
  const decision = decideHelperRequest(request, context);
  return decision.accept ? 'accept' : decision.reason;
}

test('the known bad request: an address of our own server under a foreign /32 is refused', () => {
  // Accepted before the fix (bits 32..63 are the server), the kernel then routed 2a00:1450::/32
  // into the tunnel at metric 256, although set-route 2a00:1450::/32 is refused.
  assert.match(
    verdict(CLIENT, setAddress('2a00:1450:c000:201::1', 32)),
    /address 2a00:1450:c000:201::1 is outside the Teredo prefix 2001::\/32 and is not a Teredo link-local address/,
  );
  assert.notEqual(verdict(CLIENT, clientUp('2a00:1450:c000:201::1')), 'accept');
  assert.notEqual(
    verdict(CLIENT, {
      type: 'del-address',
      id: 3,
      ifindex: 9,
      address: '2a00:1450:c000:201::1',
      prefixLen: 64,
    }),
    'accept',
  );
});

test('a client may set addresses under 2001:0::/32 only, with /32../128', () => {
  for (const context of [CLIENT, OTHER_CLIENT]) {
    assert.equal(verdict(context, setAddress('2001:0:c633:6401:8000:f227:3ccc:9bfe')), 'accept');
    assert.equal(verdict(context, setAddress('2001:0:c000:201::1', 128)), 'accept');
    assert.equal(verdict(context, setAddress('fe80::ffff:ffff:ffff', 64)), 'accept');
    assert.equal(verdict(context, clientUp('2001:0:c000:201:0:f227:3ccc:9bfe')), 'accept');
  }
});

test('a client may not set addresses under another prefix, even the obsolete 3ffe:831f or its server bits', () => {
  for (const address of [
    '3ffe:831f:c000:201::1',
    '2001:db8:c000:201::1',
    '2001:1:c000:201::1',
    '2000:0:c000:201::1',
    '2a00:1450:c000:201::1',
    'fe80:0:c000:201::1',
    'fec0:0:c000:201::1',
    '::c000:201:0:0:0:1',
    'ff0e:0:c000:201::1',
  ]) {
    for (const prefixLen of [32, 64, 128]) {
      assert.notEqual(verdict(CLIENT, setAddress(address, prefixLen)), 'accept', `${address}/${prefixLen}`);
    }
    assert.notEqual(verdict(CLIENT, clientUp(address)), 'accept', address);
  }
  assert.match(verdict(CLIENT, setAddress('2001:0:c000:201::1', 31)), /wider than the Teredo prefix \/32/);
});

test('a relay keeps the plain prefix rule', () => {
  assert.match(
    verdict(RELAY, setAddress('3ffe:831f:c633:6401::1')),
    /outside the Teredo prefix 2001::\/32 and/,
  );
});
