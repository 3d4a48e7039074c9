import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import { LOG_LEVELS } from './levels.js';
import type { LogLevel } from './levels.js';

export type Logger = PinoLogger<LogLevel, true>;

/** Where log lines go: one complete JSON line per write, written synchronously. */
export type LogSink = DestinationStream;

export interface CreateLoggerOptions {
  /** Process name put in every line ("miredo", "miredo-engine", ...). */
  readonly name: string;
  readonly sink: LogSink;
  readonly level?: LogLevel;
}

/**
 * A pino logger with only the syslog-like levels. No transports (they would start a worker
 * thread); the sink is written synchronously so nothing is lost on exit.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  return pino<LogLevel, true>(
    {
      name: options.name,
      level: options.level ?? 'info',
      customLevels: LOG_LEVELS,
      useOnlyCustomLevels: true,
      base: { pid: process.pid },
    },
    options.sink,
  );
}

/** Synchronous JSON lines on standard error. */
export function stderrSink(): LogSink {
  return pino.destination({ fd: 2, sync: true });
}
