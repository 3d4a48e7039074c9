/**
 * A small checker of the Prometheus text exposition format (0.0.4), for the tests when promtool
 * (Debian's `prometheus` package) is absent, and promtool itself when present. It checks what a
 * scraper and node_exporter's textfile collector rely on: HELP then TYPE before a family's
 * samples, each family once, names and labels well formed, values Go can parse, counters named
 * *_total, histogram buckets cumulative with le="+Inf" equal to _count.
 */
import { spawnSync } from 'node:child_process';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (\\S+)$`);
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;

export function checkExposition(text: string): string[] {
  const problems: string[] = [];
  if (text !== '' && !text.endsWith('\n')) problems.push('text does not end with a newline');
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const done = new Set<string>();
  let current: string | null = null;
  const buckets = new Map<string, number>();
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, index) => {
    const at = `line ${index + 1}`;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name = '', rest = ''] = meta;
      if (!new RegExp(`^${NAME}$`).test(name)) problems.push(`${at}: bad name ${name}`);
      if (name !== current) {
        if (current !== null) done.add(current);
        if (done.has(name)) problems.push(`${at}: family ${name} appears twice`);
        current = name;
      }
      if (kind === 'HELP') helped.add(name);
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          problems.push(`${at}: bad type ${rest}`);
        types.set(name, rest);
        if (rest === 'counter' && !name.endsWith('_total'))
          problems.push(`${at}: counter ${name} lacks _total`);
      }
      return;
    }
    if (line.startsWith('#')) return;
    const sample = SAMPLE.exec(line);
    if (sample === null) {
      problems.push(`${at}: not a sample: ${line}`);
      return;
    }
    const [, name = '', labels = '', value = ''] = sample;
    if (!VALUE.test(value)) problems.push(`${at}: bad value ${value}`);
    const type = current === null ? undefined : types.get(current);
    const family = type === 'histogram' ? name.replace(/_(bucket|sum|count)$/, '') : name;
    if (family !== current || type === undefined || !helped.has(family))
      problems.push(`${at}: sample ${name} outside its family's HELP and TYPE`);
    if (type === 'histogram') {
      const series = labels.replace(/,?le="[^"]*"/, '');
      if (name.endsWith('_bucket')) {
        const previous = buckets.get(series) ?? 0;
        if (Number(value) < previous) problems.push(`${at}: buckets not cumulative`);
        buckets.set(series, Number(value));
      } else if (name.endsWith('_count') && buckets.get(series) !== Number(value))
        problems.push(`${at}: _count differs from the +Inf bucket`);
    }
  });
  return problems;
}

/** promtool's verdict on `text` (null when promtool is not installed). */
export function promtoolCheck(text: string): { readonly ok: boolean; readonly output: string } | null {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error !== undefined) return null;
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}
