/**
 * The announcer with its hold-down and maintenance (src/bootstrap/announcer.ts), on a fake clock:
 * the first announcement waits for nothing but the first healthy report; after a withdrawal for
 * ill-health the route comes back only after the hold-down of continuous health; maintenance
 * withdraws and engages no hold-down; the log says each step with its hold-down. A fast-check
 * model checks random histories of reports, silences, crashes and maintenance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Announcer } from '../../../src/bootstrap/announcer.js';
import type { AnnouncerFacts } from '../../../src/bootstrap/announcer.js';
import { captureLog, FakeOs } from '../../support/fakes.js';
import { ipv6Bytes } from '../../support/inet.js';

const ROUTE = { ifindex: 7, dst: ipv6Bytes('2001::'), prefixLen: 32, metric: 1024, table: 3544 };
const HEALTHY = { type: 'health' as const, stalled: [] as number[] };
const STALLED = { type: 'health' as const, stalled: [0] };

function setUp(maintenance = false) {
  const clock = { now: 0 };
  const changes: Array<{ state: string; reason: string; facts: AnnouncerFacts }> = [];
  const { log, records } = captureLog();
  const announcer = new Announcer({
    route: ROUTE,
    prefixText: '2001::/32',
    os: new FakeOs(),
    log,
    now: () => clock.now,
    healthTimeoutMs: 1000,
    tickMs: 3_600_000,
    maintenance,
    changed: (state, reason, facts) => changes.push({ state, reason, facts }),
  });
  const tick = (): void => (announcer as unknown as { evaluate(): void }).evaluate();
  /** Healthy reports every 250 ms (the engine's pace) until `until`. */
  const healthyUntil = (until: number): void => {
    for (; clock.now < until; clock.now = Math.min(until, clock.now + 250)) announcer.health(HEALTHY);
    announcer.health(HEALTHY);
  };
  return { announcer, clock, changes, records, tick, healthyUntil };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('the first announcement waits only for the first healthy report', async () => {
  const { announcer, clock } = setUp();
  clock.now = 5;
  announcer.health(HEALTHY);
  assert.equal(announcer.announced, true);
  assert.equal(announcer.holdDownMs, 0);
  await announcer.stop();
});

test('a flapping engine is held down longer each time, and the log says so', async () => {
  const { announcer, clock, records } = setUp();
  announcer.health(HEALTHY);
  const comeback: number[] = [];
  for (let round = 0; round < 4; round += 1) {
    clock.now += 3000; // 3 s up, then a stall
    announcer.health(STALLED);
    assert.equal(announcer.announced, false);
    const down = clock.now;
    for (;;) {
      clock.now += 250;
      announcer.health(HEALTHY);
      if (announcer.announced) break;
    }
    comeback.push(clock.now - down);
  }
  assert.deepEqual(comeback, [2250, 4250, 8250, 16_250], 'healthy from 250 ms after the stall');
  await settle();
  const texts = records.map((record) => String(record['msg']));
  assert.ok(texts.includes('Withdrew 2001::/32 (table 3544): data-plane worker(s) 0 stalled; hold-down 8 s'));
  assert.ok(texts.includes('Holding 2001::/32 down: announced after 16 s of health'));
  assert.ok(texts.includes('Announcing 2001::/32 (table 3544): the data plane works (hold-down over)'));
  assert.ok(
    records.some((record) => record['holdDownSeconds'] === 16),
    'the hold-down as a field',
  );
  await announcer.stop();
});

test('a stall during the hold-down starts its wait again', async () => {
  const { announcer, clock, tick, healthyUntil } = setUp();
  announcer.health(HEALTHY);
  clock.now = 1000;
  announcer.health(STALLED);
  clock.now = 1100;
  healthyUntil(2900);
  announcer.health(STALLED);
  clock.now = 3000;
  healthyUntil(4900);
  assert.equal(announcer.announced, false);
  healthyUntil(5000);
  assert.equal(announcer.announced, true);
  clock.now = 6500; // silence: withdrawn by the tick, a flap (up 1.5 s)
  tick();
  assert.equal(announcer.announced, false);
  assert.equal(announcer.holdDownMs, 4000);
  await announcer.stop();
});

test('maintenance withdraws, keeps no hold-down, and announce brings the route back at once', async () => {
  const { announcer, clock, changes } = setUp();
  announcer.health(HEALTHY);
  announcer.setMaintenance(true);
  assert.equal(announcer.announced, false);
  assert.equal(announcer.maintenance, true);
  clock.now = 500;
  announcer.health(HEALTHY);
  assert.equal(announcer.announced, false, 'healthy, but in maintenance');
  announcer.setMaintenance(false);
  assert.equal(announcer.announced, true);
  assert.equal(announcer.holdDownMs, 0);
  await settle();
  assert.deepEqual(
    changes.map(({ state, reason, facts }) => `${state}: ${reason} ${facts.maintenance}`),
    [
      'announced: the data plane works false',
      'withdrawn: maintenance true',
      'announced: the data plane works false',
    ],
  );
  await announcer.stop();
});

test('starting in maintenance: withdrawn until announce; a hold-down under way still counts', async () => {
  const { announcer, clock, changes, healthyUntil } = setUp(true);
  announcer.health(HEALTHY);
  assert.equal(announcer.announced, false);
  announcer.setMaintenance(false);
  assert.equal(announcer.announced, true);
  clock.now = 1000;
  announcer.health(STALLED);
  announcer.setMaintenance(true);
  await settle();
  assert.equal(changes.at(-1)?.reason, 'maintenance', 'the status learns of it while withdrawn');
  clock.now = 1500;
  healthyUntil(3000);
  announcer.setMaintenance(false);
  assert.equal(announcer.announced, false, 'the hold-down of the stall is not over');
  healthyUntil(3500);
  assert.equal(announcer.announced, true);
  await announcer.stop();
});

test('a new engine learns the state from its first report, maintenance included', async () => {
  const { announcer, changes } = setUp(true);
  announcer.health(HEALTHY);
  announcer.engineGone();
  announcer.health(HEALTHY);
  announcer.health(HEALTHY);
  await settle();
  assert.deepEqual(
    changes.map(({ state, reason, facts }) => `${state}: ${reason} ${facts.maintenance}`),
    ['withdrawn: maintenance true', 'withdrawn: maintenance true'],
    'once per engine',
  );
  await announcer.stop();
});

type Event =
  | { readonly kind: 'healthy' | 'stalled' | 'gone' | 'tick' | 'maintenance-on' | 'maintenance-off' }
  | { readonly kind: 'wait'; readonly ms: number };

const events = fc.array(
  fc.oneof(
    fc.constantFrom<Event>(
      { kind: 'healthy' },
      { kind: 'healthy' },
      { kind: 'healthy' },
      { kind: 'stalled' },
      { kind: 'gone' },
      { kind: 'tick' },
      { kind: 'maintenance-on' },
      { kind: 'maintenance-off' },
    ),
    fc.integer({ min: 1, max: 20_000 }).map((ms): Event => ({ kind: 'wait', ms })),
  ),
  { maxLength: 120 },
);

test('property: announced only healthy and out of maintenance, after the hold-down', async () => {
  await fc.assert(
    fc.asyncProperty(events, async (history) => {
      const { announcer, clock, tick } = setUp();
      let healthySince: number | null = null;
      let lastReport: number | null = null;
      /** The hold-down a withdrawal for ill-health set, until the route is back. */
      let pendingHold = 0;
      for (const event of history) {
        if (event.kind !== 'wait' && lastReport !== null && clock.now - lastReport > 1000)
          healthySince = null;
        const was = announcer.announced;
        switch (event.kind) {
          case 'wait':
            clock.now += event.ms;
            break;
          case 'healthy':
            announcer.health(HEALTHY);
            healthySince ??= clock.now;
            lastReport = clock.now;
            break;
          case 'stalled':
            announcer.health(STALLED);
            healthySince = null;
            break;
          case 'gone':
            announcer.engineGone();
            healthySince = null;
            lastReport = null;
            break;
          case 'tick':
            tick();
            break;
          case 'maintenance-on':
          case 'maintenance-off':
            announcer.setMaintenance(event.kind === 'maintenance-on');
            break;
        }
        // Silence is noticed by the next tick.
        if (event.kind === 'wait') continue;
        if (!announcer.announced) {
          const forHealth = !event.kind.startsWith('maintenance');
          if (was && forHealth) pendingHold = announcer.holdDownMs;
          continue;
        }
        assert.equal(announcer.maintenance, false);
        assert.notEqual(healthySince, null, 'announced while unhealthy');
        assert.ok(lastReport !== null && clock.now - lastReport <= 1000);
        if (!was) assert.ok(clock.now - (healthySince ?? clock.now) >= pendingHold, 'before the hold-down');
        pendingHold = 0;
        assert.ok(announcer.holdDownMs === 0 || announcer.holdDownMs >= 2000);
        assert.ok(announcer.holdDownMs <= 60_000);
      }
      await announcer.stop();
    }),
    { numRuns: 200 },
  );
});
