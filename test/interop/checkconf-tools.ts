/**
 * Running Debian's miredo-checkconf and ours side by side, for the parity tests.
 * Both run in the corpus directory on relative names, so messages name the file as given.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CORPUS_DIR = `${REPO_ROOT}test/interop/checkconf-corpus`;
export const OUR_CHECKCONF = `${REPO_ROOT}bin/miredo-checkconf`;
export const MIREDO_CHECKCONF = process.env['MIREDO_CHECKCONF'] ?? '/usr/sbin/miredo-checkconf';

export interface Outcome {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: CORPUS_DIR, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ status: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

export function runMiredo(args: readonly string[]): Promise<Outcome> {
  return run(MIREDO_CHECKCONF, args);
}

export function runOurs(args: readonly string[]): Promise<Outcome> {
  return run(process.execPath, [OUR_CHECKCONF, ...args]);
}

/**
 * For `test(name, { skip: miredoSkip() }, ...)`: a reason when Debian's binary is absent
 * outside CI. In CI (CI=true) the tests run, and fail, without it.
 */
export function miredoSkip(): string | false {
  try {
    accessSync(MIREDO_CHECKCONF, constants.X_OK);
    return false;
  } catch {
    if (process.env['CI'] === 'true') return false;
    return `${MIREDO_CHECKCONF} not found (install Debian package miredo, or run scripts/install-debian-deps.sh)`;
  }
}
