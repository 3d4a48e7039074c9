/**
 * The engine's metrics in Prometheus families: every counter of the summary (drops as one family
 * labelled by reason, the others one family each), the engine's gauges, and the role's gauges and
 * histograms (control-plane.ts, metricFamilies).
 */
import type { EngineSummary } from '../ipc/bootstrap-engine-messages.js';
import type { MetricFamily } from '../ipc/prometheus.js';

const DROP = 'drop-';

/** `tun-received` → `miredo_tun_received_total`. */
export function counterMetricName(counter: string): string {
  return `miredo_${counter.replace(/[^a-zA-Z0-9]/g, '_')}_total`;
}

export function counterFamilies(counters: Readonly<Record<string, number>>): MetricFamily[] {
  const names = Object.keys(counters).sort();
  const drops = names.filter((name) => name.startsWith(DROP));
  const families: MetricFamily[] = [];
  if (drops.length > 0) {
    families.push({
      name: 'miredo_dropped_total',
      help: 'Packets thrown away, by reason (the drop-* counters of miredo-ctl counters).',
      type: 'counter',
      samples: drops.map((name) => ({
        labels: { reason: name.slice(DROP.length) },
        value: counters[name] ?? 0,
      })),
    });
  }
  for (const name of names) {
    if (name.startsWith(DROP)) continue;
    families.push({
      name: counterMetricName(name),
      help: `The ${name} counter of miredo-ctl counters.`,
      type: 'counter',
      samples: [{ value: counters[name] ?? 0 }],
    });
  }
  return families;
}

export function engineFamilies(summary: EngineSummary): MetricFamily[] {
  const gauge = (
    name: string,
    help: string,
    value: number,
    labels?: Record<string, string>,
  ): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    samples: [labels === undefined ? { value } : { labels, value }],
  });
  return [
    gauge('miredo_info', 'The daemon, by role (always 1).', 1, { role: summary.role }),
    gauge('miredo_engine_uptime_seconds', 'Seconds since the engine started.', summary.uptimeSeconds),
    gauge('miredo_dataplane_workers', 'Data-plane worker threads.', summary.workers),
    gauge('miredo_engine_max_rss_bytes', 'Largest resident set of the engine so far.', summary.maxRssBytes),
  ];
}
