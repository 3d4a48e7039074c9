/**
 * Running `node dist/scripts/demo.js` as a child process for the demo's tests, and checking
 * afterwards that its lab left nothing behind: no namespace, no directory, no process.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { execCommand } from '../../support/netns.js';

export const DEMO_SCRIPT = fileURLToPath(new URL('../../../scripts/demo.js', import.meta.url));

export interface DemoRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** When the child exited (Date.now()). */
  readonly exitedAt: number;
}

export interface RunDemoOptions {
  /** Called with each stdout line as it comes, and the child (to signal it). */
  readonly onLine?: (line: string, child: ChildProcess) => void;
  /** SIGKILLs the demo after this long (a hung demo fails the test instead of hanging it). */
  readonly timeoutMs: number;
  /** Run through another program first (setpriv ... for a non-root run). */
  readonly prefix?: readonly string[];
  /** The demo script to run (default: this checkout's). */
  readonly script?: string;
}

export function runDemo(options: RunDemoOptions): Promise<DemoRun> {
  const prefix = options.prefix ?? [];
  const [command, ...args] = [...prefix, process.execPath, options.script ?? DEMO_SCRIPT];
  const child = spawn(command ?? process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: undefined },
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      options.onLine?.(pending.slice(0, newline), child);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, exitedAt: Date.now() });
    });
  });
}

/** The lab id the demo printed ("building lab 3fa2c1: ..."), or null. */
export function labIdOf(stdout: string): string | null {
  return /building lab ([0-9a-f]{6})\b/.exec(stdout)?.[1] ?? null;
}

/** Namespaces, temporary directories and processes of lab `id` still there. */
export async function leftovers(id: string): Promise<string[]> {
  const prefix = `mtl-${id}-`;
  const namespaces = (await execCommand('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(prefix))
    .map((name) => `namespace ${name}`);
  const directories = readdirSync(tmpdir())
    .filter((name) => name.startsWith(prefix))
    .map((name) => `directory ${name}`);
  const processes: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (commandLine.includes(prefix)) processes.push(`process ${entry}: ${commandLine.trim()}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return [...namespaces, ...directories, ...processes];
}
