/**
 * The flood tools run as child processes inside network namespaces and talk to whoever started
 * them in JSON lines: each stdout line is one object with an `event` name. The parent may write
 * lines to the child's stdin (the probe waits for one before it starts).
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';

export type ToolEvent = Readonly<Record<string, unknown>> & { readonly event: string };

/** In a tool: prints one event line (stdout to a pipe is synchronous on Linux). */
export function emitEvent(event: string, fields: Readonly<Record<string, unknown>> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

/** In the parent: the events of a running tool, in order, and its stderr for error messages. */
export class ToolRun {
  readonly events: ToolEvent[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly emitter = new EventEmitter();
  private hasExited = false;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let pending = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const parsed = parseEvent(line);
        if (parsed === null) {
          this.stderr.push(line);
          continue;
        }
        this.events.push(parsed);
        this.emitter.emit('event', parsed);
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.hasExited = true;
        this.emitter.emit('exit');
        resolve({ code, signal });
      });
    });
  }

  /** The first event named `event` (already seen or to come); rejects at the deadline or when the tool exits first. */
  waitFor(event: string, timeoutMs: number): Promise<ToolEvent> {
    const seen = this.events.find((e) => e.event === event);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.hasExited) return Promise.reject(this.exitedBefore(event));
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.emitter.off('event', onEvent);
        this.emitter.off('exit', onExit);
      };
      const onEvent = (parsed: ToolEvent): void => {
        if (parsed.event !== event) return;
        cleanup();
        resolve(parsed);
      };
      const onExit = (): void => {
        cleanup();
        reject(this.exitedBefore(event));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`${this.name}: no '${event}' within ${timeoutMs} ms: ${this.stderr.join('').trim()}`),
        );
      }, timeoutMs);
      this.emitter.on('event', onEvent);
      this.emitter.on('exit', onExit);
    });
  }

  private exitedBefore(event: string): Error {
    return new Error(`${this.name} exited before '${event}': ${this.stderr.join('').trim()}`);
  }

  /** Writes one line to the tool's stdin. */
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function parseEvent(line: string): ToolEvent | null {
  try {
    const parsed = JSON.parse(line) as unknown;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'event' in parsed &&
      typeof parsed.event === 'string'
    ) {
      return parsed as ToolEvent;
    }
  } catch {
    // Not an event: keep it as text.
  }
  return null;
}
