/**
 * The Debian packages the demo's lab uses, and installing the missing ones with apt-get the way
 * scripts/install-debian-deps.sh does: a temporary policy-rc.d keeps any service from starting,
 * wireshark's dumpcap stays without setuid. The miredo packages are not needed: the demo runs
 * this project's daemons.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Requirement {
  readonly packageName: string;
  /** Commands the package provides that the lab runs (found on PATH when dpkg is absent). */
  readonly commands: readonly string[];
  readonly purpose: string;
}

export const DEMO_REQUIREMENTS: readonly Requirement[] = [
  { packageName: 'iproute2', commands: ['ip', 'ss'], purpose: 'namespaces, links, addresses, routes' },
  { packageName: 'procps', commands: ['sysctl'], purpose: 'per-namespace kernel settings' },
  { packageName: 'iptables', commands: ['iptables'], purpose: 'the NAT routers' },
  { packageName: 'iputils-ping', commands: ['ping'], purpose: 'the pings' },
  { packageName: 'tshark', commands: ['tshark'], purpose: 'captures that show which relay a client found' },
];

export interface CommandOutcome {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to completion; output is stdout and stderr interleaved. Never rejects. */
export function runQuietly(
  command: string,
  args: readonly string[],
  options: { readonly env?: NodeJS.ProcessEnv; readonly input?: string } = {},
): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolve({ code: null, output: `${output}${error.message}` }));
    child.on('close', (code) => resolve({ code, output }));
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

const SYSTEM_DIRECTORIES = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Whether `command` is an executable on PATH (or in the usual system directories, as sudo's secure_path). */
export function commandExists(command: string, path = process.env['PATH'] ?? ''): boolean {
  const directories = [...path.split(delimiter).filter((entry) => entry !== ''), ...SYSTEM_DIRECTORIES];
  return directories.some((directory) => {
    try {
      accessSync(join(directory, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function packageInstalled(requirement: Requirement): Promise<boolean> {
  if (!commandExists('dpkg-query')) return requirement.commands.every((command) => commandExists(command));
  const status = await runQuietly('dpkg-query', ['-W', '-f=${Status}', requirement.packageName]);
  return status.code === 0 && status.output.includes('install ok installed');
}

/** The requirements not met on this machine, in DEMO_REQUIREMENTS order. */
export async function missingRequirements(
  requirements: readonly Requirement[] = DEMO_REQUIREMENTS,
  installed: (requirement: Requirement) => Promise<boolean> = packageInstalled,
): Promise<Requirement[]> {
  const present = await Promise.all(requirements.map(installed));
  return requirements.filter((_requirement, index) => present[index] !== true);
}

export function describeMissing(missing: readonly Requirement[]): string {
  return missing.map((requirement) => `${requirement.packageName} (${requirement.purpose})`).join(', ');
}

export type InstallResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

const POLICY_RC_D = '/usr/sbin/policy-rc.d';
/** Whether the policy-rc.d now in place is ours, to remove. */
let createdPolicy = false;
/** Waits for another apt/dpkg run (scripts/install-debian-deps.sh, say) instead of failing at once. */
const LOCK_TIMEOUT_SECONDS = '600';

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** apt-get install of `packages`, with services blocked for the duration. */
export async function installPackages(packages: readonly string[]): Promise<InstallResult> {
  if (!commandExists('apt-get')) {
    return { ok: false, message: `Install ${packages.join(', ')} first (this system has no apt-get).` };
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!existsSync(POLICY_RC_D)) {
    writeFileSync(POLICY_RC_D, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    createdPolicy = true;
  }
  try {
    if (packages.includes('tshark') && commandExists('debconf-set-selections')) {
      await runQuietly('debconf-set-selections', [], {
        env,
        input: 'wireshark-common wireshark-common/install-setuid boolean false\n',
      });
    }
    const lock = ['-o', `DPkg::Lock::Timeout=${LOCK_TIMEOUT_SECONDS}`];
    const update = await runQuietly('apt-get', ['update', '-q', ...lock], { env });
    if (update.code !== 0) {
      return { ok: false, message: `apt-get update failed:\n${lastLines(update.output, 10)}` };
    }
    const install = await runQuietly(
      'apt-get',
      ['install', '-y', '-q', '--no-install-recommends', ...lock, ...packages],
      { env },
    );
    if (install.code !== 0) {
      return {
        ok: false,
        message: `apt-get install ${packages.join(' ')} failed:\n${lastLines(install.output, 10)}`,
      };
    }
    return { ok: true };
  } finally {
    removeTemporaryPolicy();
  }
}

/** Removes the policy-rc.d installPackages created, if it is still there (also on a forced exit). */
export function removeTemporaryPolicy(): void {
  if (!createdPolicy) return;
  rmSync(POLICY_RC_D, { force: true });
  createdPolicy = false;
}
