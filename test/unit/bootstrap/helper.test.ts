import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BARE_BASELINE, createHelper } from '../../../src/bootstrap/helper.js';
import { relayBaseline } from '../../../src/bootstrap/resources.js';
import { captureLog, FakeOs } from '../../support/fakes.js';

const tunnel = { name: 'teredo', index: 7 };

test('accepted requests are applied on the own interface and answered ok', async () => {
  const os = new FakeOs();
  const { log } = captureLog();
  const helper = createHelper({ tunnel, prefix: 0x20010000, baseline: BARE_BASELINE, tun: os, log });
  assert.deepEqual(await helper.handle({ type: 'link', id: 1, ifindex: 7, up: true }), { ok: true });
  assert.deepEqual(await helper.handle({ type: 'set-mtu', id: 2, ifindex: 7, mtu: 1400 }), { ok: true });
  assert.deepEqual(
    await helper.handle({
      type: 'set-address',
      id: 3,
      ifindex: 7,
      address: '2001:0:c633:6401::1',
      prefixLen: 32,
    }),
    { ok: true },
  );
  assert.deepEqual(
    await helper.handle({ type: 'set-route', id: 4, ifindex: 7, dst: '::', prefixLen: 0, metric: 1029 }),
    {
      ok: true,
    },
  );
  assert.deepEqual(os.calls, [
    'setLinkUp teredo true',
    'setMtu teredo 1400',
    'addAddress6 7 2001:0:c633:6401::1/32',
    'addRoute6 7 ::/0 1029',
  ]);
  assert.deepEqual(helper.stats(), { accepted: 4, refused: 0, failed: 0 });
});

test('refused requests touch nothing, are logged as warnings and answered with the reason', async () => {
  const os = new FakeOs();
  const { log, records } = captureLog();
  const helper = createHelper({ tunnel, prefix: 0x20010000, baseline: BARE_BASELINE, tun: os, log });
  const other = await helper.handle({ type: 'set-mtu', id: 1, ifindex: 1, mtu: 1400 });
  const outside = await helper.handle({
    type: 'set-address',
    id: 2,
    ifindex: 7,
    address: '2001:db8::1',
    prefixLen: 64,
  });
  const small = await helper.handle({ type: 'set-mtu', id: 3, ifindex: 7, mtu: 1000 });
  for (const reply of [other, outside, small]) assert.equal(reply.ok, false);
  assert.match(JSON.stringify(other), /"kind":"refused".*not this daemon's interface/);
  assert.match(JSON.stringify(outside), /outside the Teredo prefix/);
  assert.match(JSON.stringify(small), /MTU 1000 is outside/);
  assert.deepEqual(os.calls, []);
  const warnings = records.filter((r) => r['level'] === 40);
  assert.equal(warnings.length, 3);
  assert.match(String(warnings[2]?.['msg']), /^Refused set-mtu request: MTU 1000/);
  assert.deepEqual(helper.stats(), { accepted: 0, refused: 3, failed: 0 });
});

test('a kernel failure is answered as failed and logged as an error', async () => {
  const os = new FakeOs();
  os.failOn = 'setMtu';
  const { log, records } = captureLog();
  const helper = createHelper({ tunnel, prefix: 0x20010000, baseline: BARE_BASELINE, tun: os, log });
  const reply = await helper.handle({ type: 'set-mtu', id: 1, ifindex: 7, mtu: 1400 });
  assert.equal(reply.ok, false);
  assert.match(JSON.stringify(reply), /"kind":"failed".*set-mtu 1400: setMtu teredo 1400 failed/);
  assert.ok(records.some((r) => r['level'] === 50));
});

test('the prefix can change on reload', async () => {
  const os = new FakeOs();
  const { log } = captureLog();
  const helper = createHelper({ tunnel, prefix: 0x20010000, baseline: BARE_BASELINE, tun: os, log });
  helper.reconfigure(0x3ffe831f, BARE_BASELINE);
  const inOld = await helper.handle({
    type: 'set-address',
    id: 1,
    ifindex: 7,
    address: '2001::1',
    prefixLen: 32,
  });
  const inNew = await helper.handle({
    type: 'set-address',
    id: 2,
    ifindex: 7,
    address: '3ffe:831f::1',
    prefixLen: 32,
  });
  assert.equal(inOld.ok, false);
  assert.equal(inNew.ok, true);
});

test('reverting a client engine removes what it added and takes the link down', async () => {
  const os = new FakeOs();
  const { log } = captureLog();
  const helper = createHelper({ tunnel, prefix: 0x20010000, baseline: BARE_BASELINE, tun: os, log });
  await helper.handle({ type: 'link', id: 1, ifindex: 7, up: true });
  await helper.handle({ type: 'set-address', id: 2, ifindex: 7, address: '2001::1', prefixLen: 32 });
  await helper.handle({
    type: 'set-address',
    id: 3,
    ifindex: 7,
    address: 'fe80::ffff:ffff:ffff',
    prefixLen: 64,
  });
  await helper.handle({
    type: 'del-address',
    id: 4,
    ifindex: 7,
    address: 'fe80::ffff:ffff:ffff',
    prefixLen: 64,
  });
  await helper.handle({ type: 'set-route', id: 5, ifindex: 7, dst: '::', prefixLen: 0, metric: 1029 });
  os.calls.length = 0;
  await helper.revertEngineChanges();
  assert.deepEqual(os.calls, ['delRoute6 7 ::/0 1029', 'delAddress6 7 2001::1/32', 'setLinkUp teredo false']);
  os.calls.length = 0;
  await helper.revertEngineChanges();
  assert.deepEqual(os.calls, [], 'a second revert has nothing left to do');
});

test('reverting a relay engine restores the static tunnel it disturbed', async () => {
  const os = new FakeOs();
  const { log } = captureLog();
  const helper = createHelper({
    tunnel,
    prefix: 0x20010000,
    baseline: relayBaseline(1400, 0x20010000),
    tun: os,
    log,
  });
  await helper.handle({ type: 'link', id: 1, ifindex: 7, up: false });
  await helper.handle({ type: 'set-mtu', id: 2, ifindex: 7, mtu: 1280 });
  await helper.handle({ type: 'del-route', id: 3, ifindex: 7, dst: '2001::', prefixLen: 32, metric: 1024 });
  await helper.handle({
    type: 'del-address',
    id: 4,
    ifindex: 7,
    address: 'fe80::ffff:ffff:ffff',
    prefixLen: 64,
  });
  os.calls.length = 0;
  await helper.revertEngineChanges();
  assert.deepEqual(os.calls, [
    'setMtu teredo 1400',
    'setLinkUp teredo true',
    'addAddress6 7 fe80::ffff:ffff:ffff/64',
    'addRoute6 7 2001::/32 1024',
  ]);
});

test('revert failures are logged, not thrown', async () => {
  const os = new FakeOs();
  const { log, records } = captureLog();
  const helper = createHelper({ tunnel, prefix: 0x20010000, baseline: BARE_BASELINE, tun: os, log });
  await helper.handle({ type: 'set-address', id: 2, ifindex: 7, address: '2001::1', prefixLen: 32 });
  os.failOn = 'delAddress6';
  await helper.revertEngineChanges();
  assert.ok(
    records.some((r) => r['level'] === 40 && /Cannot remove address 2001::1\/32/.test(String(r['msg']))),
  );
});
