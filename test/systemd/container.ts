/**
 * A throw-away Debian system for test/systemd/units.systemd.ts: the root, built once by
 * mmdebstrap from Debian's packages and cached, used read-only below an overlay; systemd-nspawn
 * runs commands in it without booting (the host's network) or boots it (its own network
 * namespace), and nsenter runs commands inside the booted system.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execCommand, rootSkip } from '../support/netns.js';
import type { ExecResult } from '../support/netns.js';

export const CACHE = '/var/cache/miredo-ts-test';
const SUITE = 'bookworm';
const PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'iproute2',
  'procps',
  'g++',
  'make',
  'python3',
  'ca-certificates',
];
export const IMAGE = join(
  CACHE,
  `${SUITE}-${createHash('sha256').update(PACKAGES.join(',')).digest('hex').slice(0, 12)}`,
);
export const PREFIX = '/usr/local';
export const PACKAGE_DIR = `${PREFIX}/lib/node_modules/miredo-ts`;

export function missingTools(): string | false {
  const root = rootSkip('needs root (mmdebstrap, systemd-nspawn, overlay mounts)');
  if (root !== false) return root;
  for (const tool of ['/usr/bin/mmdebstrap', '/usr/bin/systemd-nspawn']) {
    if (!existsSync(tool)) return `${tool} is missing: apt-get install mmdebstrap systemd-container`;
  }
  return false;
}

export async function must(command: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const result = await execCommand(command, args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')}: exit ${result.code}\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

/** The cached root, built once (about 100 s). */
export async function ensureImage(): Promise<number> {
  if (existsSync(join(IMAGE, 'etc/os-release'))) return 0;
  const started = Date.now();
  mkdirSync(CACHE, { recursive: true });
  const building = `${IMAGE}.partial-${process.pid}`;
  try {
    await must(
      'mmdebstrap',
      ['--quiet', '--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, building],
      900_000,
    );
    renameSync(building, IMAGE);
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return Date.now() - started;
}

/** Where the host's node, npm and Node headers are, to bind into the container. */
export function hostNode(): { node: string; npm: string; nodedir: string } {
  const node = realpathSync(process.execPath);
  const nodedir = dirname(dirname(node));
  const npm = dirname(dirname(realpathSync(join(nodedir, 'bin', 'npm'))));
  assert.ok(
    existsSync(join(nodedir, 'include/node/node.h')),
    `no Node headers under ${nodedir}/include/node`,
  );
  return { node, npm, nodedir };
}

export class Container {
  private nspawn: ChildProcess | undefined;
  private leader = 0;
  readonly output: string[] = [];

  constructor(
    readonly root: string,
    private readonly binds: readonly string[],
  ) {}

  /** Runs `script` in the root without booting, on the host's network. */
  async install(script: string, env: Readonly<Record<string, string>>): Promise<string> {
    const setenv = Object.entries(env).map(([k, v]) => `--setenv=${k}=${v}`);
    return must(
      'systemd-nspawn',
      [
        '-q',
        '-D',
        this.root,
        '--register=no',
        '--keep-unit',
        ...this.binds,
        ...setenv,
        '/bin/sh',
        '-ec',
        script,
      ],
      900_000,
    );
  }

  async boot(): Promise<void> {
    const machine = `mts-${process.pid}`;
    this.nspawn = spawn(
      'systemd-nspawn',
      [
        '-q',
        '-D',
        this.root,
        '--register=no',
        '--keep-unit',
        '-b',
        '--private-network',
        `--machine=${machine}`,
        ...this.binds,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const stream of [this.nspawn.stdout, this.nspawn.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk: string) => this.output.push(chunk));
    }
    const nspawnPid = this.nspawn.pid ?? 0;
    const deadline = Date.now() + 60_000;
    // nspawn's first child sets the container up and forks its init: wait for a child that
    // runs systemd.
    while (this.leader === 0) {
      assert.ok(Date.now() < deadline, `the container did not start:\n${this.output.join('')}`);
      const children = join('/proc', String(nspawnPid), 'task', String(nspawnPid), 'children');
      const pids = existsSync(children)
        ? readFileSync(children, 'utf8').trim().split(' ').filter(Boolean)
        : [];
      const init = pids.find((pid) => {
        try {
          return readFileSync(join('/proc', pid, 'comm'), 'utf8').trim() === 'systemd';
        } catch {
          return false;
        }
      });
      if (init !== undefined) this.leader = Number(init);
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.until(
      'systemd to finish booting',
      async () => {
        const state = (await this.run('systemctl is-system-running')).stdout.trim();
        return state === 'running' || state === 'degraded';
      },
      90_000,
    );
  }

  run(script: string, timeoutMs = 60_000): Promise<ExecResult> {
    return execCommand('nsenter', ['-t', String(this.leader), '-a', '/bin/sh', '-c', script], timeoutMs);
  }

  async must(script: string, timeoutMs = 60_000): Promise<string> {
    const result = await this.run(script, timeoutMs);
    if (result.code !== 0)
      throw new Error(`in the container: ${script}: exit ${result.code}\n${result.stdout}${result.stderr}`);
    return result.stdout;
  }

  async until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async stop(): Promise<void> {
    const nspawn = this.nspawn;
    if (nspawn === undefined || nspawn.exitCode !== null) return;
    const exited = new Promise((resolve) => nspawn.once('exit', resolve));
    nspawn.kill('SIGTERM'); // systemd-nspawn -b asks the container's systemd to power off
    const timer = setTimeout(() => nspawn.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}
