/**
 * Syslog-like log levels for pino. pino orders levels by number (higher = more severe);
 * syslog orders priorities the other way round (0 = emergency, 7 = debug).
 */

export const LOG_LEVELS = {
  debug: 20,
  info: 30,
  notice: 35,
  warning: 40,
  error: 50,
  critical: 60,
  alert: 70,
  emergency: 80,
} as const;

export type LogLevel = keyof typeof LOG_LEVELS;

export const LOG_LEVEL_NAMES = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
] as const satisfies readonly LogLevel[];

const SYSLOG_PRIORITY: Readonly<Record<LogLevel, number>> = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

/** The names node-posix uses for syslog priorities. */
export type SyslogPriorityName = 'emerg' | 'alert' | 'crit' | 'err' | 'warning' | 'notice' | 'info' | 'debug';

const SYSLOG_PRIORITY_NAME: Readonly<Record<LogLevel, SyslogPriorityName>> = {
  emergency: 'emerg',
  alert: 'alert',
  critical: 'crit',
  error: 'err',
  warning: 'warning',
  notice: 'notice',
  info: 'info',
  debug: 'debug',
};

export function isLogLevel(name: string): name is LogLevel {
  return Object.hasOwn(LOG_LEVELS, name);
}

export function syslogPriority(level: LogLevel): number {
  return SYSLOG_PRIORITY[level];
}

export function syslogPriorityName(level: LogLevel): SyslogPriorityName {
  return SYSLOG_PRIORITY_NAME[level];
}

/** The level whose pino number is exactly `value`, or null for anything else. */
export function levelFromValue(value: unknown): LogLevel | null {
  for (const name of LOG_LEVEL_NAMES) {
    if (LOG_LEVELS[name] === value) return name;
  }
  return null;
}
