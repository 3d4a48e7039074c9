/**
 * AnnounceTable, AnnounceMetric and DrainTime (a relay's announcement route and graceful stop):
 * read in relay modes only, bounded, the forwarding tables refused (the main table only with a
 * metric below the forwarding route's); a reload changes DrainTime in place and restarts for a
 * new table or metric; the announcer's route takes the metric; miredo-ctl's `drain` command line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from '../../../src/config/diagnostic.js';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { planReload } from '../../../src/bootstrap/reload-plan.js';
import type { DaemonSettings } from '../../../src/config/settings-schema.js';
import { captureLog, FakeOs, RELAY_SETTINGS } from '../../support/fakes.js';
import { createAnnouncer } from '../../../src/bootstrap/relay-announcement.js';
import type { KernelResources } from '../../../src/bootstrap/resources.js';
import { parseCtlArgs } from '../../../src/cli/ctl-args.js';

const RELAY = 'RelayType cone\n';

test('a relay reads AnnounceTable and DrainTime; without them both are absent', () => {
  const result = parseMiredoConf(`${RELAY}AnnounceTable 3544\nDrainTime 0x1e\n`, 'miredo.conf');
  assert.ok(result.ok);
  assert.equal(result.config.announceTable, 3544);
  assert.equal(result.config.drainTime, 30);
  assert.deepEqual(result.warnings, []);
  const plain = parseMiredoConf(RELAY, 'miredo.conf');
  assert.ok(plain.ok);
  assert.equal(plain.config.announceTable, undefined);
  assert.equal(plain.config.drainTime, undefined);
});

test('the forwarding tables and out-of-range values are errors', () => {
  for (const [text, message] of [
    ['AnnounceTable 253', /route traffic/],
    ['AnnounceTable 255', /route traffic/],
    ['AnnounceTable 254', /only with an AnnounceMetric below 1024/],
    ['AnnounceTable 254\nAnnounceMetric 1024', /outside 1 to 1023/],
    ['AnnounceTable 3544\nAnnounceMetric 0', /outside 1 to 1023/],
    ['AnnounceTable 0', /outside 1 to/],
    ['AnnounceTable main', /not a routing table number/],
    ['DrainTime 3601', /outside 0 to 3600/],
  ] as const) {
    const result = parseMiredoConf(`${RELAY}${text}\n`, 'miredo.conf');
    assert.ok(!result.ok, text);
    assert.match(result.errors.map(formatDiagnostic).join('\n'), message);
  }
});

test('the main table with a metric below 1024 (for FRR); a metric without a table is ignored', () => {
  const main = parseMiredoConf(`${RELAY}AnnounceTable 254\nAnnounceMetric 100\n`, 'miredo.conf');
  assert.ok(main.ok);
  assert.equal(main.config.announceTable, 254);
  assert.equal(main.config.announceMetric, 100);
  assert.deepEqual(main.warnings, []);
  const alone = parseMiredoConf(`${RELAY}AnnounceMetric 100\n`, 'miredo.conf');
  assert.ok(alone.ok);
  assert.equal(alone.config.announceMetric, undefined);
  assert.deepEqual(
    alone.warnings.map((warning) => `${warning.directive}: ${warning.message}`),
    ['AnnounceMetric: only used with an AnnounceTable; ignored'],
  );
});

test('the announcement route has the AnnounceMetric, or the forwarding route metric without one', async () => {
  const resources = { tunnel: { name: 'teredo', index: 7 } } as unknown as KernelResources;
  for (const [extra, key] of [
    [{ announceTable: 254, announceMetric: 100 }, 'delTableRoute6 7 table 254 2001::/32 100'],
    [{ announceTable: 3544 }, 'delTableRoute6 7 table 3544 2001::/32 1024'],
  ] as const) {
    const os = new FakeOs();
    const announcer = createAnnouncer(
      { ...RELAY_SETTINGS, ...extra },
      resources,
      os,
      captureLog().log,
      { on: false },
      () => {},
    );
    assert.ok(announcer);
    await announcer.stop();
    assert.ok(os.calls.includes(key), os.calls.join('\n'));
  }
});

test('a client does not read them: each is a warning, as Miredo does for other modes', () => {
  const result = parseMiredoConf('ServerAddress 192.0.2.1\nAnnounceTable 3544\nDrainTime 5\n', 'miredo.conf');
  assert.ok(result.ok);
  assert.deepEqual(
    result.warnings.map((warning) => `${warning.directive}: ${warning.message}`),
    [
      'AnnounceTable: only used in relay modes (RelayType cone or restricted); ignored',
      'DrainTime: only used in relay modes (RelayType cone or restricted); ignored',
    ],
  );
});

const relay: DaemonSettings = { ...RELAY_SETTINGS, announceTable: 3544 };

test('a reload changes DrainTime in place and restarts for another AnnounceTable or AnnounceMetric', () => {
  assert.deepEqual(planReload(relay, { ...relay, drainTime: 20 }), {
    kind: 'in-place',
    changes: [{ kind: 'drain-time', from: null, to: 20 }],
  });
  assert.deepEqual(planReload(relay, { ...relay, announceTable: 3545 }), {
    kind: 'restart',
    reasons: ['announceTable'],
  });
  assert.deepEqual(planReload(relay, { ...relay, announceMetric: 100 }), {
    kind: 'restart',
    reasons: ['announceMetric'],
  });
});

test('miredo-ctl drain takes only the PID file', () => {
  assert.deepEqual(parseCtlArgs(['-p', '/run/relay.pid', 'drain']), {
    ok: true,
    args: { action: 'drain', pidFile: '/run/relay.pid' },
  });
  assert.equal(parseCtlArgs(['drain', '--json']).ok, false);
  assert.equal(parseCtlArgs(['drain', 'now']).ok, false);
});
