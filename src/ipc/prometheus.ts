/**
 * The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile collector
 * and a scraper read it: per family a HELP and a TYPE line, then its samples. Pure: families in,
 * text out. Names are ours (programming errors throw); label values and HELP texts are escaped.
 */

export interface Sample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface HistogramSample {
  readonly labels?: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative), indexed like the family's bounds; then those above the last. */
  readonly counts: readonly number[];
  readonly sum: number;
}

export type MetricFamily =
  | {
      readonly name: string;
      readonly help: string;
      readonly type: 'counter' | 'gauge';
      readonly samples: readonly Sample[];
    }
  | {
      readonly name: string;
      readonly help: string;
      readonly type: 'histogram';
      /** Upper bounds, increasing (the +Inf bucket is implied). */
      readonly bounds: readonly number[];
      readonly samples: readonly HistogramSample[];
    };

/** The Content-Type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkName(name: string, pattern: RegExp, what: string): void {
  if (!pattern.test(name) || name.startsWith('__')) throw new Error(`invalid Prometheus ${what}: ${name}`);
}

/** Go's ParseFloat reads these: integers as digits, the specials by name. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Readonly<Record<string, string>> | undefined, extra?: string): string {
  const parts = Object.entries(labels ?? {}).map(([name, value]) => {
    checkName(name, LABEL_NAME, 'label name');
    if (name === 'le') throw new Error('the le label is the histogram buckets');
    return `${name}="${escapeLabelValue(value)}"`;
  });
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function histogramLines(
  name: string,
  bounds: readonly number[],
  sample: HistogramSample,
  lines: string[],
): void {
  if (sample.counts.length !== bounds.length + 1)
    throw new Error(`histogram ${name}: ${bounds.length + 1} counts expected`);
  let cumulative = 0;
  bounds.forEach((bound, index) => {
    cumulative += sample.counts[index] ?? 0;
    lines.push(`${name}_bucket${labelText(sample.labels, `le="${formatValue(bound)}"`)} ${cumulative}`);
  });
  cumulative += sample.counts[bounds.length] ?? 0;
  lines.push(`${name}_bucket${labelText(sample.labels, 'le="+Inf"')} ${cumulative}`);
  lines.push(`${name}_sum${labelText(sample.labels)} ${formatValue(sample.sum)}`);
  lines.push(`${name}_count${labelText(sample.labels)} ${cumulative}`);
}

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    checkName(family.name, METRIC_NAME, 'metric name');
    if (seen.has(family.name)) throw new Error(`metric ${family.name} listed twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    if (family.type === 'histogram') {
      for (let i = 1; i < family.bounds.length; i += 1) {
        if (!((family.bounds[i] ?? 0) > (family.bounds[i - 1] ?? 0)))
          throw new Error(`histogram ${family.name}: bounds must increase`);
      }
      for (const sample of family.samples) histogramLines(family.name, family.bounds, sample, lines);
      continue;
    }
    for (const sample of family.samples) {
      lines.push(`${family.name}${labelText(sample.labels)} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
