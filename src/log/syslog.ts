import { createRequire } from 'node:module';
import type { SyslogFacility } from '../config/syslog-facility.js';
import { syslogPriorityName } from './levels.js';
import type { SyslogPriorityName } from './levels.js';
import type { LogSink } from './logger.js';
import { parseLogLine, syslogText } from './record.js';

/** The part of node-posix used here (the package ships no types). */
interface PosixSyslog {
  openlog(ident: string, options: { pid?: boolean; ndelay?: boolean }, facility: SyslogFacility): void;
  closelog(): void;
  syslog(priority: SyslogPriorityName, message: string): void;
}

const posix = createRequire(import.meta.url)('posix') as PosixSyslog;

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
  posix.openlog(ident, { pid: true, ndelay: true }, facility);
  return {
    write(line: string): void {
      const entry = syslogEntry(line, own);
      posix.syslog(entry.priority, entry.text);
    },
    setFacility(next: SyslogFacility): void {
      posix.closelog();
      posix.openlog(ident, { pid: true, ndelay: true }, next);
    },
    close(): void {
      posix.closelog();
    },
  };
}
