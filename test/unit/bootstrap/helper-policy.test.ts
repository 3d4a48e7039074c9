import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decideHelperRequest,
  MIN_DEFAULT_ROUTE_METRIC,
  MIN_ROUTE_METRIC,
} from '../../../src/bootstrap/helper-policy.js';
import type { HelperPolicyContext, PolicyDecision } from '../../../src/bootstrap/helper-policy.js';
import type { HelperRequest } from '../../../src/ipc/bootstrap-engine-messages.js';
import { formatIPv6 } from '../../../src/teredo/ipv6-text.js';

const context: HelperPolicyContext = { ifindex: 7, prefix: 0x20010000 };
const TEREDO = '2001:0:c633:6401:8000:f227:3ccc:9bfe';

function accepted(decision: PolicyDecision): Extract<PolicyDecision, { accept: true }> {
  assert.equal(decision.accept, true, decision.accept ? '' : decision.reason);
  if (!decision.accept) throw new Error('unreachable');
  return decision;
}

function refused(decision: PolicyDecision, reason: RegExp): void {
  assert.equal(decision.accept, false);
  if (decision.accept) return;
  assert.match(decision.reason, reason);
}

const address = (
  type: 'set-address' | 'del-address',
  value: string,
  prefixLen: number,
  ifindex = 7,
): HelperRequest => ({
  type,
  id: 1,
  ifindex,
  address: value,
  prefixLen,
});

const route = (
  type: 'set-route' | 'del-route',
  dst: string,
  prefixLen: number,
  metric = 1024,
  ifindex = 7,
): HelperRequest => ({
  type,
  id: 2,
  ifindex,
  dst,
  prefixLen,
  metric,
});

test('every request for another interface is refused', () => {
  const others: HelperRequest[] = [
    address('set-address', TEREDO, 32, 8),
    address('del-address', TEREDO, 32, 1),
    { type: 'set-mtu', id: 3, ifindex: 6, mtu: 1280 },
    route('set-route', '::', 0, 1029, 1),
    route('del-route', '2001::', 32, 1024, 2),
    { type: 'link', id: 4, ifindex: 8, up: true },
  ];
  for (const request of others)
    refused(decideHelperRequest(request, context), /not this daemon's interface \(index 7\)/);
});

test('a daemon without an interface refuses everything', () => {
  refused(
    decideHelperRequest({ type: 'link', id: 1, ifindex: 7, up: true }, { ifindex: null, prefix: 0x20010000 }),
    /no tunnel/,
  );
});

test('Teredo addresses inside the prefix are accepted with /32../128', () => {
  for (const len of [32, 64, 128]) {
    const decision = accepted(decideHelperRequest(address('set-address', TEREDO, len), context));
    assert.equal(decision.ifindex, 7);
    assert.equal(decision.action.kind, 'add-address');
    if (decision.action.kind !== 'add-address') return;
    assert.equal(formatIPv6(decision.action.address), TEREDO);
    assert.equal(decision.action.prefixLen, len);
  }
  const removal = accepted(decideHelperRequest(address('del-address', TEREDO, 32), context));
  assert.equal(removal.action.kind, 'del-address');
});

test('addresses in hex form are understood', () => {
  const decision = accepted(
    decideHelperRequest(address('set-address', '20010000c63364018000f2273ccc9bfe', 32), context),
  );
  assert.equal(decision.action.kind, 'add-address');
});

test('a prefix wider than /32 for a Teredo address is refused', () => {
  refused(decideHelperRequest(address('set-address', TEREDO, 16), context), /wider than the Teredo prefix/);
  refused(decideHelperRequest(address('set-address', TEREDO, 0), context), /wider than the Teredo prefix/);
});

test('the two Teredo link-local addresses are accepted with /64../128 only', () => {
  for (const ll of ['fe80::ffff:ffff:ffff', 'fe80::8000:5445:5245:444f']) {
    accepted(decideHelperRequest(address('set-address', ll, 64), context));
    accepted(decideHelperRequest(address('set-address', ll, 128), context));
    refused(decideHelperRequest(address('set-address', ll, 10), context), /wider than link-local/);
  }
});

test('addresses outside the prefix are refused, whatever they are', () => {
  for (const other of [
    '2001:db8::1',
    '2002:c000:201::1',
    'fe80::1',
    '::1',
    '::',
    '2001:1::1',
    '::ffff:192.0.2.1',
  ]) {
    refused(
      decideHelperRequest(address('set-address', other, 64), context),
      /outside the Teredo prefix 2001::\/32/,
    );
  }
});

test('the prefix comes from the configuration', () => {
  const other: HelperPolicyContext = { ifindex: 7, prefix: 0x3ffe831f };
  accepted(decideHelperRequest(address('set-address', '3ffe:831f::1', 32), other));
  refused(
    decideHelperRequest(address('set-address', TEREDO, 32), other),
    /outside the Teredo prefix 3ffe:831f::\/32/,
  );
});

test('multicast addresses are refused even inside a multicast prefix', () => {
  refused(
    decideHelperRequest(address('set-address', 'ff02::1', 128), { ifindex: 7, prefix: 0xff020000 }),
    /multicast/,
  );
});

test('MTU 1280..65535 is accepted, anything else refused', () => {
  for (const mtu of [1280, 1400, 1500, 65535]) {
    const decision = accepted(decideHelperRequest({ type: 'set-mtu', id: 1, ifindex: 7, mtu }, context));
    assert.deepEqual(decision.action, { kind: 'set-mtu', mtu });
  }
  for (const mtu of [0, 1000, 1279, 65536, 0xffffffff]) {
    refused(
      decideHelperRequest({ type: 'set-mtu', id: 1, ifindex: 7, mtu }, context),
      /outside 1280\.\.65535/,
    );
  }
});

test('the prefix route and the default route are accepted', () => {
  const prefixRoute = accepted(decideHelperRequest(route('set-route', '2001::', 32, 1024), context));
  assert.equal(prefixRoute.action.kind, 'add-route');
  const defaultRoute = accepted(decideHelperRequest(route('set-route', '::', 0, 1029), context));
  assert.equal(defaultRoute.action.kind, 'add-route');
  const removal = accepted(decideHelperRequest(route('del-route', '::', 0, 1029), context));
  assert.equal(removal.action.kind, 'del-route');
});

test('any other route is refused', () => {
  for (const [dst, len] of [
    ['2001:db8::', 32],
    ['2001::', 16],
    ['2001::', 33],
    ['2001::1', 32],
    ['::', 1],
    ['8000::', 1],
    ['2001:0:c633:6401::', 64],
  ] as const) {
    refused(decideHelperRequest(route('set-route', dst, len), context), /neither the Teredo prefix route/);
  }
});

test('routes may not outrank the host routes', () => {
  refused(decideHelperRequest(route('set-route', '::', 0, 1), context), /metric 1 is below 1029/);
  // The default route stays behind native default routes learnt from RAs (metric 1024).
  refused(decideHelperRequest(route('set-route', '::', 0, 1024), context), /metric 1024 is below 1029/);
  accepted(decideHelperRequest(route('set-route', '::', 0, MIN_DEFAULT_ROUTE_METRIC), context));
  refused(decideHelperRequest(route('set-route', '2001::', 32, MIN_ROUTE_METRIC - 1), context), /below/);
  accepted(decideHelperRequest(route('set-route', '2001::', 32, MIN_ROUTE_METRIC), context));
});

test('link up and down are accepted on the own interface', () => {
  assert.deepEqual(
    accepted(decideHelperRequest({ type: 'link', id: 1, ifindex: 7, up: true }, context)).action,
    {
      kind: 'link',
      up: true,
    },
  );
  assert.deepEqual(
    accepted(decideHelperRequest({ type: 'link', id: 1, ifindex: 7, up: false }, context)).action,
    {
      kind: 'link',
      up: false,
    },
  );
});
