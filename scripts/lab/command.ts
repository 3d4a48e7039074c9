/**
 * Running commands for the lab: results as values (exit status and output), and a strict
 * variant that throws with the command line and its stderr when the status is not 0.
 */
import { execFile } from 'node:child_process';

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly commandLine: string,
    readonly result: CommandResult,
  ) {
    const why = result.signal !== null ? `signal ${result.signal}` : `exit ${result.code}`;
    super(`${commandLine}: ${why}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/**
 * Runs `command` (with `input` on its stdin, if given) and resolves with how it ended; rejects
 * only when it could not be started.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  timeoutMs = 30_000,
  input?: string,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, signal: null, stdout, stderr });
          return;
        }
        if (typeof error.code !== 'number' && error.signal == null) {
          reject(new Error(`cannot run ${command}: ${error.message}`, { cause: error }));
          return;
        }
        resolve({
          code: typeof error.code === 'number' ? error.code : null,
          signal: error.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Like runCommand, but a status other than 0 is an error; resolves with stdout. */
export async function mustSucceed(
  command: string,
  args: readonly string[],
  timeoutMs?: number,
  input?: string,
): Promise<string> {
  const result = await runCommand(command, args, timeoutMs, input);
  if (result.code !== 0) throw new CommandError([command, ...args].join(' '), result);
  return result.stdout;
}
