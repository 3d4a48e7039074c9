/**
 * The attack tests' set-up: the real root bootstrap (attack-harness.ts) in a throw-away namespace
 * with a client configuration, engines following a plan (attack-engine.ts), and the figures the
 * tests read off the bootstrap's /proc entry.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJailDirectory, removeJailDirectory } from '../../../scripts/lab/jail.js';
import { createNetns } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import type { AttackStep } from './attack-engine.js';
import { ATTACK_STATE_ENV } from './attack-harness.js';
import { DaemonRun, processGone } from './daemon-tools.js';
import type { LogLine } from './daemon-tools.js';

const HARNESS = fileURLToPath(new URL('./attack-harness.js', import.meta.url));

export const IFNAME = 'mtsa0';

export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** VmRSS and VmHWM (the peak) of `pid`, in bytes. */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number =>
    Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

export interface Setup {
  readonly ns: Netns & { delete(): Promise<void> };
  readonly dir: string;
  readonly jail: string;
  readonly pidFile: string;
  readonly daemon: DaemonRun;
}

export async function startHarness(
  plan: readonly AttackStep[],
  env: Record<string, string> = {},
): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'mts-attack-'));
  const jail = createJailDirectory('mts-attack-');
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan));
  const conf = join(dir, 'client.conf');
  writeFileSync(conf, `InterfaceName ${IFNAME}\nServerAddress 198.51.100.1\nBindAddress 127.0.0.1\n`);
  const pidFile = join(dir, 'miredo.pid');
  const ns = await createNetns();
  const variables = Object.entries({ [ATTACK_STATE_ENV]: dir, ...env }).map(([k, v]) => `${k}=${v}`);
  const child = ns.spawn(
    'env',
    [...variables, process.execPath, HARNESS, '-f', '-c', conf, '-p', pidFile, '-u', 'nobody', '-t', jail],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { ns, dir, jail, pidFile, daemon: new DaemonRun(child) };
}

export async function tearDown(setup: Setup | undefined): Promise<void> {
  if (setup === undefined) return;
  if (!processGone(setup.daemon.pid)) setup.daemon.child.kill('SIGKILL');
  await setup.ns.delete();
  rmSync(setup.dir, { recursive: true, force: true });
  removeJailDirectory(setup.jail);
}

export const isReady = (l: LogLine): boolean => /^Engine \d+ ready$/.test(String(l['msg']));
export const isViolation = (l: LogLine): boolean =>
  /^Protocol violation by engine \d+: /.test(String(l['msg']));

/** The pid of the next engine to become ready after `previous` (0: the first). */
export async function nextReady(daemon: DaemonRun, previous: number): Promise<number> {
  const from = previous === 0 ? 0 : daemon.lines.findIndex((l) => isReady(l) && l['child'] === previous) + 1;
  const line = await daemon.waitForLog((l) => isReady(l) && l['child'] !== previous, 30_000, from);
  return Number(line['child']);
}

export async function stopDaemon(setup: Setup): Promise<{ code: number | null }> {
  setup.daemon.child.kill('SIGTERM');
  return setup.daemon.exited;
}
