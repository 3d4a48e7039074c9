/**
 * One network namespace of a lab. Commands run inside through `ip netns exec` (which execs the
 * command, so a spawned child's pid is the command's own); `ip` itself is called with `-n`.
 * Deleting it kills every process still inside (all of them were started by the lab, or are
 * their children) and removes the namespace, with its interfaces and netfilter state.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { mustSucceed, runCommand } from './command.js';
import type { CommandResult } from './command.js';

export class LabNamespace {
  private deleted = false;

  private constructor(readonly name: string) {}

  /** A namespace that already exists (left over by a lab whose process died). */
  static existing(name: string): LabNamespace {
    return new LabNamespace(name);
  }

  /** Names of every namespace on the machine. */
  static async list(): Promise<string[]> {
    const result = await runCommand('ip', ['netns', 'list']);
    return result.stdout
      .split('\n')
      .map((line) => line.split(' ')[0] ?? '')
      .filter((name) => name !== '');
  }

  /** Adds the namespace and brings its loopback up. */
  static async create(name: string): Promise<LabNamespace> {
    await mustSucceed('ip', ['netns', 'add', name]);
    const ns = new LabNamespace(name);
    try {
      await ns.ip(['link', 'set', 'lo', 'up']);
    } catch (error) {
      await ns.delete();
      throw error;
    }
    return ns;
  }

  exec(command: string, args: readonly string[], timeoutMs?: number): Promise<CommandResult> {
    return runCommand('ip', ['netns', 'exec', this.name, command, ...args], timeoutMs);
  }

  /** Runs a command inside (`input` on its stdin) and resolves with its stdout; throws unless it exits with 0. */
  run(command: string, args: readonly string[], timeoutMs?: number, input?: string): Promise<string> {
    return mustSucceed('ip', ['netns', 'exec', this.name, command, ...args], timeoutMs, input);
  }

  /** `ip -n <ns> ...`: cheaper than `ip netns exec <ns> ip ...`. */
  ip(args: readonly string[]): Promise<string> {
    return mustSucceed('ip', ['-n', this.name, ...args]);
  }

  sysctl(key: string, value: string | number): Promise<string> {
    return this.sysctls([[key, value]]);
  }

  /** Several settings with one command. */
  sysctls(settings: readonly (readonly [string, string | number])[]): Promise<string> {
    return this.run('sysctl', ['-qw', ...settings.map(([key, value]) => `${key}=${value}`)]);
  }

  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, command, ...args], options);
  }

  async pids(): Promise<number[]> {
    const result = await runCommand('ip', ['netns', 'pids', this.name]);
    if (result.code !== 0) return [];
    return result.stdout
      .split(/\s+/)
      .filter((text) => text !== '')
      .map(Number);
  }

  /** Kills what is left inside and deletes the namespace; a second call does nothing. */
  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    for (const pid of await this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await runCommand('ip', ['netns', 'delete', this.name]);
  }
}
