/**
 * Throw-away network namespaces for integration tests: `mts-<random>`, commands run inside
 * with `ip netns exec`, and always deleted afterwards (processes still inside are killed first;
 * they can only be ones the test started there).
 *
 * Root is needed. Outside CI a test without root is skipped with a one-line reason; with
 * CI=true it runs, and fails, so that CI never skips silently.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface ExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function execCommand(
  command: string,
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number' && error.signal == null) {
        reject(error);
        return;
      }
      resolve({
        code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
        signal: error?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

async function mustRun(command: string, args: readonly string[]): Promise<string> {
  const result = await execCommand(command, args);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')}: exit ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

export interface Netns {
  readonly name: string;
  /** Runs a command inside the namespace and waits for it. */
  exec(command: string, args: readonly string[], timeoutMs?: number): Promise<ExecResult>;
  /** Like exec, but throws unless the exit status is 0; returns stdout. */
  run(command: string, args: readonly string[]): Promise<string>;
  /** Starts a long-running command inside; its pid is the command's own (`ip netns exec` execs it). */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Pids of every process currently inside. */
  pids(): Promise<number[]>;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** For `test(name, { skip: rootSkip('why') }, ...)`: never skips as root or with CI=true. */
export function rootSkip(reason = 'needs root'): string | false {
  if (isRoot() || process.env['CI'] === 'true') return false;
  return reason;
}

/** For `test(name, { skip: netnsSkip() }, ...)`. */
export function netnsSkip(): string | false {
  return rootSkip('needs root (network namespaces)');
}

export async function createNetns(): Promise<Netns & { delete(): Promise<void> }> {
  const name = `mts-${randomBytes(4).toString('hex')}`;
  await mustRun('ip', ['netns', 'add', name]);
  const ns = {
    name,
    exec: (command: string, args: readonly string[], timeoutMs?: number) =>
      execCommand('ip', ['netns', 'exec', name, command, ...args], timeoutMs),
    run: (command: string, args: readonly string[]) =>
      mustRun('ip', ['netns', 'exec', name, command, ...args]),
    spawn: (command: string, args: readonly string[], options: SpawnOptions = {}) =>
      spawn('ip', ['netns', 'exec', name, command, ...args], options),
    async pids(): Promise<number[]> {
      const out = await execCommand('ip', ['netns', 'pids', name]);
      return out.stdout
        .split(/\s+/)
        .filter((text) => text !== '')
        .map(Number);
    },
    async delete(): Promise<void> {
      for (const pid of await ns.pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await execCommand('ip', ['netns', 'delete', name]);
    },
  };
  try {
    await ns.run('ip', ['link', 'set', 'lo', 'up']);
  } catch (error) {
    await ns.delete();
    throw error;
  }
  return ns;
}

/** Runs `body` in a fresh namespace that is deleted afterwards, whatever happens. */
export async function withNetns<T>(body: (ns: Netns) => Promise<T>): Promise<T> {
  const ns = await createNetns();
  try {
    return await body(ns);
  } finally {
    await ns.delete();
  }
}
