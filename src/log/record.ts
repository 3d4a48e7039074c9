import { levelFromValue } from './levels.js';
import type { LogLevel } from './levels.js';

/** A log line another process wrote, understood just enough to route it. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Lines longer than this are cut: a runaway (or hostile) writer cannot make us buffer without bound. */
export const MAX_LOG_LINE = 16 * 1024;

const NOT_FIELDS = new Set(['level', 'time', 'msg', 'hostname', 'v']);

/** Parses one pino JSON line; null when it is not a JSON object with a known level. */
export function parseLogLine(line: string): LogRecord | null {
  if (line.length > MAX_LOG_LINE || !line.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const object = value as Record<string, unknown>;
  const level = levelFromValue(object['level']);
  if (level === null) return null;
  const msg = typeof object['msg'] === 'string' ? object['msg'] : '';
  // fromEntries defines properties: a "__proto__" key is a field, never the record's prototype.
  const fields = Object.fromEntries(Object.entries(object).filter(([key]) => !NOT_FIELDS.has(key)));
  return { level, msg, fields };
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * One syslog message: the message text, then the remaining fields as key=value, with control
 * characters replaced so that one record stays one syslog line. A record that is not `own`'s
 * (another name or pid: the engine's, as engine-line.ts writes them) starts with `name[pid]: `,
 * since syslog shows every line under the bootstrap's own identity.
 */
export function syslogText(record: LogRecord, own: { readonly name: string; readonly pid: number }): string {
  const { name, pid } = record.fields;
  const foreign = name !== own.name || pid !== own.pid;
  const extras: string[] = [];
  for (const [key, value] of Object.entries(record.fields)) {
    if (key === 'name' || key === 'pid' || (foreign && key === 'engine' && value === pid)) continue;
    extras.push(`${key}=${fieldText(value)}`);
  }
  const prefix = foreign ? `${fieldText(name ?? '-')}[${fieldText(pid ?? '-')}]: ` : '';
  const text = `${prefix}${extras.length === 0 ? record.msg : `${record.msg} [${extras.join(' ')}]`}`;
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, MAX_LOG_LINE);
}
