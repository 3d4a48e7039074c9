/**
 * Detaching, as Miredo does without -f, except that Node cannot fork: the foreground process
 * starts a copy of itself in a new session (setsid through `detached`), with /dev/null for stdio
 * and a pipe on descriptor 3, and exits with the status the daemon reports on that pipe (0 once
 * it is running, 1 if it failed; no report at all counts as failure). The daemon also sends its
 * startup error messages through the pipe so that they reach the terminal.
 */
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { createLineSplitter } from '../log/line-splitter.js';

/** Set in the daemon's environment: the descriptor of its status pipe. */
export const DAEMON_STATUS_ENV = 'MIREDO_TS_DAEMON_STATUS_FD';
const STATUS_FD = 3;

export interface StartupReporter {
  /** A message for the user (the terminal in foreground, the parent's terminal when detached). */
  error(text: string): void;
  /** Startup finished with this status; further errors go to the log only. */
  done(status: number): void;
}

/** Foreground: messages straight to standard error. */
export const STDERR_REPORTER: StartupReporter = {
  error(text: string): void {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  },
  done(): void {},
};

/** The daemon's reporter when this process was started detached, else null. */
export function daemonStatusReporter(env: NodeJS.ProcessEnv = process.env): StartupReporter | null {
  if (env[DAEMON_STATUS_ENV] !== String(STATUS_FD)) return null;
  let open = true;
  const emit = (record: { readonly message?: string; readonly status?: number }): void => {
    if (!open) return;
    try {
      writeSync(STATUS_FD, `${JSON.stringify(record)}\n`);
    } catch {
      open = false;
    }
  };
  return {
    error(text: string): void {
      emit({ message: text });
    },
    done(status: number): void {
      emit({ status });
      if (open) closeSync(STATUS_FD);
      open = false;
    },
  };
}

/** The foreground half: start the daemon and exit with its startup status. */
export function runDetached(script: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      env: { ...process.env, [DAEMON_STATUS_ENV]: String(STATUS_FD) },
    });
    let status: number | null = null;
    const pipe = child.stdio[STATUS_FD];
    const finish = (): void => {
      child.unref();
      resolve(status ?? 1);
    };
    child.on('error', (error) => {
      process.stderr.write(`Cannot start the daemon: ${error.message}\n`);
      finish();
    });
    if (pipe === null || pipe === undefined || !('on' in pipe)) {
      finish();
      return;
    }
    const splitter = createLineSplitter((line) => {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof record !== 'object' || record === null) return;
      const { message, status: reported } = record as { message?: unknown; status?: unknown };
      if (typeof message === 'string') process.stderr.write(`${message}\n`);
      if (typeof reported === 'number' && Number.isInteger(reported)) status = reported;
    });
    pipe.on('data', (chunk: Buffer) => splitter.push(chunk));
    pipe.on('close', () => {
      splitter.end();
      finish();
    });
  });
}
