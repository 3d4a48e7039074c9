/**
 * A daemon the lab started: its output (stdout and stderr, line by line, kept for diagnostics),
 * how it ended, and stop() (SIGTERM, then SIGKILL after a grace period).
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Implementation, LabProcessRole } from './daemon-config.js';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface OutputLine {
  /** Milliseconds since the daemon was started. */
  readonly atMs: number;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export class LabDaemon {
  readonly output: OutputLine[] = [];
  readonly exited: Promise<ExitStatus>;
  readonly startedAt = Date.now();
  private exitStatus: ExitStatus | null = null;
  private readonly events = new EventEmitter();

  constructor(
    readonly node: string,
    readonly impl: Implementation,
    readonly role: LabProcessRole,
    readonly configPath: string,
    readonly child: ChildProcess,
  ) {
    this.collect(child, 'stdout');
    this.collect(child, 'stderr');
    this.exited = new Promise((resolve) => {
      child.on('error', () => {
        this.exitStatus ??= { code: null, signal: null };
        resolve(this.exitStatus);
      });
      child.on('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** How it ended, or null while it runs. */
  get status(): ExitStatus | null {
    return this.exitStatus;
  }

  /** Everything it printed so far, one line per output line, with times. */
  transcript(): string {
    return this.output.map((line) => `+${line.atMs}ms ${line.stream}: ${line.text}`).join('\n');
  }

  /**
   * The first output line (past, from line `from` on, or future) matching `pattern`; rejects at the
   * deadline or when it exits.
   */
  waitForOutput(pattern: RegExp, timeoutMs: number, from = 0): Promise<string> {
    const seen = this.output.slice(from).find((line) => pattern.test(line.text));
    if (seen !== undefined) return Promise.resolve(seen.text);
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        this.events.off('line', onLine);
        return true;
      };
      const onLine = (line: OutputLine): void => {
        if (pattern.test(line.text) && settle()) resolve(line.text);
      };
      const timer = setTimeout(() => {
        if (settle()) {
          reject(
            new Error(
              `${this.node}: no output matching ${pattern} within ${timeoutMs} ms\n${this.transcript()}`,
            ),
          );
        }
      }, timeoutMs);
      this.events.on('line', onLine);
      void this.exited.then((status) => {
        if (settle()) {
          reject(
            new Error(`${this.node}: exited (${formatExit(status)}) before ${pattern}\n${this.transcript()}`),
          );
        }
      });
    });
  }

  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 3000): Promise<ExitStatus> {
    if (this.exitStatus !== null) return this.exitStatus;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), graceMs);
    });
    const status = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (status !== null) return status;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  private collect(child: ChildProcess, stream: 'stdout' | 'stderr'): void {
    const source = child[stream];
    if (source === null) return;
    source.setEncoding('utf8');
    let pending = '';
    const push = (text: string): void => {
      const line: OutputLine = { atMs: Date.now() - this.startedAt, stream, text };
      this.output.push(line);
      this.events.emit('line', line);
    };
    source.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        push(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    });
    source.on('end', () => {
      if (pending !== '') push(pending);
      pending = '';
    });
  }
}

export function formatExit(status: ExitStatus): string {
  return status.signal !== null ? `signal ${status.signal}` : `exit ${status.code}`;
}
