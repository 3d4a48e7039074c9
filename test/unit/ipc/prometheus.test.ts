/**
 * The Prometheus renderer (src/ipc/prometheus.ts) and the engine's metric families: any counter
 * values give text that the format checker (test/support/prometheus-format.ts) and, when
 * installed, `promtool check metrics` accept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderPrometheus } from '../../../src/ipc/prometheus.js';
import type { MetricFamily } from '../../../src/ipc/prometheus.js';
import { counterFamilies, counterMetricName, engineFamilies } from '../../../src/engine/control-metrics.js';
import { TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import { SERVER_COUNTER_NAMES } from '../../../src/teredo/server-counters.js';
import { ANSWER_TIME_BOUNDS } from '../../../src/engine/qualification-record.js';
import { checkExposition, promtoolCheck } from '../../support/prometheus-format.js';

const counterValue = fc.oneof(fc.nat(), fc.maxSafeNat(), fc.double({ min: 0, noNaN: true }));

function metricsFor(
  names: readonly string[],
  values: readonly number[],
  answerCounts: readonly number[],
): string {
  const counters = Object.fromEntries(names.map((name, index) => [name, values[index] ?? 0]));
  const summary = {
    role: 'relay' as const,
    pid: 42,
    uptimeSeconds: values[0] ?? 0,
    workers: 2,
    uid: 65534,
    gid: 65534,
    maxRssBytes: 1 << 26,
    counters,
  };
  const histogram: MetricFamily = {
    name: 'miredo_server_answer_seconds',
    help: 'answer times',
    type: 'histogram',
    bounds: ANSWER_TIME_BOUNDS,
    samples: [{ counts: answerCounts, sum: answerCounts.reduce((a, b) => a + b, 0) / 10 }],
  };
  return renderPrometheus([...engineFamilies(summary), ...counterFamilies(counters), histogram]);
}

test('any counter values give valid exposition text, for the tunnel and the server counters', () => {
  for (const names of [TUNNEL_COUNTER_NAMES, [...SERVER_COUNTER_NAMES, 'worker-failed', 'worker-replaced']]) {
    fc.assert(
      fc.property(
        fc.array(counterValue, { minLength: names.length, maxLength: names.length }),
        fc.array(fc.nat(1e9), {
          minLength: ANSWER_TIME_BOUNDS.length + 1,
          maxLength: ANSWER_TIME_BOUNDS.length + 1,
        }),
        (values, answers) => {
          const text = metricsFor(names, values, answers);
          assert.deepEqual(checkExposition(text), []);
        },
      ),
      { numRuns: 200 },
    );
  }
});

test("promtool check metrics accepts the text (skipped without Debian's prometheus package)", (t) => {
  const text = metricsFor(
    TUNNEL_COUNTER_NAMES,
    TUNNEL_COUNTER_NAMES.map((_, i) => i * 1000),
    [1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 5],
  );
  const verdict = promtoolCheck(text);
  if (verdict === null) {
    t.skip('promtool not installed (scripts/install-debian-deps.sh installs it)');
    return;
  }
  assert.ok(verdict.ok, verdict.output);
  assert.equal(verdict.output.trim(), '', verdict.output);
});

test('drops are one family labelled by reason; other counters one family each, with _total', () => {
  const text = renderPrometheus(
    counterFamilies({ 'drop-rx-malformed': 3, 'tun-received': 7, 'drop-tx-multicast': 1 }),
  );
  assert.match(text, /^miredo_dropped_total\{reason="rx-malformed"\} 3$/m);
  assert.match(text, /^miredo_dropped_total\{reason="tx-multicast"\} 1$/m);
  assert.match(text, /^# TYPE miredo_tun_received_total counter$/m);
  assert.match(text, /^miredo_tun_received_total 7$/m);
  assert.equal(counterMetricName('udp-gso-messages'), 'miredo_udp_gso_messages_total');
});

test('histograms are cumulative, end with +Inf, _sum and _count', () => {
  const text = renderPrometheus([
    {
      name: 'h_seconds',
      help: 'h',
      type: 'histogram',
      bounds: [0.1, 1],
      samples: [{ counts: [2, 3, 4], sum: 7.5 }],
    },
  ]);
  assert.equal(
    text,
    '# HELP h_seconds h\n# TYPE h_seconds histogram\n' +
      'h_seconds_bucket{le="0.1"} 2\nh_seconds_bucket{le="1"} 5\nh_seconds_bucket{le="+Inf"} 9\n' +
      'h_seconds_sum 7.5\nh_seconds_count 9\n',
  );
});

test('label values and HELP texts are escaped; any label value stays one valid line', () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), (value, help) => {
      const text = renderPrometheus([
        { name: 'g', help, type: 'gauge', samples: [{ labels: { v: value }, value: 1 }] },
      ]);
      assert.equal(text.split('\n').length, 4);
      assert.deepEqual(checkExposition(text), []);
    }),
  );
});

test('bad names, a family twice and decreasing bounds are programming errors', () => {
  const gauge = (name: string): MetricFamily => ({ name, help: '', type: 'gauge', samples: [] });
  assert.throws(() => renderPrometheus([gauge('bad-name')]));
  assert.throws(() => renderPrometheus([gauge('__reserved')]));
  assert.throws(() => renderPrometheus([gauge('a'), gauge('a')]));
  assert.throws(() =>
    renderPrometheus([{ name: 'h', help: '', type: 'histogram', bounds: [1, 1], samples: [] }]),
  );
  assert.throws(() =>
    renderPrometheus([{ name: 'g', help: '', type: 'gauge', samples: [{ labels: { le: '1' }, value: 1 }] }]),
  );
});

test('the checker itself refuses broken text', () => {
  assert.notDeepEqual(checkExposition('x 1\n'), []);
  assert.notDeepEqual(checkExposition('# HELP c_total c\n# TYPE c_total counter\nc_total one\n'), []);
  assert.notDeepEqual(checkExposition('# HELP c c\n# TYPE c counter\nc 1\n'), []);
  assert.notDeepEqual(
    checkExposition(
      '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
    ),
    [],
  );
});
