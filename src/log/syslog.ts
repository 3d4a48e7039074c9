import { closeSyslog, openSyslog, writeSyslog } from '../os/posix.js';
import type { SyslogFacility } from './syslog-facility.js';
import { syslogPriorityName } from './levels.js';
import type { SyslogPriorityName } from './levels.js';
import type { LogSink } from './logger.js';
import { parseLogLine, syslogText } from './record.js';

export interface SyslogSink extends LogSink {
  /** Reopens the connection with another facility (SyslogFacility changed on reload). */
  setFacility(facility: SyslogFacility): void;
  close(): void;
}

/** What one line written to the sink becomes: a syslog priority and the message text. */
export function syslogEntry(
  line: string,
  own: { readonly name: string; readonly pid: number },
): { readonly priority: SyslogPriorityName; readonly text: string } {
  const trimmed = line.endsWith('\n') ? line.slice(0, -1) : line;
  const record = parseLogLine(trimmed);
  if (record === null) {
    // eslint-disable-next-line no-control-regex
    return { priority: 'err', text: trimmed.replace(/[\u0000-\u001f\u007f]/g, ' ') };
  }
  return { priority: syslogPriorityName(record.level), text: syslogText(record, own) };
}

/**
 * A log sink that turns each pino JSON line into one syslog(3) call. Only the bootstrap's logger
 * and its copies of the engine's lines (engine-line.ts, always pino records) write here; anything
 * else is sent as it is, at error priority.
 */
export function openSyslogSink(ident: string, facility: SyslogFacility): SyslogSink {
  const own = { name: ident, pid: process.pid };
  openSyslog(ident, facility);
  return {
    write(line: string): void {
      const entry = syslogEntry(line, own);
      writeSyslog(entry.priority, entry.text);
    },
    setFacility(next: SyslogFacility): void {
      closeSyslog();
      openSyslog(ident, next);
    },
    close(): void {
      closeSyslog();
    },
  };
}
