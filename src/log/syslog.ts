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

/**
 * A log sink that turns each pino JSON line into one syslog(3) call. Lines that are not pino
 * records (a crash trace, say) are sent as they are, at error priority.
 */
export function openSyslogSink(ident: string, facility: SyslogFacility): SyslogSink {
  const omit = { name: ident, pid: process.pid };
  posix.openlog(ident, { pid: true, ndelay: true }, facility);
  return {
    write(line: string): void {
      const trimmed = line.endsWith('\n') ? line.slice(0, -1) : line;
      const record = parseLogLine(trimmed);
      if (record === null) {
        // eslint-disable-next-line no-control-regex
        posix.syslog('err', trimmed.replace(/[\u0000-\u001f\u007f]/g, ' '));
        return;
      }
      posix.syslog(syslogPriorityName(record.level), syslogText(record, omit));
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
