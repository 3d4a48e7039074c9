/**
 * The bootstrap's copy of one line the engine wrote on stdout or stderr. The engine is not
 * trusted, so its line is never passed on as it is: the bootstrap writes a new record from a
 * validated subset of it (a known level, the message text, at most MAX_ENGINE_FIELDS plainly
 * named fields) and sets `name`, `pid`, `engine` and `time` itself. Whatever the engine writes,
 * its lines carry the engine's name and pid, never the bootstrap's. A line that is not a pino
 * record (a crash trace) becomes the message of an error-level record.
 */
import { LOG_LEVELS } from './levels.js';
import { MAX_LOG_LINE, parseLogLine } from './record.js';

/** The `name` of every record that came from the engine. */
export const ENGINE_LOG_NAME = 'miredo-engine';
export const MAX_ENGINE_FIELDS = 32;
/** Set by the bootstrap; an engine's own fields of these names are dropped. */
const FORCED = new Set(['level', 'time', 'pid', 'name', 'msg', 'engine', 'truncated']);
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** What is kept of the message when the whole record would exceed MAX_LOG_LINE. */
const TRUNCATED_MSG = 1024;

/** One JSON line (with its newline) for the bootstrap's sink. */
export function engineLogLine(line: string, enginePid: number, now: number): string {
  const record = parseLogLine(line);
  const forced = {
    level: LOG_LEVELS[record?.level ?? 'error'],
    time: now,
    pid: enginePid,
    name: ENGINE_LOG_NAME,
    engine: enginePid,
  };
  const msg = record?.msg ?? line;
  const fields = Object.entries(record?.fields ?? {})
    .filter(([key]) => FIELD_NAME.test(key) && !FORCED.has(key))
    .slice(0, MAX_ENGINE_FIELDS);
  // fromEntries defines own properties: no field name can reach a prototype.
  const text = JSON.stringify({ ...forced, msg, ...Object.fromEntries(fields) });
  if (text.length <= MAX_LOG_LINE) return `${text}\n`;
  return `${JSON.stringify({ ...forced, msg: msg.slice(0, TRUNCATED_MSG), truncated: true })}\n`;
}
