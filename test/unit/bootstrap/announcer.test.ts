/**
 * The relay's announcement route (src/bootstrap/announcer.ts): present only while the engine
 * reports every worker alive, withdrawn when reports stop (a wedged engine), name a stalled
 * worker (a wedged worker), when the engine is gone, and for good when draining; and the drain's
 * timing (relay-announcement.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Announcer } from '../../../src/bootstrap/announcer.js';
import { Drainer, drainSecondsOf } from '../../../src/bootstrap/relay-announcement.js';
import type { DaemonSettings } from '../../../src/config/settings-schema.js';
import { captureLog, FakeOs, RELAY_SETTINGS } from '../../support/fakes.js';
import { ipv6Bytes } from '../../support/inet.js';

const ROUTE = {
  ifindex: 7,
  dst: ipv6Bytes('2001::'),
  prefixLen: 32,
  metric: 1024,
  table: 3544,
};
const KEY = 'table 3544 2001::/32 1024';

function setUp(): {
  os: FakeOs;
  announcer: Announcer;
  clock: { now: number };
  changes: string[];
} {
  const os = new FakeOs();
  const clock = { now: 0 };
  const changes: string[] = [];
  const announcer = new Announcer({
    route: ROUTE,
    prefixText: '2001::/32',
    os,
    log: captureLog().log,
    now: () => clock.now,
    healthTimeoutMs: 1000,
    tickMs: 60_000,
    changed: (state, reason) => changes.push(`${state}: ${reason}`),
  });
  return { os, announcer, clock, changes };
}

/** Lets the announcer's queued kernel calls run. */
const settle = (announcer: Announcer): Promise<void> => announcer.drain().then(() => undefined);

test('the route appears with the first healthy report and goes when a worker stalls', async () => {
  const { os, announcer, changes } = setUp();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(os.calls, [`delTableRoute6 7 ${KEY}`], 'a leftover route is removed at start');
  assert.equal(os.routes.has(KEY), false);
  announcer.health({ type: 'health', stalled: [] });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(os.routes.has(KEY), true);
  assert.equal(announcer.announced, true);
  announcer.health({ type: 'health', stalled: [1] });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(os.routes.has(KEY), false);
  assert.deepEqual(changes, ['announced: the data plane works', 'withdrawn: data-plane worker(s) 1 stalled']);
  await announcer.stop();
});

test('silence from the engine withdraws; a report brings it back; the engine gone withdraws', async () => {
  const { os, announcer, clock, changes } = setUp();
  announcer.health({ type: 'health', stalled: [] });
  clock.now = 1001;
  announcer.health({ type: 'health', stalled: [0] }); // evaluates: stalled comes first
  announcer.health({ type: 'health', stalled: [] });
  assert.equal(announcer.announced, false, 'held down for 2 s after a withdrawal for ill-health');
  for (clock.now = 1251; clock.now <= 3001; clock.now += 250)
    announcer.health({ type: 'health', stalled: [] });
  assert.equal(announcer.announced, true);
  clock.now = 4100;
  announcer.engineGone();
  await settle(announcer);
  assert.equal(os.routes.has(KEY), false);
  assert.deepEqual(changes.slice(0, 5), [
    'announced: the data plane works',
    'withdrawn: data-plane worker(s) 0 stalled',
    'withdrawn: held down: announced after 2 s of health',
    'announced: the data plane works (hold-down over)',
    'withdrawn: the engine is not running',
  ]);
});

test('a report that stopped coming for longer than the timeout withdraws', async () => {
  const { os, announcer, clock } = setUp();
  announcer.health({ type: 'health', stalled: [] });
  clock.now = 1500;
  // The tick would do this; engineGone() and health() evaluate the same way.
  (announcer as unknown as { evaluate(): void }).evaluate();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(os.routes.has(KEY), false);
  await announcer.stop();
});

test('draining withdraws for good, healthy reports or not', async () => {
  const { os, announcer } = setUp();
  announcer.health({ type: 'health', stalled: [] });
  await announcer.drain();
  assert.equal(announcer.isDraining, true);
  announcer.health({ type: 'health', stalled: [] });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(os.routes.has(KEY), false);
  await announcer.stop();
});

test('a kernel failure is retried rather than believed', async () => {
  const { os, announcer } = setUp();
  os.failOn = 'addTableRoute6';
  announcer.health({ type: 'health', stalled: [] });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(announcer.announced, false);
  os.failOn = null;
  announcer.health({ type: 'health', stalled: [] });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(os.routes.has(KEY), true);
  await announcer.stop();
});

const RELAY: DaemonSettings = RELAY_SETTINGS;

test('DrainTime: 10 s by default with an AnnounceTable, 0 without, as configured otherwise', () => {
  assert.equal(drainSecondsOf(RELAY), 0);
  assert.equal(drainSecondsOf({ ...RELAY, drainTime: 30 }), 0, 'nothing to withdraw, nothing to wait for');
  assert.equal(drainSecondsOf({ ...RELAY, announceTable: 3544 }), 10);
  assert.equal(drainSecondsOf({ ...RELAY, announceTable: 3544, drainTime: 0 }), 0);
  assert.equal(drainSecondsOf({ ...RELAY, announceTable: 3544, drainTime: 2 }), 2);
});

test('a drain withdraws at once, stops after its time, and a second signal stops it now', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { os, announcer } = setUp();
  announcer.health({ type: 'health', stalled: [] });
  const drainer = new Drainer(captureLog().log);
  let finished = 0;
  drainer.start(announcer, 5, () => (finished += 1));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(os.routes.has(KEY), false, 'withdrawn before the wait');
  t.mock.timers.tick(4999);
  assert.equal(finished, 0);
  t.mock.timers.tick(1);
  assert.equal(finished, 1);
  assert.equal(drainer.cutShort('SIGTERM'), false, 'nothing left to cut short');
  const second = new Drainer(captureLog().log);
  second.start(announcer, 5, () => (finished += 1));
  assert.equal(second.cutShort('SIGINT'), true);
  assert.equal(finished, 2);
  t.mock.timers.tick(5000);
  assert.equal(finished, 2, 'the cut-short drain does not finish twice');
  await announcer.stop();
});
